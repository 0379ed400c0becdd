import { expect } from 'chai';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type Dockerode from 'dockerode';
import {
  BackupCompletedTrigger,
  BackupReport,
  BackupRetention,
  WorkloadStatusStore,
  type WorkloadStatus,
  backrestApiModule,
  workloadStatusModule,
} from '@backrest-sidecar/api';
import { ContainerActions, DockerClient, HostContainerChanges } from '@dockop/docker';
import type { KeyTrigger } from '@dockop/runtime';
import { ControllerContribution, MetricsRegistry } from '@dockop/runtime';
import { TestManager } from '@dockop/testing';
import { ContainerModule } from 'inversify';
import type { BackupController, BackupControllerOptions } from './backup-controller.js';
import { BackupMetrics } from './backup-metrics.js';
import { backupControllerModule, backupModule } from './backup-module.js';
import { LIST_LAG_MS } from './host-containers.js';

const HOUR = 3_600_000;

/** A container as `GET /containers/json` lists it. */
function info(
  name: string,
  labels: Record<string, string>,
  volume: string,
): Dockerode.ContainerInfo {
  return {
    Id: `${name}-id`,
    Names: [`/${name}`],
    Image: 'busybox',
    ImageID: 'sha256:1',
    State: 'running',
    Labels: labels,
    Mounts: [
      {
        Type: 'volume',
        Name: volume,
        Source: `/var/lib/docker/volumes/${volume}/_data`,
        Destination: '/data',
        RW: true,
      },
    ],
  } as unknown as Dockerode.ContainerInfo;
}

/** Docker actions whose one-shots (restic) answer what `restic` says; `list` filters by label. */
function fakeActions(
  containers: Dockerode.ContainerInfo[],
  restic: () => Promise<{ exitCode: number; lines: string[] }>,
): { actions: ContainerActions; oneShots: string[][] } {
  const oneShots: string[][] = [];
  const matches = (c: Dockerode.ContainerInfo, f: string): boolean => {
    const eq = f.indexOf('=');
    return eq < 0 ? Object.hasOwn(c.Labels, f) : c.Labels[f.slice(0, eq)] === f.slice(eq + 1);
  };
  const actions = {
    list: async (filters: Record<string, string[]>) =>
      containers.filter((c) => (filters.label ?? []).every((f) => matches(c, f))),
    start: async () => {},
    stop: async () => {},
    inspect: async () => ({}),
    removeLeftovers: async () => [],
    runOneShot: async (
      spec: { cmd: string[] },
      opts: { onLog?: (l: string, s: 'stdout' | 'stderr') => void },
    ) => {
      oneShots.push(spec.cmd);
      const r = await restic();
      for (const l of r.lines) opts.onLog?.(l, r.exitCode === 0 ? 'stdout' : 'stderr');
      return { exitCode: r.exitCode, durationMs: 5 };
    },
  } as unknown as ContainerActions;
  return { actions, oneShots };
}

const client = {
  request: async (_op: string, fn: (d: unknown) => unknown) =>
    fn({ info: async () => ({ Name: 'test-host' }) }),
} as unknown as DockerClient;

describe('BackupController', () => {
  let dir: string;
  let tm: TestManager | undefined;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'backup-controller-'));
  });
  afterEach(async () => {
    await tm?.stop();
    tm = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  function manager(
    actions: ContainerActions,
    schedule = '0 * * * *',
    selector?: string[],
  ): TestManager {
    return new TestManager({
      modules: [
        backrestApiModule,
        workloadStatusModule(dir),
        new ContainerModule((o) => {
          o.bind<ContainerActions>(ContainerActions).toConstantValue(actions);
          o.bind<DockerClient>(DockerClient).toConstantValue(client);
        }),
        backupModule({
          schedule,
          clock: 'utc',
          backup: {
            engine: 'restic',
            stateDir: dir,
            noForget: true,
            progress: 'none',
            ...(selector ? { selector } : {}),
          },
        }),
      ],
    });
  }

  it('runs on the schedule; a workload whose backups fail turns Stale after 2 × the period (virtual time)', async () => {
    const labels = { 'backrest.enable': 'true' };
    const { actions, oneShots } = fakeActions([info('db', labels, 'dbdata')], async () => ({
      exitCode: 1,
      lines: ['Fatal: unable to open config file: Stat: connection refused'],
    }));
    tm = manager(actions);
    const completed: string[] = [];
    tm.manager.get<KeyTrigger>(BackupCompletedTrigger).subscribe((k) => completed.push(k));
    await tm.docker.run({ name: 'db', labels, mounts: [{ name: 'dbdata', destination: '/data' }] });
    await tm.start();
    const store = tm.manager.get<WorkloadStatusStore>(WorkloadStatusStore);
    const conditions = async () =>
      Object.fromEntries(
        ((await store.get('db'))?.conditions ?? []).map((c) => [c.type, `${c.status}/${c.reason}`]),
      );
    // 2026-01-01T00:00Z: seen, never backed up.
    expect(await conditions()).to.deep.equal({
      BackedUp: 'Unknown/NoBackupYet',
      Stale: 'False/WithinFirstWindow',
    });
    expect(oneShots).to.have.length(0);

    // 01:00: the first scheduled run fails.
    await tm.advance(HOUR);
    expect(oneShots.map((c) => c[0])).to.deep.equal(['backup']);
    const s = await store.get('db');
    expect(s?.lastFailure?.message).to.contain('connection refused');
    expect(await conditions()).to.deep.include({ BackedUp: 'False/BackupFailed' });
    expect(completed).to.deep.equal(['BackupWorkload/db']);

    // 01:59:59: still within 2 × 1 h of first sight.
    await tm.advance(HOUR - 1000);
    expect((await conditions()).Stale).to.equal('False/WithinFirstWindow');
    // 02:00: the second run fails too and the window has passed: Stale, without any event.
    await tm.advance(1000);
    await tm.advance(2000);
    expect(oneShots).to.have.length(2);
    expect((await conditions()).Stale).to.equal('True/NeverBackedUp');
    const registry = tm.manager.get<MetricsRegistry>(MetricsRegistry);
    const metrics = await registry.metrics();
    expect(metrics).to.match(/backrest_sidecar_workload_stale\{workload="db"\} 1/);
  });

  it('a successful run records the snapshot; Stale clears; a tick during a run is skipped', async () => {
    const labels = { 'backrest.enable': 'true' };
    let release: (() => void) | undefined;
    const summary = JSON.stringify({
      message_type: 'summary',
      files_new: 2,
      files_changed: 0,
      files_unmodified: 0,
      data_added: 100,
      total_files_processed: 2,
      total_bytes_processed: 200,
      total_duration: 1,
      snapshot_id: 'cafe1234',
    });
    const { actions } = fakeActions([info('app', labels, 'appdata')], async () => {
      await new Promise<void>((r) => (release = r));
      return { exitCode: 0, lines: [summary] };
    });
    tm = manager(actions);
    await tm.docker.run({
      name: 'app',
      labels,
      mounts: [{ name: 'appdata', destination: '/data' }],
    });
    await tm.start();
    const controller = tm.manager
      .getAll<ControllerContribution>(ControllerContribution)
      .find((c) => c.name === 'backup') as BackupController;
    controller.tick();
    while (!release) await new Promise((r) => setImmediate(r));
    expect(controller.busy).to.equal(true);
    controller.tick();
    expect(controller.skipped).to.equal(1);
    release();
    await tm.settle();
    expect(controller.busy).to.equal(false);
    expect(controller.lastReport?.exitCode).to.equal(0);
    const s = await tm.manager.get<WorkloadStatusStore>(WorkloadStatusStore).get('app');
    expect(s?.lastBackup).to.deep.include({
      snapshotId: 'cafe1234',
      filesTotal: 2,
      bytesTotal: 200,
      engine: 'restic',
    });
    expect(s?.conditions.find((c) => c.type === 'BackedUp')).to.include({
      status: 'True',
      observedGeneration: 1,
    });
    expect(s?.observedGeneration).to.equal(1);
    expect(s?.conditions.find((c) => c.type === 'Stale')?.reason).to.equal('RecentBackup');
    const metrics = await tm.manager.get<MetricsRegistry>(MetricsRegistry).metrics();
    expect(metrics).to.match(
      /backrest_sidecar_workload_last_success_timestamp_seconds\{workload="app"\} 1767225600/,
    );
  });

  it('refuses an invalid --backup-schedule at construction, naming it', () => {
    const { actions } = fakeActions([], async () => ({ exitCode: 0, lines: [] }));
    tm = manager(actions, '0 0 * * 7');
    expect(() => tm!.manager.getAll<ControllerContribution>(ControllerContribution)).to.throw(
      /--backup-schedule "0 0 \* \* 7" is not a valid cron expression/,
    );
  });

  it('--selector: only selected workloads get a status; a refused one is an error, not a success', async () => {
    const { actions } = fakeActions([], async () => ({ exitCode: 0, lines: [] }));
    tm = manager(actions, '0 * * * *', ['team=a']);
    await tm.docker.run({ name: 'mine', labels: { 'backrest.enable': 'true', team: 'a' } });
    await tm.docker.run({ name: 'theirs', labels: { 'backrest.enable': 'true', team: 'b' } });
    await tm.docker.run({
      name: 'broken',
      labels: { 'backrest.enable': 'true', team: 'a', 'backrest.schedule': 'not a cron' },
    });
    await tm.start();
    const store = tm.manager.get<WorkloadStatusStore>(WorkloadStatusStore);
    expect((await store.list()).map((s) => s.name)).to.deep.equal(['mine']);
    const text = await tm.manager.get<MetricsRegistry>(MetricsRegistry).metrics();
    expect(text).to.match(
      /controller_runtime_reconcile_total\{controller="backup",result="error"\} [1-9]/,
    );
    expect(text).to.not.contain('workload="theirs"');
  });

  it("lists the repository on its period with Backrest's repo entry: Backrest's snapshots keep a workload from Stale", async () => {
    const config = path.join(dir, 'config.json');
    await writeFile(
      config,
      JSON.stringify({ repos: [{ id: 'r', uri: '/repos/r', password: 'pw-secret' }] }),
    );
    const labels = { 'backrest.enable': 'true' };
    let now = '';
    const { actions, oneShots } = fakeActions([], async () => ({
      exitCode: 0,
      lines: [
        JSON.stringify([
          {
            id: 'f'.repeat(64),
            short_id: 'ffffffff',
            time: now,
            paths: ['/srv/db'],
            hostname: 'backrest',
            tags: ['plan:backrest_sidecar_db', 'created-by:x'],
          },
        ]),
      ],
    }));
    tm = new TestManager({
      modules: [
        backrestApiModule,
        workloadStatusModule(dir),
        new ContainerModule((o) => {
          o.bind<ContainerActions>(ContainerActions).toConstantValue(actions);
          o.bind<DockerClient>(DockerClient).toConstantValue(client);
        }),
        backupModule({
          backup: { engine: 'restic', stateDir: dir, progress: 'none' },
          backrestConfig: config,
          inventoryPeriodMs: HOUR,
          resyncPeriodMs: HOUR,
        }),
      ],
    });
    await tm.docker.run({ name: 'db', labels });
    const store = tm.manager.get<WorkloadStatusStore>(WorkloadStatusStore);
    // Backrest backs db up every day; we only see it in the repository.
    for (let day = 0; day < 3; day++) {
      now = new Date(tm.clock.now()).toISOString();
      if (day === 0) await tm.start();
      else await tm.advance(24 * HOUR);
      const s = await store.get('db');
      expect(s?.snapshots?.backrest, `day ${day}`).to.equal(1);
      expect(s?.lastBackup).to.deep.include({ snapshotId: 'ffffffff', engine: 'backrest' });
      expect(s?.conditions.find((c) => c.type === 'Stale')?.status, `day ${day}`).to.equal('False');
    }
    expect(oneShots.every((c) => c[0] === 'snapshots')).to.equal(true);
    // Backrest stops: 26 h after its last snapshot the workload is Stale.
    await tm.advance(26 * HOUR);
    const s = await store.get('db');
    expect(s?.conditions.find((c) => c.type === 'Stale')).to.include({
      status: 'True',
      reason: 'NoRecentBackup',
    });
    expect(s?.conditions.find((c) => c.type === 'Stale')?.message).to.contain(
      'Backrest owns the schedule',
    );
  });

  describe("mode 'once' (backup-once)", () => {
    it('runs exactly one backup with retention inline, reports it through BackupReport, lists nothing after', async () => {
      const labels = { 'backrest.enable': 'true' };
      const summary = JSON.stringify({
        message_type: 'summary',
        snapshot_id: 'abcd1234',
        total_files_processed: 2,
        total_bytes_processed: 20,
      });
      const { actions, oneShots } = fakeActions([info('db', labels, 'dbdata')], async () => ({
        exitCode: 0,
        lines: [summary],
      }));
      const envFile = path.join(dir, 'repo.env');
      await writeFile(envFile, 'RESTIC_REPOSITORY=/repo\nRESTIC_PASSWORD=pw\n');
      const calls: string[] = [];
      tm = new TestManager({
        modules: [
          backrestApiModule,
          workloadStatusModule(dir),
          new ContainerModule((o) => {
            o.bind<ContainerActions>(ContainerActions).toConstantValue(actions);
            o.bind<DockerClient>(DockerClient).toConstantValue(client);
            o.bind(BackupRetention).toConstantValue({
              run: async () => {
                calls.push('retention');
                return { dryRun: false, workloads: [], exitCode: 0 };
              },
            });
          }),
          backupModule({
            mode: 'once',
            backup: { engine: 'restic', stateDir: dir, rcbEnvFile: envFile, progress: 'none' },
          }),
        ],
      });
      const completed: string[] = [];
      tm.manager.get<KeyTrigger>(BackupCompletedTrigger).subscribe((k) => completed.push(k));
      await tm.docker.run({
        name: 'db',
        labels,
        mounts: [{ name: 'dbdata', destination: '/data' }],
      });
      const [result] = await tm.manager.runOnce({ controllers: ['backup'] });
      expect(result).to.deep.include({ controller: 'backup', reconciled: 1, succeeded: 1 });
      const report = tm.manager.get<BackupReport>(BackupReport).last!;
      expect(report.exitCode).to.equal(0);
      expect(report.workloads.map((w) => [w.container, w.status, w.snapshotId])).to.deep.equal([
        ['db', 'ok', 'abcd1234'],
      ]);
      expect(calls).to.deep.equal(['retention']); // inline, as backup-once always ran it
      // One restic one-shot (the backup): no repository listing, no hand-over to retention.
      expect(oneShots).to.have.length(1);
      expect(completed).to.deep.equal([]);
      const status = await tm.manager.get<WorkloadStatusStore>(WorkloadStatusStore).get('db');
      expect(status?.lastBackup?.snapshotId).to.equal('abcd1234');
      tm = undefined; // runOnce stopped it
    });

    it('without options the module is inert: no watches, no keys', () => {
      const { actions } = fakeActions([], async () => ({ exitCode: 0, lines: [] }));
      tm = new TestManager({
        modules: [
          new ContainerModule((o) => {
            o.bind<ContainerActions>(ContainerActions).toConstantValue(actions);
            o.bind<DockerClient>(DockerClient).toConstantValue(client);
          }),
          backupControllerModule(),
        ],
      });
      const backup = tm.manager
        .getAll<ControllerContribution>(ControllerContribution)
        .find((c) => c.name === 'backup')!;
      expect(backup.watches).to.deep.equal([]);
      expect(backup.options).to.deep.equal({});
      expect(backup.triggers ?? []).to.deep.equal([]);
    });
  });
});

describe('BackupController at rest', () => {
  let dir: string;
  let tm: TestManager | undefined;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'backup-controller-rest-'));
  });
  afterEach(async () => {
    await tm?.stop();
    tm = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  const MINUTE = 60_000;
  const labels = { 'backrest.enable': 'true' };
  /** A retention pass that removed one snapshot, at the manager's clock time. */
  const removalNow = (): NonNullable<WorkloadStatus['retention']> => ({
    time: new Date(tm!.clock.now()).toISOString(),
    keep: 'last:1',
    outcome: 'forgotten',
    kept: 1,
    removed: 1,
    keptIds: ['a'],
    removedIds: ['b'],
  });

  function manager(
    actions: ContainerActions,
    extra: Partial<BackupControllerOptions> = {},
    hostChanges?: HostContainerChanges,
  ): TestManager {
    return new TestManager({
      modules: [
        backrestApiModule,
        workloadStatusModule(dir),
        new ContainerModule((o) => {
          o.bind<ContainerActions>(ContainerActions).toConstantValue(actions);
          o.bind<DockerClient>(DockerClient).toConstantValue(client);
          if (hostChanges) {
            o.bind<HostContainerChanges>(HostContainerChanges).toConstantValue(hostChanges);
          }
        }),
        backupModule({
          backup: { engine: 'restic', stateDir: dir, progress: 'none' },
          resyncPeriodMs: MINUTE,
          // The files are written in real time while the clock is virtual: trust every stamp.
          statusStampRacyMs: 0,
          ...extra,
        }),
      ],
    });
  }

  async function reconciles(): Promise<number> {
    const text = await tm!.manager.get<MetricsRegistry>(MetricsRegistry).metrics();
    return [
      ...text.matchAll(/^controller_runtime_reconcile_total\{controller="backup",[^}]*\} (\d+)/gm),
    ].reduce((n, m) => n + Number(m[1]), 0);
  }

  it('an idle minute is its two aggregate keys, not one reconcile per workload; a status file another process wrote is picked up', async () => {
    const names = ['w1', 'w2', 'w3'];
    const { actions } = fakeActions(
      names.map((n) => info(n, labels, `${n}data`)),
      async () => ({ exitCode: 0, lines: [] }),
    );
    tm = manager(actions);
    for (const name of names) await tm.docker.run({ name, labels });
    await tm.start();
    await tm.advance(MINUTE); // the files written at start are looked at once more
    const before = await reconciles();
    await tm.advance(10 * MINUTE);
    // VolumeCoverage/host and WorkloadStatusFiles/workloads, once a minute each.
    expect((await reconciles()) - before).to.equal(20);

    // A one-shot backup-once (another process, its own store) records a backup of w2.
    const other = new WorkloadStatusStore({ stateDir: dir });
    const time = new Date(tm.clock.now()).toISOString();
    await other.update('w2', (s) => {
      s.lastBackup = { time, engine: 'restic', source: 'run', snapshotId: 'beef0001' };
    });
    const gauge = /backrest_sidecar_workload_last_success_timestamp_seconds\{workload="w2"\} (\d+)/;
    await tm.advance(MINUTE);
    const text = await tm.manager.get<MetricsRegistry>(MetricsRegistry).metrics();
    expect(Number(gauge.exec(text)?.[1])).to.equal(Date.parse(time) / 1000);
    // Re-evaluated on the daemon's clock: Stale follows the new backup.
    const s = await tm.manager.get<WorkloadStatusStore>(WorkloadStatusStore).get('w2');
    expect(s?.conditions.find((c) => c.type === 'Stale')?.reason).to.equal('RecentBackup');
  });

  it('counts the volume coverage again only after a container on the host changed, listing only those', async () => {
    const lists: string[] = [];
    const containers = [info('db', labels, 'dbdata'), info('other', {}, 'loose')];
    const { actions } = fakeActions(containers, async () => ({ exitCode: 0, lines: [] }));
    actions.list = async (filters) => {
      lists.push(JSON.stringify(filters));
      const ids = filters.id;
      return containers.filter((c) => !ids || ids.includes(c.Id));
    };
    // Events of `log` (ids) after revision 1; undefined after a reconnect.
    const host = { revision: 1, lastChangeAt: -Infinity, log: [] as string[], known: true };
    const changes: HostContainerChanges = {
      hostChanges: () => ({ revision: host.revision, lastChangeAt: host.lastChangeAt }),
      changedSince: (r) => (host.known ? [...new Set(host.log.slice(r - 1))] : undefined),
    };
    const event = (id: string, at = -Infinity) => {
      host.log.push(id);
      host.revision++;
      host.lastChangeAt = at;
    };
    tm = manager(actions, {}, changes);
    await tm.docker.run({ name: 'db', labels });
    await tm.start();
    const gauge = async () =>
      /backrest_sidecar_uncovered_volumes (\d+)/.exec(
        await tm!.manager.get<MetricsRegistry>(MetricsRegistry).metrics(),
      )?.[1];
    expect(lists).to.deep.equal(['{}']);
    expect(await gauge()).to.equal('1'); // `loose` of the unlabeled container
    await tm.advance(5 * MINUTE);
    expect(lists).to.have.length(1);
    // The unlabeled container went away: only it is listed, and the gauge follows.
    containers.pop();
    event('other-id');
    await tm.advance(MINUTE);
    expect(lists.slice(1)).to.deep.equal(['{"id":["other-id"]}']);
    expect(await gauge()).to.equal('0');
    // A change right before the count: the list may lag it, so it is listed again once the
    // list shows it (not at the next resync), then no more.
    event('db-id', tm.clock.now() + MINUTE - 500);
    await tm.advance(MINUTE);
    expect(lists.slice(2)).to.deep.equal(['{"id":["db-id"]}']);
    await tm.advance(LIST_LAG_MS);
    expect(lists.slice(2)).to.deep.equal(['{"id":["db-id"]}', '{"id":["db-id"]}']);
    await tm.advance(3 * MINUTE);
    expect(lists).to.have.length(4);
    // Events missed (a reconnect): the whole host again.
    host.known = false;
    event('x');
    await tm.advance(MINUTE);
    expect(lists.slice(4)).to.deep.equal(['{}']);
  });

  it('lists the repository on its own period, not on every resync', async () => {
    const config = path.join(dir, 'config.json');
    await writeFile(
      config,
      JSON.stringify({ repos: [{ id: 'r', uri: '/repos/r', password: 'pw' }] }),
    );
    const { actions, oneShots } = fakeActions([], async () => ({ exitCode: 0, lines: ['[]'] }));
    tm = manager(actions, { backrestConfig: config, inventoryPeriodMs: 15 * MINUTE });
    await tm.docker.run({ name: 'db', labels });
    await tm.start();
    await tm.advance(60 * MINUTE);
    // At 0, 15, 30, 45 and 60 minutes (it was once a minute: 61).
    const listings = () => oneShots.filter((c) => c[0] === 'snapshots').length;
    expect(listings()).to.equal(5);
    // The retention controller removed snapshots after that listing: the counts are behind, so
    // the repository is listed again (once), without waiting for the period.
    await tm.advance(1000);
    const other = new WorkloadStatusStore({ stateDir: dir, now: () => tm!.clock.now() });
    await other.update('db', (s) => {
      s.retention = removalNow();
    });
    await tm.advance(MINUTE);
    expect(listings()).to.equal(6);
    await tm.advance(5 * MINUTE);
    expect(listings()).to.equal(6);
  });

  it("follows this process's own status writes without reconciling their workloads again", async () => {
    const config = path.join(dir, 'config.json');
    await writeFile(
      config,
      JSON.stringify({ repos: [{ id: 'r', uri: '/repos/r', password: 'pw' }] }),
    );
    const names = ['w1', 'w2', 'w3'];
    const { actions, oneShots } = fakeActions(
      names.map((n) => info(n, labels, `${n}data`)),
      async () => ({ exitCode: 0, lines: ['[]'] }),
    );
    tm = manager(actions, { backrestConfig: config, inventoryPeriodMs: 15 * MINUTE });
    for (const name of names) await tm.docker.run({ name, labels });
    await tm.start();
    await tm.advance(2 * MINUTE); // the files written at start are looked at once more
    const listings = () => oneShots.filter((c) => c[0] === 'snapshots').length;
    const listedBefore = listings();
    const reconciled = () =>
      tm!
        .logs()
        .flatMap((l) =>
          l.action === 'reconcile.start' && l.controller === 'backup' ? [String(l.key)] : [],
        );
    const seen = reconciled().length;
    // The retention controller (this process, the same store) writes a condition on every
    // workload, as it does at start, and on w1 a pass that removed a snapshot; on w2, a backup.
    const time = new Date(tm.clock.now()).toISOString();
    const store = tm.manager.get<WorkloadStatusStore>(WorkloadStatusStore);
    for (const name of names) {
      await store.update(name, (s) => {
        store.applyCondition(s, {
          type: 'RetentionSatisfied',
          status: 'Unknown',
          reason: 'LeftToRcbPolicy',
          message: 'left to rcb',
        });
        if (name === 'w2') {
          s.lastBackup = { time, engine: 'restic', source: 'run', snapshotId: 'beef0002' };
        }
        if (name !== 'w1') return;
        s.retention = removalNow();
      });
    }
    // The listing that w1's removal calls for is done before the next look (its write is ours
    // too, but one that lands while the look stats the file may be reported: one extra reconcile).
    await tm.settle();
    await tm.advance(MINUTE);
    // The aggregate keys and the repository listing the removal calls for; no workload (the
    // next look took the three writes for another process's and reconciled each).
    expect(
      reconciled()
        .slice(seen)
        .filter((k) => k.startsWith('BackupWorkload/')),
    ).to.deep.equal([]);
    expect(listings()).to.equal(listedBefore + 1);
    const text = await tm.manager.get<MetricsRegistry>(MetricsRegistry).metrics();
    const gauge = /backrest_sidecar_workload_last_success_timestamp_seconds\{workload="w2"\} (\d+)/;
    expect(Number(gauge.exec(text)?.[1])).to.equal(Date.parse(time) / 1000);
  });

  it('a status this process writes is followed once: by the write listener, not again by the reconcile that wrote it', async () => {
    const names = ['w1', 'w2'];
    const { actions } = fakeActions(
      names.map((n) => info(n, labels, `${n}data`)),
      async () => ({ exitCode: 0, lines: [] }),
    );
    // Every status the gauges take, by identity: the object a write produced is one status.
    const observed = new Map<object, number>();
    const original = BackupMetrics.prototype.observe;
    BackupMetrics.prototype.observe = function (this: BackupMetrics, s) {
      observed.set(s, (observed.get(s) ?? 0) + 1);
      original.call(this, s);
    };
    try {
      tm = manager(actions);
      for (const name of names) await tm.docker.run({ name, labels });
      await tm.start();
      await tm.advance(5 * MINUTE);
    } finally {
      BackupMetrics.prototype.observe = original;
    }
    // Each workload's first reconcile writes its status (BackedUp Unknown, the schedule).
    expect(observed.size).to.be.greaterThan(names.length - 1);
    expect([...observed.values()].filter((n) => n > 1)).to.deep.equal([]);
  });
});
