import { expect } from 'chai';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type Dockerode from 'dockerode';
import {
  BackupCompletedTrigger,
  RepositoryLock,
  WorkloadStatusStore,
  backrestApiModule,
  workloadStatusModule,
} from '@backrest-sidecar/api';
import { ContainerActions, DockerClient } from '@dockop/docker';
import { MetricsRegistry, type KeyTrigger } from '@dockop/runtime';
import { TestManager } from '@dockop/testing';
import { ContainerModule } from 'inversify';
import { RetentionControllerOptions } from './retention-controller-options.js';
import { retentionModule } from './retention-module.js';

const HOUR = 3_600_000;
const HOST = 'test-host';

/** A running container as `GET /containers/json` lists it. */
function info(name: string, labels: Record<string, string>): Dockerode.ContainerInfo {
  return {
    Id: `${name}-id`,
    Names: [`/${name}`],
    Image: 'busybox',
    ImageID: 'sha256:1',
    State: 'running',
    Labels: labels,
    Mounts: [],
  } as unknown as Dockerode.ContainerInfo;
}

/** What the fake restic answers: `snapshots` lists one snapshot of /volumes/app, `forget` a group. */
interface FakeRestic {
  forgets: string[][];
  /** The next forget fails with this stderr line (until cleared). */
  failWith?: string;
}

function fakeActions(containers: Dockerode.ContainerInfo[], restic: FakeRestic): ContainerActions {
  const matches = (c: Dockerode.ContainerInfo, f: string): boolean => {
    const eq = f.indexOf('=');
    return eq < 0 ? Object.hasOwn(c.Labels, f) : c.Labels[f.slice(0, eq)] === f.slice(eq + 1);
  };
  const snap = (id: string) => ({
    id: `${id}${'0'.repeat(56)}`,
    short_id: id,
    time: '2026-01-01T00:00:00Z',
    paths: ['/volumes/app'],
    hostname: HOST,
    tags: ['backrest-sidecar', 'container:app'],
  });
  return {
    list: async (filters: Record<string, string[]>) =>
      containers.filter((c) => (filters.label ?? []).every((f) => matches(c, f))),
    runOneShot: async (
      spec: { cmd: string[] },
      opts: { onLog?: (l: string, s: 'stdout' | 'stderr') => void },
    ) => {
      const [command] = spec.cmd;
      if (command === 'snapshots') {
        opts.onLog?.(
          JSON.stringify([snap('aaaa1111'), snap('bbbb2222'), snap('cccc3333')]),
          'stdout',
        );
        return { exitCode: 0, durationMs: 1 };
      }
      if (command === 'forget') {
        restic.forgets.push(spec.cmd);
        if (restic.failWith) {
          opts.onLog?.(restic.failWith, 'stderr');
          return { exitCode: 1, durationMs: 1 };
        }
        const group = {
          tags: null,
          host: HOST,
          paths: ['/volumes/app'],
          keep: [snap('bbbb2222'), snap('cccc3333')],
          remove: [snap('aaaa1111')],
          reasons: [],
        };
        opts.onLog?.(JSON.stringify([group]), 'stdout');
        return { exitCode: 0, durationMs: 1 };
      }
      throw new Error(`unexpected restic ${spec.cmd.join(' ')}`);
    },
  } as unknown as ContainerActions;
}

const client = {
  request: async (_op: string, fn: (d: unknown) => unknown) =>
    fn({ info: async () => ({ Name: HOST }) }),
} as unknown as DockerClient;

describe('RetentionController (daemon mode, fake engine and restic, virtual time)', () => {
  let dir: string;
  let tm: TestManager | undefined;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'retention-controller-'));
  });
  afterEach(async () => {
    await tm?.stop();
    tm = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  function manager(
    containers: Dockerode.ContainerInfo[],
    restic: FakeRestic,
    options: Partial<RetentionControllerOptions> = {},
  ): TestManager {
    return new TestManager({
      modules: [
        backrestApiModule,
        workloadStatusModule(dir),
        new ContainerModule((o) => {
          o.bind<ContainerActions>(ContainerActions).toConstantValue(
            fakeActions(containers, restic),
          );
          o.bind<DockerClient>(DockerClient).toConstantValue(client);
          o.bind<RetentionControllerOptions>(RetentionControllerOptions).toConstantValue({
            mode: 'daemon',
            restic: { kind: 'container', image: 'restic' },
            resticHost: HOST,
            trustImageLabels: true,
            periodMs: 24 * HOUR,
            resyncPeriodMs: HOUR,
            ...options,
          });
        }),
        retentionModule(),
      ],
    });
  }

  async function condition(name: string): Promise<string | undefined> {
    const s = await tm!.manager.get<WorkloadStatusStore>(WorkloadStatusStore).get(name);
    const c = s?.conditions.find((x) => x.type === 'RetentionSatisfied');
    return c ? `${c.status}/${c.reason}` : undefined;
  }

  /** A backup of `name` recorded now (what the backup controller writes before its trigger). */
  async function backedUp(name: string, settle = true): Promise<void> {
    const store = tm!.manager.get<WorkloadStatusStore>(WorkloadStatusStore);
    await store.update(name, (s) => {
      s.lastBackup = {
        time: new Date(tm!.clock.now()).toISOString(),
        engine: 'restic',
        source: 'run',
      };
    });
    tm!.manager.get<KeyTrigger>(BackupCompletedTrigger).fire('BackupWorkload/app');
    if (settle) await tm!.settle();
  }

  it('applies the policy at start, after each new backup and daily; a trigger without a new backup costs no restic', async () => {
    const labels = { 'backrest.enable': 'true', 'backrest.keep': 'last=2' };
    const restic: FakeRestic = { forgets: [] };
    tm = manager([info('app', labels)], restic);
    await tm.docker.run({ name: 'app', labels });
    await tm.start();
    expect(restic.forgets).to.have.length(1);
    expect(restic.forgets[0]).to.include.members(['--keep-last', '2', '--host', HOST]);
    expect(await condition('app')).to.equal('True/PolicyApplied');
    const status = await tm.manager.get<WorkloadStatusStore>(WorkloadStatusStore).get('app');
    expect(status?.retention).to.deep.include({
      keep: 'last=2',
      outcome: 'forgotten',
      kept: 2,
      removed: 1,
      removedIds: ['aaaa1111'],
    });
    expect(status?.events.map((e) => e.reason)).to.include('RetentionApplied');

    // Hourly resyncs for 23 h: nothing is due, and at rest no workload's status is even read.
    const store = tm.manager.get<WorkloadStatusStore>(WorkloadStatusStore);
    let reads = 0;
    const get = store.get.bind(store);
    const update = store.update.bind(store);
    store.get = (...a: Parameters<typeof get>) => (reads++, get(...a));
    store.update = (...a: Parameters<typeof update>) => (reads++, update(...a));
    for (let h = 0; h < 23; h++) await tm.advance(HOUR);
    expect(restic.forgets).to.have.length(1);
    expect(reads).to.equal(0);

    // A backup completed: applied right away, once the repository is ours (a backup run holds
    // the RepositoryLock while it writes: a forget meanwhile would make restic fail).
    const lock = tm.manager.get<RepositoryLock>(RepositoryLock);
    const release = await lock.acquire();
    await backedUp('app', false);
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    expect(restic.forgets).to.have.length(1);
    release();
    await tm.settle();
    expect(restic.forgets).to.have.length(2);
    // The trigger again with no new snapshot: not due.
    tm.manager.get<KeyTrigger>(BackupCompletedTrigger).fire('BackupWorkload/app');
    await tm.settle();
    expect(restic.forgets).to.have.length(2);

    // 24 h after the last pass: the daily pass.
    await tm.advance(24 * HOUR + 1000);
    expect(restic.forgets).to.have.length(3);
    const metrics = await tm.manager.get<MetricsRegistry>(MetricsRegistry).metrics();
    expect(metrics).to.match(
      /controller_runtime_reconcile_total\{controller="retention",result="requeue_after"\} [1-9]/,
    );
    expect(metrics).to.match(/backrest_sidecar_workload_retention_satisfied\{workload="app"\} 1/);
    expect(metrics).to.match(
      /backrest_sidecar_workload_retention_last_applied_timestamp_seconds\{workload="app"\} \d+/,
    );
  });

  it('a failing forget is RetentionSatisfied=False with the reason, retried with backoff until it passes', async () => {
    const labels = { 'backrest.enable': 'true', 'backrest.keep': 'daily=7' };
    const restic: FakeRestic = {
      forgets: [],
      failWith: 'Fatal: unable to create lock in backend: repository is already locked',
    };
    tm = manager([info('app', labels)], restic);
    await tm.docker.run({ name: 'app', labels });
    await tm.start();
    expect(await condition('app')).to.equal('False/ForgetFailed');
    const store = tm.manager.get<WorkloadStatusStore>(WorkloadStatusStore);
    const s = await store.get('app');
    expect(s?.conditions.find((c) => c.type === 'RetentionSatisfied')?.message).to.contain(
      'already locked',
    );
    expect(s?.retention?.outcome).to.equal('failed');
    expect(s?.events.find((e) => e.reason === 'ForgetFailed')?.type).to.equal('Warning');
    const metrics = await tm.manager.get<MetricsRegistry>(MetricsRegistry).metrics();
    expect(metrics).to.match(
      /controller_runtime_reconcile_errors_total\{controller="retention"\} [1-9]/,
    );
    expect(metrics).to.match(/backrest_sidecar_workload_retention_satisfied\{workload="app"\} 0/);

    // The lock goes away: the next retry (backoff, well under a minute) applies the policy.
    const failed = restic.forgets.length;
    delete restic.failWith;
    await tm.advance(60_000);
    expect(restic.forgets.length).to.be.greaterThan(failed);
    expect(await condition('app')).to.equal('True/PolicyApplied');
  });

  it('a new keep label is applied at once; rcb engine: left to rcb, said once, no restic', async () => {
    const labels = { 'backrest.enable': 'true', 'backrest.keep': 'last=2' };
    const containers = [info('app', labels)];
    const restic: FakeRestic = { forgets: [] };
    tm = manager(containers, restic);
    await tm.docker.run({ name: 'app', labels });
    await tm.start();
    expect(restic.forgets).to.have.length(1);
    const relabeled = { ...labels, 'backrest.keep': 'last=5' };
    containers[0] = info('app', relabeled);
    await tm.docker.relabel('app', relabeled);
    await tm.settle();
    expect(restic.forgets).to.have.length(2);
    expect(restic.forgets[1]).to.include.members(['--keep-last', '5']);
    await tm.stop();

    const rcb: FakeRestic = { forgets: [] };
    tm = manager([info('app', labels), info('web', labels)], rcb, { engine: 'rcb' });
    await tm.docker.run({ name: 'app', labels });
    await tm.docker.run({ name: 'web', labels });
    await tm.start();
    expect(rcb.forgets).to.have.length(0);
    expect(await condition('app')).to.equal('Unknown/LeftToRcbPolicy');
    expect(await condition('web')).to.equal('Unknown/LeftToRcbPolicy');
  });

  it("Backrest's plan snapshots: a within term is enforced with its tags and --group-by ''; no within, or a repo forgetPolicy: left to Backrest, no restic", async () => {
    const config = path.join(dir, 'config.json');
    const write = (forgetPolicy?: unknown) =>
      writeFile(
        config,
        JSON.stringify({
          instance: 'bk-host',
          repos: [
            {
              id: 'r',
              uri: '/repos/r',
              password: 'pw-secret',
              ...(forgetPolicy ? { forgetPolicy } : {}),
            },
          ],
          plans: [{ id: 'backrest_sidecar_app', repo: 'r', paths: ['/srv/app'] }],
        }),
      );
    await write();
    const labels = { 'backrest.enable': 'true', 'backrest.keep': 'within=30d,last=3' };
    const containers = [info('app', labels)];
    const restic: FakeRestic = { forgets: [] };
    const options = { ownSnapshots: false, backrest: { configPath: config } };
    tm = manager(containers, restic, options);
    await tm.docker.run({ name: 'app', labels });
    await tm.start();
    expect(restic.forgets).to.have.length(1);
    const args = restic.forgets[0]!;
    expect(args.slice(0, 7)).to.deep.equal([
      'forget',
      '--tag',
      'plan:backrest_sidecar_app,created-by:bk-host',
      '--group-by',
      '',
      '--path',
      '/srv/app',
    ]);
    expect(args).to.include.members(['--keep-within', '30d', '--keep-last', '3']);
    expect(await condition('app')).to.equal('True/PolicyApplied');
    await tm.stop();

    // Backrest expresses last=3 itself: nothing for us to run.
    const owned = { ...labels, 'backrest.keep': 'last=3' };
    const r2: FakeRestic = { forgets: [] };
    tm = manager([info('app', owned)], r2, options);
    await tm.docker.run({ name: 'app', labels: owned });
    await tm.start();
    expect(r2.forgets).to.have.length(0);
    expect(await condition('app')).to.equal('Unknown/LeftToBackrest');
    await tm.stop();

    // A repository forgetPolicy overrides plan retention in Backrest: we step aside, saying so.
    await write({ schedule: { cron: '0 0 * * *' }, policyKeepLastN: 10 });
    const r3: FakeRestic = { forgets: [] };
    tm = manager(containers, r3, options);
    await tm.docker.run({ name: 'app', labels });
    await tm.start();
    expect(r3.forgets).to.have.length(0);
    expect(await condition('app')).to.equal('Unknown/RepoForgetPolicy');
    const s = await tm.manager.get<WorkloadStatusStore>(WorkloadStatusStore).get('app');
    expect(s?.retention?.message).to.contain('forgetPolicy');
  });

  it('without options the controller is inert: no keys, no restic', async () => {
    const labels = { 'backrest.enable': 'true', 'backrest.keep': 'last=2' };
    const restic: FakeRestic = { forgets: [] };
    tm = new TestManager({
      modules: [
        backrestApiModule,
        workloadStatusModule(dir),
        new ContainerModule((o) => {
          o.bind<ContainerActions>(ContainerActions).toConstantValue(
            fakeActions([info('app', labels)], restic),
          );
          o.bind<DockerClient>(DockerClient).toConstantValue(client);
        }),
        retentionModule(),
      ],
    });
    await tm.docker.run({ name: 'app', labels });
    await tm.start();
    tm.manager.get<KeyTrigger>(BackupCompletedTrigger).fire('BackupWorkload/app');
    await tm.settle();
    expect(restic.forgets).to.have.length(0);
    expect(await condition('app')).to.equal(undefined);
  });
});
