import type Docker from 'dockerode';
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { removeLabeled, requireEngine, runId } from './support/engine.js';
import { eventually, runCli, spawnDaemon, tempConfig } from './support/plan-cli.js';
import {
  listSnapshots,
  makeRepo,
  removeDir,
  resticRepoFlags,
  type Repo,
} from './retention-fixture.js';
import { removeVolumes, startWorkload } from './backup-fixture.js';

/**
 * How long after the manager started case 1 waits at least: the retention controller's pass at
 * start (restic forget in a one-shot container) took 3–9 s in case 2 on a shared 2-core host at
 * load 7–13. Case 2 checks that it stays below what case 1 waited, or case 1 would prove nothing.
 */
const RETENTION_BOUND_MS = 30_000;

/** What a `* * * * *` timer armed at `t` fires first: the next minute boundary. */
const nextMinute = (t: number) => Math.ceil((t + 1) / 60_000) * 60_000;

/**
 * Every file of a restic repository (relative path → sha256), but its locks: the daemon's status
 * listing (`restic snapshots`, a read) takes and drops a shared lock, which writes nothing else.
 */
async function repoFiles(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue;
    const rel = path.relative(dir, path.join(e.parentPath, e.name));
    if (rel.split(path.sep)[0] === 'locks') continue;
    out[rel] = createHash('sha256')
      .update(await readFile(path.join(dir, rel)))
      .digest('hex');
  }
  return out;
}

// `daemon --dry-run` on the real engine with real restic changes nothing: a workload with
// `backrest.keep=last=1` and two snapshots keeps both (the retention controller is not loaded:
// it used to run `restic forget` while the plans were only diffed), `--backup-schedule` is
// dropped (no run, the workload is not stopped), the config file and the repository keep their
// bytes (workload status under --state-dir is still kept: the daemon's own bookkeeping). The same
// daemon without --dry-run forgets down to one snapshot: the control that shows case 1 can fail.
describe('daemon --dry-run changes nothing: no retention, no scheduled backup, no config write (integration)', function () {
  this.timeout(240_000);
  let docker: Docker;
  let repo: Repo;
  let config: { dir: string; path: string };
  const run = runId();
  const runKey = 'dockop.test.run';
  const runVal = `dr-${run}`;
  const runLabel = `${runKey}=${runVal}`;
  const quiesceKey = `dockop.test.quiesce-${run}`;
  const project = `dr${run.replace(/[^a-z0-9]/g, '')}`;
  const name = `dr-${run}-app`;
  /** backup-once's flags, which the daemon takes too: only this run's workload, this repo. */
  const flags = () => [
    '--engine',
    'restic',
    '--include-project-name',
    '--quiesce-label',
    `${quiesceKey}=true`,
    '--stop-timeout',
    '5s',
    '--progress',
    'none',
    ...resticRepoFlags(repo, path.join(repo.dir, 'state'), 'dry-run-test'),
    '--selector',
    runLabel,
    '--plan-id-prefix',
    `t${project}_`,
    '--log-format',
    'json',
  ];
  const daemonFlags = () => ['--config', config.path, '--interval', '5s', ...flags()];
  const snapshotCount = async () => (await listSnapshots(repo)).length;
  /** What case 1 waited after the manager started (undefined when case 2 runs alone). */
  let dryRunWaitedMs: number | undefined;

  before(async function () {
    docker = await requireEngine(this);
    repo = await makeRepo('daemon-dry-run');
    config = await tempConfig();
    // Quiesced: a backup would stop it, which its StartedAt would show.
    await startWorkload(
      docker,
      {
        name,
        project,
        service: 'app',
        labels: { 'backrest.enable': 'true', 'backrest.keep': 'last=1', [quiesceKey]: 'true' },
        volumes: [{ name: `${project}_data`, destination: '/data', files: { 'a.txt': 'a' } }],
      },
      { [runKey]: runVal },
    );
    for (let i = 0; i < 2; i++) {
      const once = await runCli(['backup-once', '--no-forget', ...flags()], {
        timeoutMs: 120_000,
      });
      expect(once.code, once.stderr).to.equal(0);
    }
    expect(await snapshotCount()).to.equal(2);
  });

  after(async function () {
    if (docker) {
      await removeLabeled(docker, runLabel);
      await removeVolumes(docker, runLabel);
    }
    await removeDir(repo?.dir);
    await removeDir(config?.dir);
  });

  it('daemon --dry-run --backup-schedule: logs daemon.dry_run, diffs the plans, forgets nothing, backs nothing up, writes no config, exits 0', async () => {
    const configBefore = await readFile(config.path);
    const repoBefore = await repoFiles(repo.repo);
    const startedAt = (await docker.getContainer(name).inspect()).State.StartedAt;
    const { daemon, logs, exited } = spawnDaemon([
      '--dry-run',
      '--backup-schedule',
      '* * * * *',
      ...daemonFlags(),
    ]);
    const count = (action: string) => logs.filter((l) => l.action === action).length;
    try {
      await eventually(() => count('manager.started') === 1, 60_000, 'manager.started');
      const managerStarted = Date.now();
      await eventually(
        () => count('daemon.dry_run') === 1 && count('dry-run.complete') >= 1,
        60_000,
        'daemon.dry_run and the first reconcile (plan diff)',
      );
      // Past the retention pass a live daemon makes at start, and past the first minute
      // boundary, where a `* * * * *` schedule would have started a backup.
      const until = Math.max(
        managerStarted + RETENTION_BOUND_MS,
        nextMinute(managerStarted) + 5_000,
      );
      await sleep(Math.max(0, until - Date.now()));
      dryRunWaitedMs = Date.now() - managerStarted;
    } finally {
      daemon.kill('SIGTERM');
    }
    expect(await exited).to.equal(0);

    expect(count('daemon.dry_run')).to.equal(1);
    const diffs = logs.filter((l) => l.action === 'dry-run.complete');
    expect(diffs.length).to.be.at.least(1);
    // The diff saw the workload's plan as a change it did not write.
    expect(diffs[0]).to.include({ plans_seen: 1, changed: true });
    expect(count('config.written')).to.equal(0);
    expect(await readFile(config.path)).to.deep.equal(configBefore);

    const retention = logs.filter((l) => String(l.action).startsWith('retention.'));
    expect(retention, JSON.stringify(retention)).to.deep.equal([]);
    // Not a byte of the repository changed (read before restic is asked anything below).
    expect(await repoFiles(repo.repo)).to.deep.equal(repoBefore);
    expect(await snapshotCount()).to.equal(2);

    const backup = logs.filter((l) =>
      ['backup.scheduled', 'backup.workloads', 'backup.starting', 'backup.done'].includes(
        String(l.action),
      ),
    );
    expect(backup, JSON.stringify(backup)).to.deep.equal([]);
    const after = (await docker.getContainer(name).inspect()).State;
    expect(after.Running).to.equal(true);
    expect(after.StartedAt).to.equal(startedAt);
  });

  it('the control: the same daemon without --dry-run forgets down to keep last=1', async () => {
    expect(await snapshotCount()).to.equal(2);
    const { daemon, logs, exited } = spawnDaemon(daemonFlags());
    let forgotAfterMs: number;
    try {
      await eventually(
        () => logs.some((l) => l.action === 'manager.started'),
        60_000,
        'manager.started',
      );
      const managerStarted = Date.now();
      await eventually(
        () => logs.some((l) => l.action === 'retention.forgotten'),
        120_000,
        'retention.forgotten',
      );
      forgotAfterMs = Date.now() - managerStarted;
      await eventually(async () => (await snapshotCount()) === 1, 30_000, 'one snapshot left');
    } finally {
      daemon.kill('SIGTERM');
    }
    expect(await exited).to.equal(0);
    if (dryRunWaitedMs !== undefined) {
      expect(
        forgotAfterMs,
        `retention took ${forgotAfterMs} ms after start, case 1 waited only ${dryRunWaitedMs} ms: raise RETENTION_BOUND_MS`,
      ).to.be.below(dryRunWaitedMs);
    }
  });
});
