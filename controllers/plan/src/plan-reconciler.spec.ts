import { expect } from 'chai';
import { mkdtemp, readFile, rm, writeFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigSink, type PlanChanges } from '@backrest-sidecar/config-sink';
import { readFileSync } from 'node:fs';
import {
  InMemoryConditionStore,
  InMemoryEventRecorder,
  VirtualClock,
  MemoryLogStream,
  createLogger,
  createNullLogger,
  type Cache,
  type ReconcileContext,
  type RejectedResource,
  type Resource,
} from '@dockop/runtime';
import type { ApplyOutcome } from './apply.js';
import { ApplyState } from './apply-state.js';
import { defaultPlanDefaults, type WorkloadStatus } from './plan-builder.js';
import type { PlanControllerOptions } from './plan-controller-options.js';
import { PlanReconciler } from './plan-reconciler.js';
import { PlanReport, exitCodeOf, type PlanEntry } from './plan-report.js';

/** A plan reconcile's context over `cache`: fresh event and condition stores, no logs, no settling. */
function contextOver(
  cache: ReconcileContext['cache'],
  clock: ReconcileContext['clock'],
): ReconcileContext {
  return {
    signal: new AbortController().signal,
    logger: createNullLogger(),
    recorder: new InMemoryEventRecorder(),
    conditions: new InMemoryConditionStore(),
    cache,
    clock,
    settle: () => {},
  };
}

function resource(
  name: string,
  spec: Record<string, unknown>,
  status: Partial<WorkloadStatus> = {},
  labels: Record<string, string> = {},
): Resource {
  return {
    apiVersion: 'backrest.dockop.io/v1alpha1',
    kind: 'BackupWorkload',
    metadata: {
      name,
      uid: name,
      labels,
      annotations: {},
      generation: 1,
      resourceVersion: '1',
      creationTimestamp: '',
    },
    spec: { enable: true, ...spec },
    status: {
      name,
      mounts: [{ type: 'volume', name: `${name}_data`, source: '', destination: '/data' }],
      ...status,
    },
  };
}

class ListCache implements Cache {
  constructor(
    public items: Resource[],
    public refused: RejectedResource[] = [],
  ) {}
  rejected(kind: string): RejectedResource[] {
    return this.refused.filter((r) => r.key.startsWith(`${kind}/`));
  }
  get<T extends Resource>(key: string): T | undefined {
    return this.items.find((r) => `${r.kind}/${r.metadata.name}` === key) as T | undefined;
  }
  list<T extends Resource>(kind: string): T[] {
    return this.items.filter((r) => r.kind === kind) as T[];
  }
  byLabel<T extends Resource>(): T[] {
    return [];
  }
  hasSynced(): boolean {
    return true;
  }
}

/** The apply worker's state, counting the writes handed to it; `settle` plays the worker. */
class CountingApplier extends ApplyState {
  calls = 0;
  constructor() {
    super('backrest');
  }
  override written(before: string, after: string): void {
    this.calls++;
    super.written(before, after);
  }
  settle(outcome: ApplyOutcome): void {
    const p = this.pending();
    if (p) this.settled(p.seq, p.written, outcome);
  }
}

describe('PlanReconciler (real ConfigSink on a temp dir)', () => {
  let dir: string;
  let configPath: string;
  const clock = new VirtualClock();

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'plan-reconciler-'));
    configPath = path.join(dir, 'config.json');
    await writeFile(
      configPath,
      JSON.stringify({
        repos: [{ id: 'default', type: 'local', url: '/repo' }],
        plans: [
          {
            id: 'manual_plan',
            repo: 'default',
            schedule: '0 1 * * *',
            sources: ['/etc'],
            exclude: [],
            hooks: { pre: [], post: [] },
            retention: { spec: 'daily=1' },
          },
          {
            id: 'backrest_sidecar_gone',
            repo: 'default',
            schedule: '0 1 * * *',
            sources: ['/old'],
            exclude: [],
            hooks: { pre: [], post: [] },
            retention: { spec: 'daily=1' },
          },
        ],
      }),
    );
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  function setup(
    items: Resource[],
    opts: Partial<PlanControllerOptions> = {},
    applier = new CountingApplier(),
    ctxClock: VirtualClock = clock,
    refused: RejectedResource[] = [],
  ) {
    const options: PlanControllerOptions = { configPath, defaults: defaultPlanDefaults(), ...opts };
    const report = new PlanReport();
    const reconciler = new PlanReconciler(
      options,
      new ConfigSink({ path: configPath }),
      applier,
      report,
    );
    const ctx = contextOver(new ListCache(items, refused), ctxClock);
    const run = async () =>
      reconciler.reconcile(
        { key: reconciler.configKey, kind: 'BackrestConfig', name: configPath },
        ctx,
      );
    return { reconciler, report, ctx, run, applier };
  }

  it('writes our plans, keeps plans we do not own, keeps orphans without --prune, applies once', async () => {
    const { report, run, applier, ctx } = setup([
      resource('web', {}),
      resource('db', { keep: 'last=3' }),
    ]);
    await run();
    const doc = JSON.parse(await readFile(configPath, 'utf8'));
    expect(doc.plans.map((p: { id: string }) => p.id)).to.deep.equal([
      'backrest_sidecar_db',
      'backrest_sidecar_gone',
      'backrest_sidecar_web',
      'manual_plan',
    ]);
    expect(doc.plans[0].sources).to.deep.equal(['/var/lib/docker/volumes/db_data/_data']);
    expect(doc.plans[0].retention).to.deep.equal({ spec: 'last=3' });
    expect(applier.calls).to.equal(1);
    expect(exitCodeOf(report.last)).to.equal(0);
    expect(
      report.last?.entries.find((e: PlanEntry) => e.planId === 'backrest_sidecar_gone')?.state,
    ).to.equal('Orphaned');
    expect(ctx.conditions.get('BackupWorkload/web', 'Ready')?.status).to.equal('True');

    // Second run: nothing changes, nothing applied, exit 2.
    const again = setup([resource('web', {}), resource('db', { keep: 'last=3' })], {}, applier);
    const before = await stat(configPath);
    await again.run();
    expect((await stat(configPath)).mtimeMs).to.equal(before.mtimeMs);
    expect(applier.calls).to.equal(1);
    expect(exitCodeOf(again.report.last)).to.equal(2);
  });

  it('a retention edited by hand in a plan without a keep label is kept: UpToDate, no write', async () => {
    await setup([resource('web', {})]).run();
    const doc = JSON.parse(await readFile(configPath, 'utf8'));
    const web = doc.plans.find((p: { id: string }) => p.id === 'backrest_sidecar_web');
    expect(web.retention).to.deep.equal({ spec: 'daily=7,weekly=4' });
    web.retention = { spec: 'last=30' };
    await writeFile(configPath, `${JSON.stringify(doc, null, 2)}\n`);
    const before = await stat(configPath);
    const again = setup([resource('web', {})]);
    await again.run();
    expect((await stat(configPath)).mtimeMs).to.equal(before.mtimeMs);
    expect(
      again.report.last?.entries.find((e: PlanEntry) => e.planId === 'backrest_sidecar_web')
        ?.reason,
    ).to.equal('UpToDate');
    // A keep label still wins over the hand edit.
    await setup([resource('web', { keep: 'last=2' })]).run();
    const after = JSON.parse(await readFile(configPath, 'utf8'));
    expect(
      after.plans.find((p: { id: string }) => p.id === 'backrest_sidecar_web').retention,
    ).to.deep.equal({ spec: 'last=2' });
  });

  it('--prune removes our orphans but never a plan with another prefix', async () => {
    const { run } = setup([resource('web', {})], { prune: true });
    await run();
    const ids = JSON.parse(await readFile(configPath, 'utf8')).plans.map(
      (p: { id: string }) => p.id,
    );
    expect(ids).to.deep.equal(['backrest_sidecar_web', 'manual_plan']);
  });

  it('dry run writes nothing, reports the diff and exits 2', async () => {
    const original = await readFile(configPath, 'utf8');
    const { report, run, applier } = setup([resource('web', {})], { dryRun: true });
    await run();
    expect(await readFile(configPath, 'utf8')).to.equal(original);
    expect(report.last?.diff).to.include('backrest_sidecar_web');
    expect(
      report.last?.entries.filter((e: PlanEntry) => e.changed).map((e: PlanEntry) => e.planId),
    ).to.deep.equal(['backrest_sidecar_web']);
    expect(applier.calls).to.equal(0);
    expect(exitCodeOf(report.last)).to.equal(2);
  });

  it('a skipped plan gives Skipped conditions, a Warning event on the workload and exit 3', async () => {
    const { report, run, ctx } = setup([resource('web', {}), resource('bad', { repo: 'nope' })]);
    await run();
    expect(ctx.conditions.get('BackupWorkload/bad', 'Skipped')).to.include({
      status: 'True',
      reason: 'RepoMissing',
    });
    expect(ctx.recorder.list('BackupWorkload/bad')[0]).to.include({
      type: 'Warning',
      reason: 'RepoMissing',
    });
    expect(exitCodeOf(report.last)).to.equal(3);
  });

  it('counts workloads the cache refused as skipped (InvalidSpec): exit 3, plan.skipped, old plan kept', async () => {
    const stream = new MemoryLogStream();
    const refused: RejectedResource[] = [
      {
        key: 'BackupWorkload/gone-c1',
        name: 'gone-c1',
        reason: 'InvalidSpec',
        message: 'BackupWorkload/gone-c1: label backrest.schedule="61 * * * *": bad minute',
        labels: { 'backrest.enable': 'true', team: 'a' },
        status: { name: 'gone-c1', compose: { service: 'gone' } },
      },
      {
        key: 'BackupWorkload/raw',
        name: 'raw',
        reason: 'LabelTooLong',
        message: 'container "raw" label "backrest.x": too long',
        labels: { team: 'a' },
      },
      {
        key: 'BackupWorkload/other-team',
        name: 'other-team',
        reason: 'InvalidSpec',
        message: 'not ours',
        labels: { team: 'b' },
      },
      { key: 'OtherKind/x', name: 'x', reason: 'InvalidSpec', message: 'another kind' },
    ];
    const { report, run, ctx } = setup(
      [resource('web', {}, {}, { team: 'a' })],
      { dryRun: true, prune: true, selector: { team: 'a' } },
      undefined,
      clock,
      refused,
    );
    ctx.logger = createLogger({ level: 'info', format: 'json', stream: stream.writable });
    await run();
    const skipped = report.last?.entries.filter((e: PlanEntry) => e.state === 'Skipped') ?? [];
    expect(
      skipped.map((e: PlanEntry) => [e.planId, e.container, e.reason, e.message]),
    ).to.deep.equal([
      ['backrest_sidecar_gone', 'gone-c1', 'InvalidSpec', refused[0]!.message],
      ['raw', 'raw', 'InvalidSpec', refused[1]!.message],
    ]);
    expect(exitCodeOf(report.last)).to.equal(3);
    expect(report.last?.seen).to.equal(3);
    // backrest_sidecar_gone is the refused workload's id: kept even with --prune, not an orphan.
    expect(report.last?.diff).to.not.include('backrest_sidecar_gone');
    expect(report.last?.entries.some((e: PlanEntry) => e.state === 'Removed')).to.equal(false);
    const lines = stream.lines;
    const skipLog = lines.find(
      (l) => l['action'] === 'plan.skipped' && l['plan_id'] === 'backrest_sidecar_gone',
    );
    expect(skipLog).to.include({
      level: 'warn',
      container: 'gone-c1',
      reason: 'InvalidSpec',
      // The cache's Warning event carries the message: logged once, pointed at here.
      see: 'event BackupWorkload/gone-c1',
      changed: false,
    });
    expect(skipLog).to.not.have.property('error');
    expect(lines.filter((l) => l['action'] === 'plan.skipped')).to.have.length(2);
    expect(lines.find((l) => l['action'] === 'dry-run.complete')).to.include({
      plans_seen: 3,
      plans_skipped: 2,
    });
    expect(ctx.conditions.get('BackupWorkload/gone-c1', 'Skipped')).to.include({
      status: 'True',
      reason: 'InvalidSpec',
    });
    // The cache records the InvalidSpec Warning; the reconciler does not repeat it.
    expect(ctx.recorder.list('BackupWorkload/gone-c1')).to.deep.equal([]);
  });

  it('invalid config JSON is fatal (exit 1) and the file is untouched', async () => {
    await writeFile(configPath, '{ not json');
    const { report, run } = setup([resource('web', {})]);
    let thrown: unknown;
    await run().catch((e) => (thrown = e));
    expect(thrown).to.be.instanceOf(Error);
    expect(await readFile(configPath, 'utf8')).to.equal('{ not json');
    expect(report.last?.fatal?.code).to.equal('InvalidJson');
    expect(exitCodeOf(report.last)).to.equal(1);
  });

  it('daemon mode logs plan.rendered at info only for a changed plan; a one-shot run lists all', async () => {
    const stream = new MemoryLogStream();
    const items = [resource('web', {})];
    const daemon = setup(items, { mode: 'daemon' });
    daemon.ctx.logger = createLogger({ level: 'info', format: 'json', stream: stream.writable });
    const rendered = () => stream.lines.filter((l) => l['action'] === 'plan.rendered');
    await daemon.run();
    expect(rendered().map((l) => [l['plan_id'], l['changed']])).to.deep.equal([
      ['backrest_sidecar_web', true],
    ]);
    // A resync that finds nothing changed: no per-plan line at info.
    await daemon.run();
    expect(rendered()).to.have.length(1);
    const once = setup(items, {});
    once.ctx.logger = createLogger({ level: 'info', format: 'json', stream: stream.writable });
    await once.run();
    expect(rendered().map((l) => [l['plan_id'], l['changed']])).to.deep.equal([
      ['backrest_sidecar_web', true],
      ['backrest_sidecar_web', false],
    ]);
  });

  it('daemon: a resync with the same workloads and an untouched config renders nothing; any change renders again', async () => {
    const sink = new ConfigSink({ path: configPath });
    let loads = 0;
    const store = {
      load: () => (loads++, sink.load()),
      revision: () => sink.revision(),
      preview: (c: PlanChanges) => sink.preview(c),
      commit: (c: PlanChanges) => sink.commit(c),
      rollback: () => sink.rollback(),
    };
    const items = [resource('web', {})];
    const cache = new ListCache(items);
    // No orphan waiting (it would requeue): prune the hand-made `gone` plan at once.
    const options = { configPath, defaults: defaultPlanDefaults(), mode: 'daemon' as const };
    const reconciler = new PlanReconciler(
      { ...options, orphanGraceMs: 0 },
      store,
      new CountingApplier(),
      new PlanReport(),
    );
    const ctx = contextOver(cache, clock);
    const run = () =>
      reconciler.reconcile(
        { key: reconciler.configKey, kind: 'BackrestConfig', name: configPath },
        ctx,
      );
    await run(); // writes web, removes gone
    await run(); // settles: unchanged, recorded
    expect(loads).to.equal(2);
    await run();
    await run();
    expect(loads, 'resyncs of an idle host load nothing').to.equal(2);

    // Someone else rewrites the file (Backrest's own save dropping our plan): rendered again.
    const doc = JSON.parse(await readFile(configPath, 'utf8'));
    doc.plans = doc.plans.filter((p: { id: string }) => p.id !== 'backrest_sidecar_web');
    await writeFile(configPath, JSON.stringify(doc));
    await run();
    expect(loads).to.equal(3);
    const ids = () =>
      JSON.parse(readFileSync(configPath, 'utf8')).plans.map((p: { id: string }) => p.id);
    expect(ids()).to.include('backrest_sidecar_web');

    // A new version of a workload (its source bumped resourceVersion): rendered again.
    await run();
    expect(loads, 'settled again after its own write').to.equal(3);
    items[0] = resource('web', { keep: 'last=2' });
    items[0].metadata.resourceVersion = '2';
    await run();
    expect(loads).to.equal(4);
    // A refused workload appearing is an input too.
    cache.refused.push({
      key: 'BackupWorkload/bad',
      name: 'bad',
      reason: 'InvalidSpec',
      message: 'BackupWorkload/bad: label backrest.schedule="x": bad',
    });
    await run();
    expect(loads).to.equal(5);
  });

  it('daemon: the config secret values are passed on unread; the report gives them when asked', async () => {
    const sink = new ConfigSink({ path: configPath });
    let reads = 0;
    // The sink's result, its secretValues counted when read.
    const counted = <T extends object>(r: T): T => {
      const d = Object.getOwnPropertyDescriptor(r, 'secretValues');
      Object.defineProperty(r, 'secretValues', {
        enumerable: true,
        configurable: true,
        get: () => (reads++, d?.get ? (d.get.call(r) as unknown) : d?.value),
      });
      return r;
    };
    const store = {
      load: () => sink.load(),
      revision: () => sink.revision(),
      preview: async (c: PlanChanges) => counted(await sink.preview(c)),
      commit: async (c: PlanChanges) => counted(await sink.commit(c)),
      rollback: () => sink.rollback(),
    };
    const report = new PlanReport();
    const reconciler = new PlanReconciler(
      { configPath, defaults: defaultPlanDefaults(), mode: 'daemon', orphanGraceMs: 0 },
      store,
      new CountingApplier(),
      report,
    );
    const ctx = contextOver(new ListCache([resource('web', {})]), clock);
    await reconciler.reconcile(
      { key: reconciler.configKey, kind: 'BackrestConfig', name: configPath },
      ctx,
    );
    expect(report.last?.written).to.equal(true);
    expect(reads, 'the render reads no secret values').to.equal(0);
    expect(report.last?.secretValues).to.be.an('array');
    expect(reads).to.equal(1);
  });

  it('daemon mode removes an orphan only after the grace period, and not if it comes back', async () => {
    const vclock = new VirtualClock();
    const items = [resource('web', {})];
    const { run } = setup(items, { mode: 'daemon', orphanGraceMs: 60_000 }, undefined, vclock);
    const first = await run();
    expect(first).to.deep.equal({ requeueAfter: 60_000 });
    let ids = JSON.parse(await readFile(configPath, 'utf8')).plans.map((p: { id: string }) => p.id);
    expect(ids).to.include('backrest_sidecar_gone');
    vclock.advance(60_000);
    await run();
    ids = JSON.parse(await readFile(configPath, 'utf8')).plans.map((p: { id: string }) => p.id);
    expect(ids).to.not.include('backrest_sidecar_gone');
    // web disappears (recreate) and comes back within the grace: never removed.
    items.length = 0;
    await run();
    vclock.advance(30_000);
    items.push(resource('web', {}));
    await run();
    vclock.advance(60_000);
    await run();
    ids = JSON.parse(await readFile(configPath, 'utf8')).plans.map((p: { id: string }) => p.id);
    expect(ids).to.include('backrest_sidecar_web');
  });

  it('after a failed apply with rollback, the same content is not written again', async () => {
    const applier = new CountingApplier();
    const sink = new ConfigSink({ path: configPath });
    const report = new PlanReport();
    const reconciler = new PlanReconciler(
      { configPath, defaults: defaultPlanDefaults() },
      {
        load: () => sink.load(),
        preview: (c) => sink.preview(c),
        commit: (c) => sink.commit(c),
        rollback: () => sink.rollback(),
      },
      applier,
      report,
    );
    const ctx = contextOver(new ListCache([resource('web', {})]), clock);
    const req = { key: reconciler.configKey, kind: 'BackrestConfig', name: configPath };
    await reconciler.reconcile(req, ctx);
    expect(applier.calls).to.equal(1);
    applier.settle({ status: 'failed', rolledBack: true, message: 'died' });
    await sink.rollback();
    await reconciler.reconcile(req, ctx);
    expect(applier.calls).to.equal(1);
    expect(ctx.recorder.all().map((e) => e.reason)).to.include('ApplyRefused');
  });
});
