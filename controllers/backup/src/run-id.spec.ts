import type Dockerode from 'dockerode';
import { expect } from 'chai';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ContainerActions, DockerClient, OneShotResult, OneShotSpec } from '@dockop/docker';
import { ONE_SHOT_LABEL, RUN_LABEL, checkRunId, newRunId } from './backup-options.js';
import { readJournal } from './quiesce-journal.js';
import type { BackupRetention } from '@backrest-sidecar/api';
import { createResticRunner } from '@backrest-sidecar/restic';
import { runBackupOnce } from './run-backup-once.js';

interface OneShotCall {
  cmd: string[];
  labels: Record<string, string>;
  /** The journal's runId while the one-shot ran (undefined: no journal then). */
  journalRunId: string | undefined;
}

/** One labeled workload (quiesced, backed up, with a keep label); restic answers as 0.14 does. */
function fakeActions(stateDir: string): ContainerActions & { oneShots: OneShotCall[] } {
  const info = {
    Id: 'db-id',
    Names: ['/db'],
    State: 'running',
    Labels: {
      'backrest.enable': 'true',
      'backrest.keep': 'daily=7',
      'restic-compose-backup.quiesce': 'true',
      'com.docker.compose.service': 'db',
    },
    Mounts: [{ Type: 'volume', Name: 'pgdata', Source: '/v/pgdata', Destination: '/data' }],
  } as unknown as Dockerode.ContainerInfo;
  const oneShots: OneShotCall[] = [];
  const unused = (): never => expect.fail('not used by backup-once');
  return {
    oneShots,
    list: async () => [info],
    stop: async () => {},
    start: async () => {},
    removeLeftovers: async () => [],
    restart: unused,
    inspect: async () =>
      ({ State: { Running: true } }) as Awaited<ReturnType<ContainerActions['inspect']>>,
    processes: unused,
    waitFor: unused,
    runOneShot: async (spec: OneShotSpec, opts): Promise<OneShotResult> => {
      const cmd = spec.cmd ?? [];
      oneShots.push({
        cmd,
        labels: { ...spec.labels },
        journalRunId: (await readJournal(stateDir))?.runId,
      });
      const out =
        cmd[0] === 'backup'
          ? JSON.stringify({ message_type: 'summary', snapshot_id: 'abcd1234', data_added: 1 })
          : cmd[0] === 'snapshots'
            ? '[]'
            : '';
      if (out) opts?.onLog?.(out, 'stdout');
      return { exitCode: 0, containerId: `c${oneShots.length}`, durationMs: 1 };
    },
  };
}

/** `docker info` names the host; images carry no labels. */
const fakeClient = {
  request: async (op: string) =>
    op === 'system.info' ? { Name: 'run-id-host' } : { Config: { Labels: {} } },
} as unknown as DockerClient;

/**
 * Stands in for the retention controller's BackupRetention (a controller imports no other): runs
 * `snapshots` with the restic settings backup-once hands over, as the forget loop starts.
 */
function retentionOver(actions: ContainerActions): BackupRetention & { requests: number } {
  const r = {
    requests: 0,
    async run(request: Parameters<BackupRetention['run']>[0]) {
      r.requests++;
      const restic = await createResticRunner(request.restic, actions, {});
      await restic.run(['snapshots', '--json', '--host', request.host]);
      return { dryRun: false, workloads: [], exitCode: 0 as const };
    },
  };
  return r;
}

describe('backup-once run id', () => {
  let stateDir: string;
  beforeEach(async () => {
    stateDir = await mkdtemp(path.join(tmpdir(), 'run-id-'));
  });
  afterEach(async () => {
    await rm(stateDir, { recursive: true, force: true });
  });

  it('labels the restic backup and the retention one-shots with the run id the journal records', async () => {
    const actions = fakeActions(stateDir);
    const report = await runBackupOnce(
      {
        engine: 'restic',
        stateDir,
        progress: 'none',
        forgetRunner: 'container',
        oneShotLabels: { [RUN_LABEL]: 'spoofed', mine: 'x' },
      },
      { actions, client: fakeClient, env: {}, retention: retentionOver(actions) },
    );
    expect(report.exitCode, JSON.stringify(report)).to.equal(0);
    const runId = report.runId!;
    expect(runId).to.match(/^[0-9a-f]{16}$/);
    expect(actions.oneShots.map((o) => o.cmd[0])).to.deep.equal(['backup', 'snapshots']);
    for (const o of actions.oneShots) {
      // The caller's labels cannot override the run id.
      expect(o.labels).to.deep.equal({ mine: 'x', [ONE_SHOT_LABEL]: 'true', [RUN_LABEL]: runId });
    }
    // The backup ran under the journal naming this run; retention runs after it was released.
    expect(actions.oneShots[0]!.journalRunId).to.equal(runId);
    expect(actions.oneShots[1]!.journalRunId).to.equal(undefined);
  });

  it('labels the rcb one-shot with a given run id; every run gets a new one by default', async () => {
    const actions = fakeActions(stateDir);
    const report = await runBackupOnce(
      { engine: 'rcb', stateDir, noForget: true, runId: 'run-given.1' },
      { actions, client: fakeClient, env: {} },
    );
    expect(report.exitCode, JSON.stringify(report)).to.equal(0);
    expect(report.runId).to.equal('run-given.1');
    expect(actions.oneShots).to.have.length(1);
    expect(actions.oneShots[0]!.cmd).to.deep.equal(['rcb', 'backup']);
    expect(actions.oneShots[0]!.labels[RUN_LABEL]).to.equal('run-given.1');
    expect(actions.oneShots[0]!.journalRunId).to.equal('run-given.1');
    expect(newRunId()).to.not.equal(newRunId());
  });

  it('refuses a run id that is not a plain label value, naming the label and the value', async () => {
    expect(() => checkRunId('a,b=c'))
      .to.throw(RUN_LABEL)
      .with.property('message')
      .that.includes('"a,b=c"');
    const actions = fakeActions(stateDir);
    const report = await runBackupOnce(
      { engine: 'rcb', stateDir, noForget: true, runId: '' },
      { actions, client: fakeClient, env: {} },
    );
    expect(report.exitCode).to.equal(1);
    expect(report.fatal).to.include(RUN_LABEL);
    expect(actions.oneShots).to.have.length(0);
  });

  it('says retention is not loaded (exit 3) when no BackupRetention is given and forget is on', async () => {
    const actions = fakeActions(stateDir);
    const report = await runBackupOnce(
      { engine: 'restic', stateDir, progress: 'none' },
      { actions, client: fakeClient, env: {} },
    );
    expect(report.workloads.map((w) => w.status)).to.deep.equal(['ok']);
    expect(report.forget?.fatal).to.match(/retention is not loaded.*controller-retention/);
    expect(report.exitCode).to.equal(3);
    // Only the backup ran: nothing was forgotten behind the operator's back.
    expect(actions.oneShots.map((o) => o.cmd[0])).to.deep.equal(['backup']);
  });
});
