import { expect } from 'chai';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  BACKUP_WORKLOAD_KIND,
  backupWorkloadDefinition,
  backupWorkloadFormats,
  backupWorkloadSchema,
} from '@backrest-sidecar/api';
import { ConfigSink, type CommitResult, type PlanChanges } from '@backrest-sidecar/config-sink';
import {
  AjvSchemaRegistry,
  Controller,
  InMemoryConditionStore,
  InMemoryEventRecorder,
  MemoryLogStream,
  PrometheusMetrics,
  ResourceCache,
  VirtualClock,
  createLogger,
  type ControllerContribution,
  type JsonSchema,
  type Resource,
} from '@dockop/runtime';
import { ApplyState } from './apply-state.js';
import { defaultPlanDefaults } from './plan-builder.js';
import { PlanController } from './plan-controller.js';
import { PLAN_CONTROLLER_DEFAULTS, type PlanControllerOptions } from './plan-controller-options.js';
import { PlanReport } from './plan-report.js';

/** A container whose labels the BackupWorkload schema refuses (minute 61). */
function refusedWorkload(name: string, rv: string, schedule = '61 * * * *'): Resource {
  return {
    apiVersion: 'backrest.dockop.io/v1alpha1',
    kind: BACKUP_WORKLOAD_KIND,
    metadata: {
      name,
      uid: `id-${name}`,
      labels: { 'backrest.enable': 'true', 'backrest.schedule': schedule },
      annotations: {},
      generation: 1,
      resourceVersion: rv,
      creationTimestamp: '',
    },
    spec: { enable: 'true', schedule },
    status: { name, mounts: [] },
  };
}

/** The runtime's real cache (BackupWorkload schema), conditions, recorder and logger, on virtual time. */
function runtimeFixture(level: 'info' | 'debug' = 'info') {
  const clock = new VirtualClock(Date.UTC(2026, 0, 1));
  const schemas = new AjvSchemaRegistry();
  for (const f of backupWorkloadFormats()) schemas.addFormat(f);
  schemas.add(backupWorkloadSchema as unknown as JsonSchema);
  const conditions = new InMemoryConditionStore(clock);
  const recorder = new InMemoryEventRecorder({ clock });
  const cache = new ResourceCache({
    schemas,
    definitions: [backupWorkloadDefinition],
    conditions,
    recorder,
  });
  const stream = new MemoryLogStream();
  const logger = createLogger({ level, format: 'json', stream: stream.writable });
  return { clock, conditions, recorder, cache, sink: cache.sinkFor('docker'), stream, logger };
}

/** Each test of the enclosing describe gets a fresh temp dir with an empty sidecar config. */
function tempConfig(prefix: string): { configPath: string } {
  const tmp = { dir: '', configPath: '' };
  beforeEach(async () => {
    tmp.dir = await mkdtemp(path.join(tmpdir(), prefix));
    tmp.configPath = path.join(tmp.dir, 'config.json');
    await writeFile(
      tmp.configPath,
      `${JSON.stringify({ repos: [{ id: 'default', type: 'local', url: '/repo' }], plans: [] }, null, 2)}\n`,
    );
  });
  afterEach(async () => {
    await rm(tmp.dir, { recursive: true, force: true });
  });
  return tmp;
}

// The PlanController's watch, run by the runtime's real Controller over a real ResourceCache:
// a refusal alone (no valid event, no resync) must reach the reconciler and give plan.skipped.
describe('PlanController (daemon, refused workloads)', () => {
  const tmp = tempConfig('plan-controller-');

  function setup(opts: Partial<PlanControllerOptions> = {}) {
    const { configPath } = tmp;
    const { clock, conditions, recorder, cache, sink, stream, logger } = runtimeFixture();
    const options: PlanControllerOptions = {
      configPath,
      defaults: defaultPlanDefaults(),
      mode: 'daemon',
      ...opts,
    };
    const plan = new PlanController(
      options,
      new ConfigSink({ path: configPath }),
      new ApplyState('none'),
      new PlanReport(),
    );
    // Counts finished reconciles so the test can wait for the real file I/O they do.
    let reconciles = 0;
    const counted: ControllerContribution = {
      name: plan.name,
      watches: plan.watches,
      options: plan.options,
      reconciler: {
        reconcile: async (req, ctx) => {
          try {
            return await plan.reconciler.reconcile(req, ctx);
          } finally {
            reconciles++;
          }
        },
      },
    };
    const controller = new Controller(counted, { cache, logger, recorder, conditions, clock });
    /**
     * Lets virtual time pass, then waits for `n` reconciles. The reconciles do real file I/O
     * (write, fsync, rename), so the wait is bounded by wall time, generously: a count of
     * event-loop turns ran out on a loaded machine while an fsync was still in flight.
     */
    const reconciled = async (n: number, advanceMs: number): Promise<void> => {
      await clock.advanceAsync(advanceMs);
      const deadline = performance.now() + 20_000;
      while (
        reconciles < n ||
        controller.queue.len() > 0 ||
        controller.queue.processingCount() > 0
      ) {
        if (performance.now() > deadline)
          throw new Error(`${reconciles} reconciles, expected ${n}`);
        await new Promise((r) => setTimeout(r, 1));
        await clock.advanceAsync(0);
      }
      expect(reconciles).to.equal(n);
    };
    const actions = (from: number) => stream.lines.slice(from).map((l) => l['action']);
    return { clock, sink, stream, controller, conditions, reconciled, actions, cache };
  }

  const quietMs = PLAN_CONTROLLER_DEFAULTS.debounce.quietMs;

  it('a refused new workload alone triggers a reconcile that logs plan.skipped; repeats do not', async () => {
    const h = setup();
    h.controller.start();
    await h.reconciled(1, quietMs); // the initial key
    const mark = h.stream.lines.length;

    h.sink.upsert(refusedWorkload('db', '1'));
    expect(h.cache.list(BACKUP_WORKLOAD_KIND)).to.deep.equal([]); // nothing valid happened
    await h.reconciled(2, quietMs);
    const skipped = h.stream.lines.slice(mark).filter((l) => l['action'] === 'plan.skipped');
    expect(skipped).to.have.length(1);
    expect(skipped[0]).to.include({
      plan_id: 'backrest_sidecar_db',
      container: 'db',
      reason: 'InvalidSpec',
    });
    // The message is the cache's Warning event's; plan.skipped points at it (logged once).
    expect(skipped[0]!['see']).to.equal('event BackupWorkload/db');
    expect(h.conditions.get('BackupWorkload/db', 'Skipped')).to.include({
      status: 'True',
      reason: 'InvalidSpec',
    });

    // The source delivers the same refusal again (new resourceVersion, relist): no reconcile.
    h.sink.upsert(refusedWorkload('db', '2'));
    h.sink.replace([refusedWorkload('db', '3')]);
    await h.reconciled(2, 10 * PLAN_CONTROLLER_DEFAULTS.debounce.maxWaitMs);
    await h.controller.stop(0);
  });

  it('the same refusal is a warning once; a later reconcile logs it again only when it changed', async () => {
    const h = setup();
    h.controller.start();
    await h.reconciled(1, quietMs);
    const skips = (from: number) =>
      h.stream.lines
        .slice(from)
        .filter((l) => l['action'] === 'plan.skipped')
        .map((l) => `${String(l['level'])} ${String(l['container'])}`);

    h.sink.upsert(refusedWorkload('db', '1'));
    await h.reconciled(2, quietMs);
    let mark = h.stream.lines.length;
    // Another refusal reconciles the whole config: db's unchanged skip is not a warning again.
    h.sink.upsert(refusedWorkload('web', '1'));
    await h.reconciled(3, quietMs);
    expect(skips(mark)).to.deep.equal(['warn web']);
    mark = h.stream.lines.length;
    // db refused for another reason: a new problem, a new warning (web's is unchanged).
    h.sink.upsert(refusedWorkload('db', '2', '62 * * * *'));
    await h.reconciled(4, quietMs);
    expect(skips(mark)).to.deep.equal(['warn db']);
    await h.controller.stop(0);
  });

  it('the refused container destroyed: a reconcile without it', async () => {
    const h = setup();
    h.sink.upsert(refusedWorkload('db', '1'));
    h.controller.start();
    await h.reconciled(1, quietMs);
    expect(h.actions(0)).to.include('plan.skipped');
    const mark = h.stream.lines.length;

    h.sink.delete('BackupWorkload/db');
    await h.reconciled(2, quietMs);
    expect(h.actions(mark)).to.include('config.unchanged').and.not.include('plan.skipped');
    await h.controller.stop(0);
  });

  it('with --selector, events of containers outside it reconcile nothing', async () => {
    const h = setup({ selector: { team: 'a' } });
    h.controller.start();
    await h.reconciled(1, quietMs);
    const labeled = (name: string, team: string): Resource => {
      const r = refusedWorkload(name, '1');
      return { ...r, metadata: { ...r.metadata, labels: { ...r.metadata.labels, team } } };
    };
    h.sink.upsert(labeled('other', 'b'));
    h.sink.delete('BackupWorkload/other');
    await h.reconciled(1, 10 * PLAN_CONTROLLER_DEFAULTS.debounce.maxWaitMs);
    h.sink.upsert(labeled('ours', 'a'));
    await h.reconciled(2, quietMs);
    expect(h.actions(0)).to.include('plan.skipped');
    await h.controller.stop(0);
  });

  it('without --with-events a refusal reconciles nothing (the watch filters it like any event)', async () => {
    const h = setup({ watchEvents: false });
    h.controller.start();
    await h.reconciled(1, quietMs);
    h.sink.upsert(refusedWorkload('db', '1'));
    h.sink.delete('BackupWorkload/db');
    await h.reconciled(1, 10 * PLAN_CONTROLLER_DEFAULTS.debounce.maxWaitMs);
    await h.controller.stop(0);
  });
});

/** A container the schema accepts: one named volume. */
function validWorkload(name: string, labels: Record<string, string> = {}, rv = '1'): Resource {
  return {
    apiVersion: 'backrest.dockop.io/v1alpha1',
    kind: BACKUP_WORKLOAD_KIND,
    metadata: {
      name,
      uid: `id-${name}`,
      labels: { 'backrest.enable': 'true', ...labels },
      annotations: {},
      generation: 1,
      resourceVersion: rv,
      creationTimestamp: '',
    },
    spec: {
      enable: 'true',
      ...Object.fromEntries(
        Object.entries(labels).map(([k, v]) => [k.replace(/^backrest\./, ''), v]),
      ),
    },
    status: {
      name,
      mounts: [{ type: 'volume', name: `${name}_data`, source: '', destination: '/data' }],
    },
  };
}

// The plan set is one aggregate key; each workload's own result comes back through the
// controller's trigger, so a skipped or invalid workload is an error, never a success.
describe('PlanController: a skipped or invalid workload is not a successful reconcile', () => {
  const tmp = tempConfig('plan-outcomes-');

  function setup(mode: 'once' | 'daemon') {
    const { configPath } = tmp;
    const { clock, conditions, recorder, cache, sink, stream, logger } = runtimeFixture('debug');
    const metrics = new PrometheusMetrics();
    const plan = new PlanController(
      { configPath, defaults: defaultPlanDefaults(), mode },
      new ConfigSink({ path: configPath }),
      new ApplyState('none'),
      new PlanReport(),
    );
    const controller = new Controller(plan, {
      cache,
      logger,
      recorder,
      conditions,
      clock,
      metrics,
    });
    const count = async (result: string): Promise<number> => {
      const text = await metrics.registry.metrics();
      const m = text.match(
        new RegExp(
          `controller_runtime_reconcile_total\\{controller="plan",result="${result}"\\} (\\d+)`,
        ),
      );
      return m ? Number(m[1]) : 0;
    };
    return { sink, stream, controller, recorder, count, clock, cache };
  }

  it('one-shot: the refused and the skipped workload are errors (reported once), the planned one a success', async () => {
    const h = setup('once');
    h.sink.upsert(validWorkload('web'));
    h.sink.upsert(validWorkload('lost', { 'backrest.repo': 'nope' }));
    h.sink.upsert(refusedWorkload('db', '1'));
    const summary = await h.controller.runOnce();
    expect(summary).to.deep.include({ reconciled: 4, succeeded: 2, failed: 2 });
    const errors = [...summary.errors].sort((a, b) => a.key.localeCompare(b.key));
    expect(errors.map((e) => [e.key, e.terminal])).to.deep.equal([
      ['BackupWorkload/db', true],
      ['BackupWorkload/lost', true],
    ]);
    expect(errors[0]!.error).to.contain('backrest.schedule');
    expect(errors[1]!.error).to.contain('nope');
    expect(await h.count('success')).to.equal(2); // the config key and web
    expect(await h.count('error')).to.equal(2);
    // Each problem is told once: plan.skipped (warn) and one Warning event, no error line.
    const lines = h.stream.lines.filter((l) => l['action'] === 'reconcile.error');
    expect(lines.map((l) => l['level'])).to.deep.equal(['debug', 'debug']);
    expect(h.recorder.list('BackupWorkload/lost').map((e) => [e.type, e.count])).to.deep.equal([
      ['Warning', 1],
    ]);
    expect(h.recorder.list('BackupWorkload/db').map((e) => e.count)).to.deep.equal([1]);
  });

  it('one-shot: the workloads are listed once, by the render (no watch maps them all again)', async () => {
    const h = setup('once');
    for (const n of ['a', 'b', 'c']) h.sink.upsert(validWorkload(n));
    const kinds: string[] = [];
    const list = h.cache.list.bind(h.cache);
    (h.cache as { list: (kind: string) => unknown[] }).list = (kind) => {
      kinds.push(kind);
      return list(kind);
    };
    const summary = await h.controller.runOnce();
    expect(summary).to.deep.include({ reconciled: 4, succeeded: 4, failed: 0 });
    expect(kinds).to.deep.equal([BACKUP_WORKLOAD_KIND]);
  });

  it('daemon: an outcome is counted when it changes, not again on every render', async () => {
    const h = setup('daemon');
    h.sink.upsert(refusedWorkload('db', '1'));
    h.controller.start();
    // Debounced keys on virtual time; the render's file I/O on real time (bounded, 10 s).
    const until = async (what: string, ok: () => Promise<boolean>) => {
      for (let i = 0; i < 1000; i++) {
        if (await ok()) return;
        await h.clock.advanceAsync(PLAN_CONTROLLER_DEFAULTS.debounce.quietMs);
        await new Promise((r) => setTimeout(r, 10));
      }
      throw new Error(`gave up waiting for ${what}`);
    };
    const idle = () => h.controller.queue.len() === 0 && h.controller.queue.processingCount() === 0;
    await until('db counted', async () => (await h.count('error')) === 1 && idle());
    expect(await h.count('success')).to.equal(1); // the render
    // Another workload appears: a new render; db's refusal is unchanged, web is new.
    h.sink.upsert(validWorkload('web'));
    await until('web counted', async () => (await h.count('success')) === 3 && idle());
    // db fixed: its key succeeds now (render + db).
    h.sink.upsert(validWorkload('db', {}, '2'));
    await until('db fixed', async () => (await h.count('success')) === 5 && idle());
    // Settled: more time, no more reconciles, db's old error counted once.
    await h.clock.advanceAsync(PLAN_CONTROLLER_DEFAULTS.debounce.maxWaitMs * 4);
    expect(await h.count('error')).to.equal(1);
    expect(await h.count('success')).to.equal(5);
    await h.controller.stop(0);
  });
});

// A container destroyed while the render that still held it was being written (the churn of a
// CI host): the cache cleared its conditions on the delete, and the render's report must not set
// them again, or the store keeps one entry per destroyed container for good.
describe('PlanController: containers destroyed mid-render leave no conditions', () => {
  const tmp = tempConfig('plan-churn-');

  /** The config file, with a hook run right after each write (the destroy event arrives then). */
  class RacingSink extends ConfigSink {
    afterCommit: (() => void) | undefined;
    override async commit(changes: PlanChanges): Promise<CommitResult> {
      const result = await super.commit(changes);
      const hook = this.afterCommit;
      this.afterCommit = undefined;
      hook?.();
      return result;
    }
  }

  it('30 create/destroy cycles, planned and skipped: only live and refused workloads keep conditions', async () => {
    const { configPath } = tmp;
    const { clock, conditions, recorder, cache, sink, logger } = runtimeFixture();
    const store = new RacingSink({ path: configPath });
    const plan = new PlanController(
      { configPath, defaults: defaultPlanDefaults(), mode: 'daemon', orphanGraceMs: 0 },
      store,
      new ApplyState('none'),
      new PlanReport(),
    );
    const controller = new Controller(plan, { cache, logger, recorder, conditions, clock });
    // Debounced keys on virtual time; the render's file I/O on real time (bounded, 20 s).
    const settle = async (): Promise<void> => {
      const deadline = performance.now() + 20_000;
      let quiet = 0;
      while (quiet < 3) {
        if (performance.now() > deadline) throw new Error('the plan controller did not settle');
        await clock.advanceAsync(PLAN_CONTROLLER_DEFAULTS.debounce.maxWaitMs);
        await new Promise((r) => setTimeout(r, 2));
        const idle = controller.queue.len() === 0 && controller.queue.processingCount() === 0;
        quiet = idle ? quiet + 1 : 0;
      }
    };
    sink.upsert(validWorkload('kept'));
    sink.upsert(refusedWorkload('bad', '1'));
    controller.start();
    await settle();
    const before = conditions.keys().sort();
    expect(before).to.deep.equal(['BackupWorkload/bad', 'BackupWorkload/kept']);

    let raced = 0;
    for (let i = 0; i < 30; i++) {
      const name = `churn${i}`;
      // Every other one is skipped (unknown repo): both branches of the report.
      sink.upsert(validWorkload(name, i % 2 ? { 'backrest.repo': 'nope' } : {}));
      store.afterCommit = () => {
        if (cache.get(`BackupWorkload/${name}`)) raced++;
        sink.delete(`BackupWorkload/${name}`);
      };
      await settle();
      // A render without it never ran its hook (e.g. an unchanged config): destroy it anyway.
      if (store.afterCommit) {
        store.afterCommit = undefined;
        sink.delete(`BackupWorkload/${name}`);
        await settle();
      }
    }
    expect(raced).to.be.greaterThan(20); // the render held the container while it was destroyed
    expect(conditions.keys().sort()).to.deep.equal(before);
    expect(conditions.get('BackupWorkload/kept', 'Ready')).to.include({ status: 'True' });
    expect(conditions.get('BackupWorkload/bad', 'Skipped')).to.include({ status: 'True' });
    await controller.stop(0);
  });
});
