import type Docker from 'dockerode';
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { DockerContainerActions, DockerodeClient } from '@dockop/docker';
import { runBackupOnce } from '@backrest-sidecar/controller-backup';
import { RESTIC_IMAGE, removeLabeled, requireEngine, runId } from './support/engine.js';
import { CLI_BIN, parseJsonLines, runCli } from './support/plan-cli.js';
import { exec, makeRepo, removeDir, type Repo } from './retention-fixture.js';
import { removeVolumes, startWorkload } from './backup-fixture.js';

// Restore drills end to end (real engine, real restic, the CLI bundle): a drill of a good
// snapshot passes and says what it checked; after one pack file is deleted from the repository
// the repository check (run first) fails, the drill fails at once without restoring (restic
// would retry the missing pack for minutes), and the workload's Verified condition says so.
// Nothing is left behind.
describe('verify: restore drills (integration)', function () {
  this.timeout(600_000);
  let docker: Docker;
  const run = runId();
  const runKey = 'dockop.test.run';
  const runVal = `verify-${run}`;
  const runLabel = `${runKey}=${runVal}`;
  const project = `vf${run.replace(/[^a-z0-9]/g, '')}`;
  const name = `verify-${run}-db`;
  let repo: Repo;
  let stateDir: string;

  const flags = (): string[] => [
    '--rcb-env-file',
    repo.containerEnvFile,
    '--restic-image',
    RESTIC_IMAGE,
    '--restic-volume',
    `${repo.repo}:/repo`,
    '--state-dir',
    stateDir,
    '--selector',
    runLabel,
    '--read-data-parts',
    '4',
    '--log-format',
    'json',
  ];

  interface Status {
    conditions: { type: string; status: string; reason: string; message: string }[];
    verification?: { passed: boolean; checks: string[]; snapshotId?: string; durationMs: number };
    events: { reason: string; type: string }[];
  }
  const status = async (): Promise<Status> =>
    JSON.parse(await readFile(path.join(stateDir, 'workloads', `${name}.json`), 'utf8')) as Status;

  /** What the run (its `verify.check` and `verify.starting` lines' run id) left: scratch volumes, one-shots. */
  async function leftovers(
    logs: Record<string, unknown>[],
  ): Promise<{ volumes: string[]; containers: string[] }> {
    const runIds = [
      ...new Set(
        logs
          .filter((l) => l.action === 'verify.starting' || l.action === 'verify.check')
          .map((l) => l.runId),
      ),
    ];
    expect(runIds.length, 'runs started').to.be.greaterThan(0);
    const volumes: string[] = [];
    const containers: string[] = [];
    for (const id of runIds) {
      const run = `io.dockop.backrest-sidecar.run=${String(id)}`;
      const { Volumes } = await docker.listVolumes({ filters: { label: [run] } });
      volumes.push(...(Volumes ?? []).map((v) => v.Name));
      const found = await docker.listContainers({ all: true, filters: { label: [run] } });
      containers.push(...found.map((c) => c.Id));
    }
    return { volumes, containers };
  }

  before(async function () {
    docker = await requireEngine(this);
    repo = await makeRepo('verify');
    stateDir = path.join(repo.dir, 'state');
    await startWorkload(
      docker,
      {
        name,
        project,
        service: 'db',
        labels: { 'backrest.enable': 'true' },
        volumes: [
          {
            name: `${project}_data`,
            destination: '/var/lib/db',
            files: { 'table.dat': 'rows', 'sub/wal.log': 'wal', 'empty/.keep': '' },
          },
        ],
      },
      { [runKey]: runVal },
    );
    const client = new DockerodeClient();
    const report = await runBackupOnce(
      {
        engine: 'restic',
        rcbEnvFile: repo.containerEnvFile,
        resticImage: RESTIC_IMAGE,
        resticMounts: [{ type: 'bind', source: repo.repo, target: '/repo' }],
        resticHost: 'verify-test',
        selector: [runLabel],
        quiesceLabel: `dockop.test.none-${run}=true`,
        stateDir,
        progress: 'none',
        noForget: true,
        oneShotLabels: { [runKey]: runVal },
      },
      { actions: new DockerContainerActions(client), client },
    );
    expect(report.exitCode, JSON.stringify(report)).to.equal(0);
  });

  after(async function () {
    if (docker) {
      await removeLabeled(docker, runLabel);
      await removeVolumes(docker, runLabel);
    }
    await removeDir(repo?.dir);
  });

  it('passes for a good snapshot: restored, tree matches restic ls, repository checked', async () => {
    const res = await runCli(['verify', name, ...flags()], { timeoutMs: 420_000 });
    expect(res.code, res.stderr).to.equal(0);
    const passed = res.logs.find((l) => l.action === 'verify.passed') as { checks: string[] };
    expect(passed, res.stderr).to.not.equal(undefined);
    expect(passed.checks.join('\n')).to.match(/^restore: ok: restic restore --verify/m);
    expect(passed.checks.join('\n')).to.match(/^tree: ok: 3 files \(7 B\)/m);
    expect(passed.checks.join('\n')).to.match(
      /^repository: ok: restic check --read-data-subset 1\/4/m,
    );
    const s = await status();
    const verified = s.conditions.find((c) => c.type === 'Verified');
    expect(verified?.status).to.equal('True');
    expect(verified?.reason).to.equal('DrillPassed');
    expect(verified?.message).to.match(
      /^restore drill OK, snapshot [0-9a-f]{8} of .*took \d+\.\d s$/,
    );
    expect(s.verification?.checks).to.deep.equal(['restore', 'tree', 'repository']);
    expect(s.verification?.passed).to.equal(true);
    expect(s.events.at(-1)?.reason).to.equal('Verified');
    expect(await leftovers(res.logs)).to.deep.equal({ volumes: [], containers: [] });
    // The next run reads the next slice of packs.
    const again = await runCli(['verify', '--all', ...flags()], { timeoutMs: 420_000 });
    expect(again.code, again.stderr).to.equal(0);
    expect(again.stderr).to.include('restic check --read-data-subset 2/4');
  });

  it('a SIGTERM mid-drill aborts it and removes what it created', async () => {
    const child = spawn(process.execPath, [CLI_BIN, 'verify', name, ...flags()], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    let signalled = false;
    for (let i = 0; i < 2400 && !signalled; i++) {
      // The scratch volume exists and restic restore runs into it.
      if (parseJsonLines(stderr).some((l) => l.action === 'verify.starting')) {
        await new Promise((r) => setTimeout(r, 300));
        child.kill('SIGTERM');
        signalled = true;
      } else await new Promise((r) => setTimeout(r, 25));
    }
    expect(signalled, stderr).to.equal(true);
    const code = await exited;
    expect(code, stderr).to.equal(3);
    const failed = parseJsonLines(stderr).find((l) => l.action === 'verify.failed');
    expect(failed, stderr).to.not.equal(undefined);
    expect(await leftovers(parseJsonLines(stderr))).to.deep.equal({ volumes: [], containers: [] });
    const verified = (await status()).conditions.find((c) => c.type === 'Verified');
    expect(verified?.status).to.equal('False');
  });

  it('fails at once, without a restore, when a pack file was deleted, and says so in Verified', async () => {
    // A pack of file data, not of trees: the structure check (trees, packs present) reports it
    // missing in seconds, while reading a missing pack (a tree, or data in the slice) costs
    // restic 0.14's retries, ~45 s. Without a slice (`--read-data-parts 0`) no data is read.
    const packs: string[] = [];
    const { stdout: indexes } = await exec('restic', ['list', 'index'], { env: repo.env });
    for (const id of indexes.split('\n').filter((l) => /^[0-9a-f]{64}$/.test(l))) {
      const { stdout } = await exec('restic', ['cat', 'index', id], { env: repo.env });
      const index = JSON.parse(stdout) as { packs: { id: string; blobs: { type: string }[] }[] };
      packs.push(
        ...index.packs.filter((p) => p.blobs.every((b) => b.type === 'data')).map((p) => p.id),
      );
    }
    expect(packs.length).to.be.greaterThan(0);
    const gone = packs.sort()[0]!;
    await rm(path.join(repo.repo, 'data', gone.slice(0, 2), gone));
    const noSlice = flags();
    noSlice[noSlice.indexOf('--read-data-parts') + 1] = '0';
    const started = Date.now();
    const res = await runCli(['verify', name, ...noSlice], { timeoutMs: 420_000 });
    const took = Date.now() - started;
    expect(res.code, res.stderr).to.equal(3);
    const failed = res.logs.find((l) => l.action === 'verify.failed') as {
      checks: string[];
      notAttempted?: string;
    };
    expect(failed, res.stderr).to.not.equal(undefined);
    expect(failed.checks).to.have.length(1);
    expect(failed.checks[0]).to.include(
      `repository: FAILED: restic check exited with 1: pack ${gone}: does not exist`,
    );
    // Seconds (one retry cycle of restic on the missing pack is ~45 s); generous for a busy host.
    expect(took, 'verify took (ms)').to.be.below(40_000);
    expect(failed.notAttempted).to.equal(
      'restore not attempted because the repository check failed',
    );
    // No drill started: no snapshot listing, no scratch volume, no restore.
    expect(res.logs.filter((l) => l.action === 'verify.starting')).to.deep.equal([]);
    const s = await status();
    const verified = s.conditions.find((c) => c.type === 'Verified');
    expect(verified?.status).to.equal('False');
    expect(verified?.reason).to.equal('DrillFailed');
    expect(verified?.message).to.match(
      /^restore drill FAILED, restore not attempted because the repository check failed; repository FAILED \(restic check exited with 1: pack [0-9a-f]{64}: does not exist/,
    );
    expect(s.verification?.passed).to.equal(false);
    expect(s.verification?.checks).to.deep.equal(['repository']);
    expect(s.events.at(-1)).to.include({ type: 'Warning', reason: 'VerifyFailed' });
    expect(await leftovers(res.logs)).to.deep.equal({ volumes: [], containers: [] });
  });
});
