import type Docker from 'dockerode';
import { expect } from 'chai';
import { REDACTED } from '@dockop/runtime';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createContainer, DockerContainerActions, DockerodeClient } from '@dockop/docker';
import {
  ONE_SHOT_LABEL,
  RUN_LABEL,
  journalPath,
  readJournal,
  runBackupOnce,
} from '@backrest-sidecar/controller-backup';
import { WorkloadStatusStore } from '@backrest-sidecar/api';
import { WORKLOAD_IMAGE, removeLabeled, requireEngine, runId } from './support/engine.js';
import { CapturingLogger, exec, removeDir } from './retention-fixture.js';
import { buildRcbStandIn, isRunning, startWorkload } from './backup-fixture.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The real backrest-sidecar binary, run as a child process. */
function cliArgs(): Promise<string[]> {
  return Promise.resolve([path.join(repoRoot, 'packages/cli/bin/backrest-sidecar.js')]);
}

function runCli(
  args: string[],
  prefix: string[],
): { child: ChildProcess; done: Promise<{ code: number | null; out: string }> } {
  const child = spawn(process.execPath, [...prefix, ...args], {
    cwd: path.join(repoRoot, 'packages/cli'),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const done = new Promise<{ code: number | null; out: string }>((resolve) =>
    child.on('close', (code) => resolve({ code, out })),
  );
  return { child, done };
}

/** Polls `cond` (a real-world condition, not a duration under test) until true or `limitMs`. */
async function until(cond: () => Promise<boolean>, what: string, limitMs = 60_000): Promise<void> {
  const end = Date.now() + limitMs;
  while (Date.now() < end) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`gave up waiting for ${what}`);
}

describe('backup-once --engine rcb and quiesce journal (integration)', function () {
  this.timeout(180_000);
  let docker: Docker;
  let actions: DockerContainerActions;
  let client: DockerodeClient;
  const run = runId();
  const runKey = 'dockop.test.run';
  const runVal = `backup-rcb-${run}`;
  const runLabel = `${runKey}=${runVal}`;
  const project = `rcb${run.replace(/[^a-z0-9]/g, '')}`;
  const image = `dockop-test/rcb-standin:${run.replace(/[^a-z0-9]/g, '')}`;
  const quiesceKey = `dockop.test.quiesce-${run}`;
  const quiesceLabel = `${quiesceKey}=true`;
  const names = { web: `backup-rcb-${run}-web`, db: `backup-rcb-${run}-db` };
  const secret = `rcb-secret-${run}`;
  let dir: string;
  let stateDir: string;
  let outDir: string;

  before(async function () {
    docker = await requireEngine(this);
    client = new DockerodeClient();
    actions = new DockerContainerActions(client);
    dir = await mkdtemp(path.join(tmpdir(), 'backup-rcb-'));
    stateDir = path.join(dir, 'state');
    outDir = path.join(dir, 'out');
    await exec('mkdir', ['-p', outDir]);
    await buildRcbStandIn(image, runLabel);
    await startWorkload(
      docker,
      {
        name: names.db,
        project,
        service: 'db',
        labels: { 'backrest.enable': 'true', [quiesceKey]: 'true' },
      },
      { [runKey]: runVal },
    );
    await startWorkload(
      docker,
      {
        name: names.web,
        project,
        service: 'web',
        labels: { 'backrest.enable': 'true', [quiesceKey]: 'TRUE' },
        dependsOn: ['db'],
      },
      { [runKey]: runVal },
    );
  });

  after(async function () {
    if (docker) {
      await removeOneShots();
      await removeLabeled(docker, runLabel);
      await docker
        .getImage(image)
        .remove({ force: true })
        .catch(() => undefined);
    }
    await removeDir(dir);
  });

  async function removeOneShots(): Promise<void> {
    const leftovers = await docker.listContainers({ all: true, filters: { ancestor: [image] } });
    await Promise.all(
      leftovers.map((c) =>
        docker
          .getContainer(c.Id)
          .remove({ force: true })
          .catch(() => undefined),
      ),
    );
  }

  async function envFile(extra: string): Promise<string> {
    const f = path.join(dir, `rcb-${Math.random().toString(36).slice(2)}.env`);
    await writeFile(
      f,
      `# rcb settings\nRESTIC_REPOSITORY=s3:https://example.invalid/bucket\nRESTIC_PASSWORD=${secret}\n${extra}`,
    );
    return f;
  }

  it('runs `rcb backup` with the socket read-only at /tmp/docker.sock, the env file, EXCLUDE_BIND_MOUNTS and INCLUDE_PROJECT_NAME; quiesces in dependency order', async function () {
    const logger = new CapturingLogger();
    const report = await runBackupOnce(
      {
        engine: 'rcb',
        rcbImage: image,
        rcbEnvFile: await envFile('RCB_SLEEP=0\n'),
        excludeBindMounts: true,
        includeProjectName: true,
        resticMounts: [{ type: 'bind', source: outDir, target: '/out' }],
        quiesceLabel,
        selector: [runLabel],
        oneShotLabels: { [runKey]: runVal },
        stopTimeoutSec: 5,
        stateDir,
        noForget: true,
      },
      { actions, client, logger, status: new WorkloadStatusStore({ stateDir }) },
    );
    expect(report.exitCode, JSON.stringify(report)).to.equal(0);
    expect(report.rcb?.exitCode).to.equal(0);
    // The one run is recorded on both opted-in workloads, saying what rcb does not tell.
    expect(report.rcb?.workloads).to.deep.equal([names.db, names.web]);
    const store = new WorkloadStatusStore({ stateDir });
    for (const n of [names.db, names.web]) {
      const s = (await store.get(n))!;
      expect(s.lastBackup, n).to.deep.include({ engine: 'rcb', source: 'run' });
      expect(s.lastBackup?.snapshotId).to.equal(undefined);
      const backedUp = s.conditions.find((c) => c.type === 'BackedUp');
      expect(backedUp).to.include({ status: 'True', reason: 'RcbRunSucceeded' });
      expect(backedUp?.message).to.contain(`rcb run ${report.runId} covered all 2 opted-in`);
      expect(backedUp?.message).to.contain('rcb reports nothing per workload');
    }
    const record = await readFile(path.join(outDir, 'record.txt'), 'utf8');
    expect(record).to.match(/^argv: \S*rcb backup$/m);
    expect(record).to.include(`RESTIC_PASSWORD=${secret}\n`);
    expect(record).to.include('RESTIC_REPOSITORY=s3:https://example.invalid/bucket\n');
    expect(record).to.include('EXCLUDE_BIND_MOUNTS=1\n').and.include('INCLUDE_PROJECT_NAME=1\n');
    const sockLine = record.split('\n').find((l) => l.includes(' /tmp/docker.sock '));
    expect(sockLine, record).to.match(/ \/tmp\/docker.sock (ro|ro,\S*) /);
    expect(record).to.include('socket: yes');
    // Dependents first on the way down (web depends on db), dependencies first on the way up.
    expect(report.quiesce.stopped).to.deep.equal([names.web, names.db]);
    expect(report.quiesce.started).to.deep.equal([names.db, names.web]);
    expect(await isRunning(docker, names.web)).to.equal(true);
    expect(await isRunning(docker, names.db)).to.equal(true);
    // rcb's output is streamed to the log, with the env file's secret values redacted.
    const logs = logger.lines.join('\n');
    expect(logs).to.include('rcb stand-in: backing up');
    expect(logs).to.include(`RESTIC_PASSWORD=${REDACTED}`);
    expect(logs).to.not.include(secret);
  });

  it('sets neither EXCLUDE_BIND_MOUNTS nor INCLUDE_PROJECT_NAME without the flags; a failing rcb is exit 1 and containers run again', async function () {
    const report = await runBackupOnce(
      {
        engine: 'rcb',
        rcbImage: image,
        rcbEnvFile: await envFile('RCB_EXIT=2\n'),
        resticMounts: [{ type: 'bind', source: outDir, target: '/out' }],
        quiesceLabel,
        selector: [runLabel],
        oneShotLabels: { [runKey]: runVal },
        stopTimeoutSec: 5,
        stateDir,
      },
      {
        actions,
        client,
        logger: new CapturingLogger(),
        status: new WorkloadStatusStore({ stateDir }),
      },
    );
    expect(report.rcb?.exitCode).to.equal(2);
    expect(report.exitCode).to.equal(1);
    const failed = (await new WorkloadStatusStore({ stateDir }).get(names.web))!;
    expect(failed.lastFailure).to.deep.include({ engine: 'rcb', reason: 'RcbRunFailed' });
    expect(failed.conditions.find((c) => c.type === 'BackedUp')).to.include({
      status: 'False',
      reason: 'RcbRunFailed',
    });
    expect(report.forget).to.equal(undefined);
    const record = await readFile(path.join(outDir, 'record.txt'), 'utf8');
    expect(record).to.not.include('EXCLUDE_BIND_MOUNTS').and.not.include('INCLUDE_PROJECT_NAME');
    expect(report.quiesce.stopped).to.have.length(2);
    expect(await isRunning(docker, names.web)).to.equal(true);
    expect(await isRunning(docker, names.db)).to.equal(true);
  });

  it("kill -9 mid-backup leaves the journal; the next command removes that run's one-shot, then starts the stopped containers", async function () {
    const prefix = await cliArgs();
    // Another run's one-shot (same ONE_SHOT_LABEL, another run id): the repair must not touch it.
    const otherRunId = `other-${run.replace(/[^A-Za-z0-9]/g, '')}`;
    const other = await createContainer(docker, {
      Image: WORKLOAD_IMAGE,
      Cmd: ['sleep', '3600'],
      Labels: { [runKey]: runVal, [ONE_SHOT_LABEL]: 'true', [RUN_LABEL]: otherRunId },
      HostConfig: { NetworkMode: 'none' },
    });
    await other.start();
    const slow = await envFile('RCB_SLEEP=120\n');
    const common = ['--state-dir', stateDir, '--selector', runLabel, '--log-format', 'json'];
    const { child, done } = runCli(
      [
        'backup-once',
        '--engine',
        'rcb',
        '--rcb-image',
        image,
        '--rcb-env-file',
        slow,
        '--quiesce-label',
        quiesceLabel,
        '--stop-timeout',
        '5s',
        '--no-forget',
        '--restic-volume',
        `${outDir}:/out`,
        ...common,
      ],
      prefix,
    );
    let exited = false;
    void done.then(() => (exited = true));
    await until(async () => {
      if (exited) throw new Error(`CLI exited early: ${(await done).out}`);
      const oneShots = await docker.listContainers({
        filters: { ancestor: [image], status: ['running'] },
      });
      return oneShots.length > 0;
    }, 'the rcb one-shot to run');
    const journal = await readJournal(stateDir);
    expect(journal?.owner.pid).to.equal(child.pid);
    expect(journal?.containers.map((c) => c.name)).to.deep.equal([names.web, names.db]);
    // The one-shot carries the run id the journal records.
    expect(journal?.runId).to.be.a('string').and.not.equal(otherRunId);
    const [oneShot, ...more] = await docker.listContainers({
      all: true,
      filters: { ancestor: [image] },
    });
    expect(more).to.have.length(0);
    expect(oneShot?.Labels).to.include({ [ONE_SHOT_LABEL]: 'true', [RUN_LABEL]: journal?.runId });
    expect(await isRunning(docker, names.web)).to.equal(false);
    expect(await isRunning(docker, names.db)).to.equal(false);

    child.kill('SIGKILL');
    await done;
    // Nothing started them: the process died without its finally; its one-shot still runs.
    expect(await isRunning(docker, names.db)).to.equal(false);
    expect(existsSync(journalPath(stateDir))).to.equal(true);
    expect((await docker.getContainer(oneShot!.Id).inspect()).State.Running).to.equal(true);

    // Any command repairs first; `forget` with no keep-labeled container needs no repository.
    const next = runCli(['forget', '--dry-run', ...common], prefix);
    const result = await next.done;
    expect(result.code, result.out).to.equal(0);
    expect(result.out).to.include('quiesce.repairing');
    expect(await isRunning(docker, names.db)).to.equal(true);
    expect(await isRunning(docker, names.web)).to.equal(true);
    expect(existsSync(journalPath(stateDir))).to.equal(false);
    // The killed run's one-shot (an orphan nobody waits for) was killed and removed, and said so.
    expect(
      await docker.listContainers({ all: true, filters: { id: [oneShot!.Id] } }),
    ).to.have.length(0);
    const removedLine = result.out.split('\n').find((l) => l.includes('"quiesce.removed_orphans"'));
    expect(removedLine, result.out).to.include(oneShot!.Id);
    // The other run's one-shot is untouched.
    expect((await other.inspect()).State.Running).to.equal(true);
  });

  it('SIGTERM mid-backup: the CLI kills the one-shot, starts the containers and exits non-zero', async function () {
    await removeOneShots();
    const prefix = await cliArgs();
    const slow = await envFile('RCB_SLEEP=120\n');
    const { child, done } = runCli(
      [
        'backup-once',
        '--engine',
        'rcb',
        '--rcb-image',
        image,
        '--rcb-env-file',
        slow,
        '--quiesce-label',
        quiesceLabel,
        '--stop-timeout',
        '5s',
        '--no-forget',
        '--restic-volume',
        `${outDir}:/out`,
        '--state-dir',
        stateDir,
        '--selector',
        runLabel,
      ],
      prefix,
    );
    await until(
      async () =>
        (await docker.listContainers({ filters: { ancestor: [image], status: ['running'] } }))
          .length > 0,
      'the rcb one-shot to run',
    );
    expect(await isRunning(docker, names.db)).to.equal(false);
    child.kill('SIGTERM');
    const result = await done;
    expect(result.code, result.out).to.equal(1);
    expect(result.out).to.include('signal.received');
    expect(await isRunning(docker, names.db)).to.equal(true);
    expect(await isRunning(docker, names.web)).to.equal(true);
    expect(existsSync(journalPath(stateDir))).to.equal(false);
    expect(
      await docker.listContainers({ filters: { ancestor: [image], status: ['running'] } }),
    ).to.have.length(0);
  });
});
