import type Docker from 'dockerode';
import { expect } from 'chai';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { removeLabeled, requireEngine, runId } from './support/engine.js';
import { eventually, runCli, spawnDaemon, tempConfig } from './support/plan-cli.js';
import { exec, makeRepo, removeDir, resticRepoFlags, type Repo } from './retention-fixture.js';
import { removeVolumes, startWorkload } from './backup-fixture.js';

interface Row {
  name: string;
  state: string;
  lastBackup: string | null;
  snapshots: number | null;
  keep: string;
  engine: string | null;
  sizeBytes: number | null;
  status: {
    lastBackup?: { snapshotId?: string; filesTotal?: number };
    lastFailure?: { message: string };
    retention?: { keep: string; kept: number; removed: number };
    conditions: { type: string; status: string; reason: string; message: string }[];
  };
}

interface Coverage {
  source: string;
  state: string;
  users: { container: string }[];
  coveredBy: { planId: string; container: string }[];
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

const condition = (r: Row, type: string) => r.status.conditions.find((c) => c.type === type);

// The daemon's backup controller on the real engine with real restic: `--backup-schedule` every
// minute backs up three workloads with different `backrest.keep` policies; a fourth, whose bind
// mount's host directory vanished, fails every run and turns Stale after 2 × the one-minute
// period; `get workloads -o json` (one-shot, reading the repository with backup-once's flags)
// reports each one's last backup and snapshot count as the repository has them; `get volumes`
// lists an unlabelled container's volume as uncovered.
describe('workload status: daemon --backup-schedule, get workloads, get volumes (integration)', function () {
  this.timeout(420_000);
  let docker: Docker;
  let repo: Repo;
  let config: { dir: string; path: string };
  let binds: string;
  const run = runId();
  const runKey = 'dockop.test.run';
  const runVal = `ws-${run}`;
  const runLabel = `${runKey}=${runVal}`;
  const project = `ws${run.replace(/[^a-z0-9]/g, '')}`;
  const prefix = `t${run.replace(/[^a-z0-9]/g, '')}_`;
  const names = {
    a: `ws-${run}-a`,
    b: `ws-${run}-b`,
    c: `ws-${run}-c`,
    bad: `ws-${run}-bad`,
    loose: `ws-${run}-loose`,
  };
  const keeps = { a: 'last=1', b: 'last=2', c: 'last=3' } as const;
  const stateDir = () => path.join(repo.dir, 'state');
  const repoFlags = () => [
    ...resticRepoFlags(repo, stateDir(), 'ws-test'),
    '--selector',
    runLabel,
    '--plan-id-prefix',
    prefix,
    '--log-format',
    'json',
  ];

  before(async function () {
    docker = await requireEngine(this);
    repo = await makeRepo('workload-status');
    config = await tempConfig();
    binds = await mkdtemp(path.join(tmpdir(), 'workload-status-binds-'));
    for (const svc of ['a', 'b', 'c'] as const) {
      await startWorkload(
        docker,
        {
          name: names[svc],
          project,
          service: svc,
          labels: { 'backrest.enable': 'true', 'backrest.keep': keeps[svc] },
          volumes: [
            {
              name: `${project}_${svc}data`,
              destination: '/data',
              files: { [`${svc}.txt`]: `data of ${svc}` },
            },
          ],
        },
        { [runKey]: runVal },
      );
    }
    // Its bind mount's host directory disappears after start: every backup of it fails
    // (Docker refuses the restic one-shot's mount of a path that no longer exists).
    const gone = path.join(binds, 'vanishing');
    await startWorkload(
      docker,
      {
        name: names.bad,
        project,
        service: 'bad',
        labels: { 'backrest.enable': 'true' },
        binds: [{ dir: gone, destination: '/srv', files: { 'x.txt': 'x' } }],
      },
      { [runKey]: runVal },
    );
    await rm(gone, { recursive: true, force: true });
    // Not opted in: its volume is nobody's backup.
    await startWorkload(
      docker,
      {
        name: names.loose,
        project,
        service: 'loose',
        labels: {},
        volumes: [{ name: `${project}_loose`, destination: '/var/lib/loose', files: { l: 'l' } }],
      },
      { [runKey]: runVal },
    );
  });

  after(async function () {
    if (docker) {
      await removeLabeled(docker, runLabel);
      await removeVolumes(docker, runLabel);
    }
    await removeDir(repo?.dir);
    await removeDir(config?.dir);
    await removeDir(binds);
  });

  it('backs up on schedule, reports last backup and snapshot counts, and turns the failing workload Stale', async () => {
    const port = await freePort();
    const { daemon, logs, exited } = spawnDaemon([
      '--config',
      config.path,
      '--interval',
      '5s',
      '--backup-schedule',
      '* * * * *',
      '--engine',
      'restic',
      '--include-project-name',
      '--quiesce-label',
      `dockop.test.quiesce-${run}=true`,
      '--stop-timeout',
      '5s',
      '--progress',
      'none',
      '--http-addr',
      `127.0.0.1:${port}`,
      ...repoFlags(),
    ]);
    const statusFile = (n: string) => path.join(stateDir(), 'workloads', `${n}.json`);
    const readStatus = async (n: string): Promise<Row['status'] | undefined> => {
      try {
        return JSON.parse(await readFile(statusFile(n), 'utf8')) as Row['status'];
      } catch {
        return undefined;
      }
    };
    let metrics = '';
    try {
      // Two scheduled runs finished (one a minute), and the failing one is Stale (2 × 1 min after
      // the daemon first saw it): bounds, not timing assertions.
      await eventually(
        async () => logs.filter((l) => l.action === 'backup.done').length >= 2,
        200_000,
        'two scheduled backup runs',
      );
      await eventually(
        async () =>
          (await readStatus(names.bad))?.conditions.some(
            (c) => c.type === 'Stale' && c.status === 'True',
          ) === true,
        120_000,
        `${names.bad} turns Stale`,
      );
      // Stop between two runs, once the retention controller brought every workload to its
      // policy after its last backup (it runs after each run, not inside it).
      const count = (action: string) => logs.filter((l) => l.action === action).length;
      const caughtUp = async (n: string): Promise<boolean> => {
        const s = (await readStatus(n)) as
          | (Row['status'] & { lastBackup?: { time: string }; retention?: { time: string } })
          | undefined;
        return (
          s?.lastBackup !== undefined &&
          s.retention !== undefined &&
          Date.parse(s.retention.time) >= Date.parse(s.lastBackup.time) &&
          s.conditions.some((c) => c.type === 'RetentionSatisfied' && c.status === 'True')
        );
      };
      await eventually(
        async () =>
          count('backup.workloads') === count('backup.done') &&
          (await caughtUp(names.a)) &&
          (await caughtUp(names.b)) &&
          (await caughtUp(names.c)),
        120_000,
        'no backup run in progress, retention applied after the last one',
      );
      // The gauges follow the repository listing that comes after retention removed snapshots
      // (a run may also start meanwhile): wait for a's count to come back to its keep (last=1).
      const snapshotsOfA = new RegExp(
        `backrest_sidecar_workload_snapshots\\{workload="${names.a}"\\} 1\n`,
      );
      await eventually(
        async () => {
          metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
          return snapshotsOfA.test(metrics);
        },
        120_000,
        `${names.a}'s snapshots gauge back at 1 after retention`,
      );
    } finally {
      daemon.kill('SIGTERM');
      await exited;
    }
    const runs = logs.filter((l) => l.action === 'backup.done');
    expect(runs.length).to.be.at.least(2);
    // Retention ran in the retention controller (after each run, from BackupCompletedTrigger),
    // one workload per pass, never inside the scheduled backup runs.
    const passes = logs.filter((l) => l.action === 'retention.forgotten');
    expect(passes.length).to.be.at.least(3);
    for (const p of passes) {
      expect(p.controller, JSON.stringify(p)).to.equal('retention');
      expect(p.containers as string[]).to.have.length(1);
    }
    expect(
      logs.some((l) => l.action === 'retention.forgotten' && l.controller === 'backup'),
    ).to.equal(false);

    // What the repository holds per workload, straight from restic.
    const { stdout } = await exec('restic', ['snapshots', '--json'], { env: repo.env });
    const snaps = JSON.parse(stdout) as { tags?: string[]; short_id: string; time: string }[];
    const inRepo = (n: string) => snaps.filter((s) => s.tags?.includes(`container:${n}`));

    const get = await runCli(['get', 'workloads', '-o', 'json', ...repoFlags()], {
      timeoutMs: 120_000,
    });
    expect(get.code, get.stderr).to.equal(0);
    const rows = JSON.parse(get.stdout) as Row[];
    expect(rows.map((r) => r.name).sort()).to.deep.equal(
      [names.a, names.b, names.bad, names.c].sort(),
    );
    for (const svc of ['a', 'b', 'c'] as const) {
      const r = rows.find((x) => x.name === names[svc])!;
      const own = inRepo(names[svc]);
      const newest = own.reduce((x, y) => (Date.parse(y.time) > Date.parse(x.time) ? y : x));
      expect(r.state, JSON.stringify(r)).to.equal('Ok');
      expect(r.snapshots, svc).to.equal(own.length);
      expect(r.status.lastBackup?.snapshotId, svc).to.equal(newest.short_id);
      expect(r.lastBackup).to.be.a('string');
      expect(r.engine).to.equal('restic');
      expect(r.sizeBytes).to.be.greaterThan(0);
      expect(r.keep).to.equal(keeps[svc]);
      expect(condition(r, 'BackedUp')?.status).to.equal('True');
      expect(condition(r, 'Stale')?.status).to.equal('False');
      expect(condition(r, 'RetentionSatisfied')).to.include({
        status: 'True',
        reason: 'PolicyApplied',
      });
      expect(r.status.retention?.keep).to.equal(keeps[svc]);
    }
    // Their different policies, as the last retention pass applied them after two or more runs.
    const kept = (svc: 'a' | 'b' | 'c') =>
      rows.find((r) => r.name === names[svc])!.status.retention?.kept;
    expect([kept('a'), kept('b')]).to.deep.equal([1, 2]);
    expect(kept('c')).to.be.within(2, 3);
    expect(inRepo(names.a)).to.have.length(1);
    expect(inRepo(names.b)).to.have.length(2);

    const bad = rows.find((r) => r.name === names.bad)!;
    expect(bad.state).to.equal('Stale');
    expect(bad.lastBackup).to.equal(null);
    expect(bad.snapshots).to.equal(0);
    expect(bad.status.lastFailure?.message).to.match(/does not exist|no such file/i);
    expect(condition(bad, 'BackedUp')).to.include({ status: 'False', reason: 'BackupFailed' });
    expect(condition(bad, 'Stale')).to.include({ status: 'True', reason: 'NeverBackedUp' });
    expect(condition(bad, 'Stale')?.message).to.contain('--backup-schedule "* * * * *"');

    // The daemon's gauges said the same.
    expect(metrics).to.match(
      new RegExp(`backrest_sidecar_workload_stale\\{workload="${names.bad}"\\} 1`),
    );
    expect(metrics).to.match(
      new RegExp(`backrest_sidecar_workload_stale\\{workload="${names.a}"\\} 0`),
    );
    expect(metrics).to.match(
      new RegExp(`backrest_sidecar_workload_snapshots\\{workload="${names.a}"\\} 1`),
    );
    expect(metrics).to.match(
      new RegExp(
        `backrest_sidecar_workload_last_success_timestamp_seconds\\{workload="${names.b}"\\} \\d+`,
      ),
    );
    expect(metrics).to.match(/backrest_sidecar_uncovered_volumes [1-9]/);

    // describe: conditions and the recorded events, in the table and as JSON.
    const text = await runCli([
      'describe',
      'workload',
      names.bad,
      '--no-repository',
      ...repoFlags(),
    ]);
    expect(text.code, text.stderr).to.equal(0);
    expect(text.stdout).to.match(/Status:\s+Stale/);
    expect(text.stdout).to.match(/Stale\s+True\s+NeverBackedUp/);
    expect(text.stdout).to.match(/Warning\s+BackupFailed\s+x\d+/);
    const json = await runCli(['describe', 'workload', names.a, '-o', 'json', ...repoFlags()]);
    expect(
      (JSON.parse(json.stdout) as Row).status.conditions.map((c) => c.type),
    ).to.include.members(['BackedUp', 'RetentionSatisfied', 'Stale']);
    // Secrets from the env file never reach the output.
    expect(get.stdout + text.stdout + json.stdout).to.not.contain('retention-test-secret-pw');
  });

  it('lists the unlabelled container’s volume as UNCOVERED, and the workloads’ volumes as covered by their plans', async () => {
    const res = await runCli(['get', 'volumes', '-o', 'json', '--plan-id-prefix', prefix]);
    expect(res.code, res.stderr).to.equal(0);
    const data = JSON.parse(res.stdout) as { inUse: Coverage[]; stoppedOnly: Coverage[] };
    const loose = data.inUse.find((v) => v.source === `${project}_loose`);
    expect(loose).to.deep.include({ state: 'Uncovered', coveredBy: [] });
    expect(loose!.users.map((u) => u.container)).to.deep.equal([names.loose]);
    const a = data.inUse.find((v) => v.source === `${project}_adata`);
    expect(a).to.deep.include({
      state: 'Covered',
      coveredBy: [{ planId: `${prefix}${project}_a`, container: names.a }],
    });
    const table = await runCli(['get', 'volumes', '--plan-id-prefix', prefix]);
    expect(table.stdout).to.match(
      new RegExp(`${project}_loose\\s+volume\\s+UNCOVERED\\s+${names.loose}`),
    );

    // Stopped: its volume moves to the stopped-only list.
    await docker.getContainer(names.loose).stop({ t: 1 });
    const after = JSON.parse(
      (await runCli(['get', 'volumes', '-o', 'json', '--plan-id-prefix', prefix])).stdout,
    ) as { inUse: Coverage[]; stoppedOnly: Coverage[] };
    expect(after.inUse.some((v) => v.source === `${project}_loose`)).to.equal(false);
    expect(after.stoppedOnly.find((v) => v.source === `${project}_loose`)?.state).to.equal(
      'StoppedOnly',
    );
  });

  it('counts the snapshots Backrest made from a workload’s plan (tag plan:<id>) and takes a newer one as its last backup', async () => {
    const planId = `${prefix}${project}_c`;
    const src = path.join(binds, 'backrest-src');
    await exec('mkdir', ['-p', src]);
    await exec('sh', ['-c', `echo made-by-backrest > ${src}/f.txt`]);
    // As Backrest tags its own backups: plan:<id> and created-by:<instance>, its own host.
    await exec(
      'restic',
      ['backup', '-q', '--host', 'backrest-host', '--tag', `plan:${planId},created-by:inst`, src],
      { env: repo.env },
    );
    const { stdout } = await exec('restic', ['snapshots', '--json', '--tag', `plan:${planId}`], {
      env: repo.env,
    });
    const made = (JSON.parse(stdout) as { short_id: string }[])[0]!;
    const res = await runCli(['get', 'workloads', names.c, '-o', 'json', ...repoFlags()], {
      timeoutMs: 120_000,
    });
    expect(res.code, res.stderr).to.equal(0);
    const [c] = JSON.parse(res.stdout) as (Row & {
      status: { snapshots: { sidecar: number; backrest: number } };
    })[];
    expect(c!.status.snapshots.backrest).to.equal(1);
    expect(c!.snapshots).to.equal(c!.status.snapshots.sidecar + 1);
    expect(c!.engine).to.equal('backrest');
    expect(c!.status.lastBackup?.snapshotId).to.equal(made.short_id);
    expect(condition(c!, 'BackedUp')).to.include({
      status: 'True',
      reason: 'SnapshotInRepository',
    });
  });
});
