import 'reflect-metadata';
import { expect } from 'chai';
import { ContainerModule, inject, injectable } from 'inversify';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Cache } from './cache.js';
import { ConditionStore } from './conditions.js';
import {
  ControllerContribution,
  type ControllerOptions,
  type Watch,
} from './controller-contribution.js';
import { EventRecorder } from './event-recorder.js';
import { InMemorySource } from './in-memory-source.js';
import { HealthCheck, LifecycleHook } from './lifecycle.js';
import { Logger, MemoryLogStream } from './logger.js';
import { createManager, createRuntimeModule, type Manager } from './manager.js';
import { MetricsRegistry } from './metrics.js';
import { Redactor } from './redactor.js';
import type {
  ReconcileContext,
  ReconcileRequest,
  ReconcileResult,
  Reconciler,
} from './reconciler.js';
import type { Resource } from './resource.js';
import { ResourceDefinition } from './resource-definition.js';
import { JsonSchema, SchemaFormat, SchemaRegistry } from './schema-registry.js';
import { Source } from './source.js';
import { VirtualClock } from './virtual-clock.js';

const SECRET = 'correct-horse-battery-staple';

/** Polls a condition while real file I/O (the lease file) completes; bounded, asserts no wall time. */
async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 5000; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 1));
  }
  throw new Error(`condition never met: ${what}`);
}

function job(name: string, spec: Record<string, unknown>, rv = '1'): Resource {
  return {
    apiVersion: 'toy.dockop.io/v1',
    kind: 'Job',
    metadata: {
      name,
      uid: name,
      labels: { team: 'a' },
      annotations: {},
      generation: 1,
      resourceVersion: rv,
      creationTimestamp: '',
    },
    spec,
  };
}

/** What the toy reconciler did, shared with the test. */
class Journal {
  calls: { key: string; at: number; spec: unknown }[] = [];
  failuresLeft = new Map<string, number>();
  block = new Map<string, Promise<void>>();
  finished: string[] = [];
}
const JournalToken = Symbol('Journal');

@injectable()
class ToyReconciler implements Reconciler {
  constructor(@inject(JournalToken) private readonly journal: Journal) {}

  async reconcile(req: ReconcileRequest, ctx: ReconcileContext): Promise<ReconcileResult | void> {
    const resource = ctx.cache.get(req.key);
    this.journal.calls.push({ key: req.key, at: ctx.clock.now(), spec: resource?.spec });
    ctx.logger.info('toy.reconciled', {
      repoEnv: `RESTIC_PASSWORD=${SECRET}`,
      note: `uses ${SECRET}`,
    });
    const left = this.journal.failuresLeft.get(req.key) ?? 0;
    if (left > 0) {
      this.journal.failuresLeft.set(req.key, left - 1);
      throw new Error(`transient failure of ${req.key}`);
    }
    const block = this.journal.block.get(req.key);
    if (block) await block;
    ctx.conditions.set(req.key, {
      type: 'Ready',
      status: 'True',
      reason: 'Reconciled',
      message: '',
    });
    this.journal.finished.push(req.key);
  }
}

@injectable()
class ToyController implements ControllerContribution {
  readonly name = 'toy';
  readonly watches: Watch[] = [{ kind: 'Job' }];
  readonly options: ControllerOptions = { debounce: { quietMs: 200, maxWaitMs: 2000 } };
  constructor(@inject(ToyReconciler) readonly reconciler: ToyReconciler) {}
}

function toyModule(source: InMemorySource, journal: Journal, order: string[]): ContainerModule {
  return new ContainerModule(({ bind }) => {
    bind(JournalToken).toConstantValue(journal);
    bind(ToyReconciler).toSelf().inSingletonScope();
    bind(ControllerContribution).to(ToyController).inSingletonScope();
    bind(Source).toConstantValue(source);
    bind(SchemaFormat).toConstantValue({
      name: 'even',
      validate: (v: string) => Number(v) % 2 === 0 || `${v} is odd`,
    });
    bind(JsonSchema).toConstantValue({
      $id: 'toy-job',
      type: 'object',
      additionalProperties: false,
      required: ['size'],
      properties: {
        size: { type: 'integer', minimum: 1 },
        tags: { type: 'array', items: { type: 'string' } },
        code: { type: 'string', format: 'even' },
      },
    });
    bind(ResourceDefinition).toConstantValue({
      group: 'toy.dockop.io',
      version: 'v1',
      kind: 'Job',
      plural: 'jobs',
      selector: { prefixes: ['toy.'] },
      schemaId: 'toy-job',
    });
    bind(LifecycleHook).toConstantValue({
      name: 'order',
      onStart: () => void order.push('onStart'),
      onStop: () => void order.push(`onStop finished=${journal.finished.join(',')}`),
    });
    bind(HealthCheck).toConstantValue({
      name: 'toy-ready',
      kind: 'readiness',
      check: () => 'toy is fine',
    });
  });
}

describe('Manager (acceptance)', function () {
  let manager: Manager | undefined;
  afterEach(async () => {
    await manager?.stop();
    manager = undefined;
  });

  it('runs a toy controller from modules: retries on virtual time, debounce, metrics over HTTP, redacted logs, graceful drain', async () => {
    const clock = new VirtualClock(Date.UTC(2026, 0, 1));
    const logs = new MemoryLogStream();
    const journal = new Journal();
    const order: string[] = [];
    const source = new InMemorySource('toy-source', {
      resources: [
        job('alpha', { size: '2', tags: 'x,y' }),
        job('broken', { size: 'big' }),
        job('flaky', { size: 1 }),
      ],
    });
    journal.failuresLeft.set('Job/flaky', 3);

    manager = createManager({
      clock,
      logger: { format: 'json', stream: logs.writable, level: 'info' },
      http: { host: '127.0.0.1', port: 0 },
      gracefulShutdownMs: 30_000,
    });
    manager.load(toyModule(source, journal, order));
    manager.get<Redactor>(Redactor).addSecretValue(SECRET);
    manager.handleSignals(
      new (await import('node:events')).EventEmitter() as unknown as NodeJS.Process,
    );

    await manager.start();
    expect(manager.state).to.equal('running');
    expect(order).to.deep.equal(['onStart']);

    // Initial keys are debounced (200 ms quiet) then reconciled; the invalid one never is.
    await clock.advanceAsync(199);
    expect(journal.calls).to.have.length(0);
    await clock.advanceAsync(1);
    expect(journal.calls.map((c) => c.key)).to.deep.equal(['Job/alpha', 'Job/flaky']);
    expect(journal.calls[0]!.spec).to.deep.equal({ size: 2, tags: ['x', 'y'] }); // coerced from labels
    const conditions = manager.get<ConditionStore>(ConditionStore);
    expect(conditions.get('Job/broken', 'Ready')).to.deep.include({
      status: 'False',
      reason: 'InvalidSpec',
    });
    const warning = manager.get<EventRecorder>(EventRecorder).list('Job/broken')[0]!;
    expect(warning.message)
      .to.contain('spec.size')
      .and.contain('"big"')
      .and.contain('type: integer');

    // Retries with backoff: flaky fails 3 times → 5, 10, 20 ms later.
    await clock.advanceAsync(100);
    const flakyAt = journal.calls
      .filter((c) => c.key === 'Job/flaky')
      .map((c) => c.at - journal.calls[0]!.at);
    expect(flakyAt).to.deep.equal([0, 5, 15, 35]);
    expect(conditions.get('Job/flaky', 'Ready')!.status).to.equal('True');

    // Debounce merges a burst of 20 updates into one reconcile.
    const before = journal.calls.length;
    for (let i = 2; i < 22; i++) {
      source.set(job('alpha', { size: i }, String(i)));
      await clock.advanceAsync(50);
    }
    expect(journal.calls.length).to.equal(before);
    await clock.advanceAsync(150);
    expect(journal.calls.length).to.equal(before + 1);
    expect(journal.calls.at(-1)!.spec).to.deep.equal({ size: 21 });

    // Metrics over real HTTP with the controller-runtime names; health endpoints.
    const { port } = manager.httpAddress!;
    const res = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(res.status).to.equal(200);
    const text = await res.text();
    for (const name of [
      'controller_runtime_reconcile_total',
      'controller_runtime_reconcile_errors_total',
      'controller_runtime_reconcile_time_seconds',
      'controller_runtime_max_concurrent_reconciles',
      'controller_runtime_active_workers',
      'workqueue_depth',
      'workqueue_adds_total',
      'workqueue_queue_duration_seconds',
      'workqueue_work_duration_seconds',
      'workqueue_retries_total',
      'workqueue_unfinished_work_seconds',
      'workqueue_longest_running_processor_seconds',
    ])
      expect(text, name).to.contain(`# TYPE ${name} `);
    expect(text).to.contain(
      'controller_runtime_reconcile_total{controller="toy",result="error"} 3',
    );
    expect(text).to.contain('controller_runtime_reconcile_errors_total{controller="toy"} 3');
    expect(text).to.contain('workqueue_retries_total{name="toy"} 3');
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).to.equal(200);
    const readyz = await fetch(`http://127.0.0.1:${port}/readyz`);
    expect(readyz.status).to.equal(200);
    expect(await readyz.text()).to.contain('[+]toy-ready ok: toy is fine');

    // Redaction: the secret is nowhere in the log output, the marker is.
    expect(logs.text).to.contain('toy.reconciled');
    expect(logs.text).to.not.contain(SECRET);
    const line = logs.lines.find((l) => l['action'] === 'toy.reconciled')!;
    expect(line).to.deep.include({
      controller: 'toy',
      key: 'Job/alpha',
      repoEnv: 'RESTIC_PASSWORD=[REDACTED]',
      note: 'uses [REDACTED]',
    });

    // Graceful drain: an in-flight reconcile finishes before onStop hooks run.
    let release!: () => void;
    journal.block.set('Job/slow', new Promise<void>((r) => (release = r)));
    source.set(job('slow', { size: 1 }));
    await clock.advanceAsync(200);
    expect(journal.calls.at(-1)!.key).to.equal('Job/slow');
    const stopping = manager.stop();
    await clock.advanceAsync(1000);
    expect(manager.state).to.equal('stopping');
    expect(order).to.deep.equal(['onStart']);
    release();
    await stopping;
    await manager.done;
    expect(manager.state).to.equal('stopped');
    expect(order[1]).to.match(/^onStop finished=.*Job\/slow$/);
    await fetch(`http://127.0.0.1:${port}/healthz`).then(
      () => expect.fail('server must be closed'),
      (e: Error) => expect(e).to.be.instanceOf(Error),
    );
  });

  it('runOnce reconciles everything once and returns per-controller summaries', async () => {
    const clock = new VirtualClock(0);
    const journal = new Journal();
    const source = new InMemorySource('toy-source', {
      resources: [job('a', { size: 1 }), job('b', { size: 1 })],
    });
    journal.failuresLeft.set('Job/b', 1);
    manager = createManager({
      clock,
      logger: { format: 'json', stream: new MemoryLogStream().writable },
    });
    manager.load(toyModule(source, journal, []));
    const summaries = await manager.runOnce();
    expect(summaries).to.deep.equal([
      {
        controller: 'toy',
        reconciled: 2,
        succeeded: 1,
        failed: 1,
        requeued: 0,
        errors: [{ key: 'Job/b', error: 'transient failure of Job/b', terminal: false }],
      },
    ]);
    expect(manager.state).to.equal('stopped');
    expect(clock.pending()).to.equal(0);
  });

  it('runOnce resolves controllers and hooks while the sources sync; onStart after sync, controllers after onStart', async () => {
    const order: string[] = [];
    const journal = new Journal();
    const source = new InMemorySource('toy-source', {
      autoSync: false,
      resources: [job('a', { size: 1 })],
    });
    const probes = (hookName: string, source: InMemorySource) =>
      new ContainerModule(({ bind }) => {
        bind(ControllerContribution).toDynamicValue(() => {
          order.push(`controller resolved synced=${source.hasSynced()}`);
          return {
            name: 'probe',
            watches: [{ kind: 'Job' }],
            reconciler: {
              reconcile: (req: ReconcileRequest) => void order.push(`probe ${req.key}`),
            },
          };
        });
        bind(LifecycleHook).toDynamicValue(() => {
          order.push(`hook resolved synced=${source.hasSynced()}`);
          return {
            name: hookName,
            onStart: () => void order.push(`${hookName} onStart`),
            onStop: () => void order.push(`${hookName} onStop`),
          };
        });
      });
    const clock = new VirtualClock(0);
    const m = createManager({
      clock,
      cacheSyncTimeoutMs: 5000,
      logger: { format: 'json', stream: new MemoryLogStream().writable },
    });
    manager = m;
    m.load(toyModule(source, journal, order), probes('probe-hook', source));
    const run = m.runOnce({ controllers: ['probe'] });
    await new Promise((r) => setImmediate(r));
    expect(order).to.deep.equal(['controller resolved synced=false', 'hook resolved synced=false']);
    source.markSynced();
    await run;
    expect(order).to.deep.equal([
      'controller resolved synced=false',
      'hook resolved synced=false',
      'onStart',
      'probe-hook onStart',
      'probe Job/a',
      'probe-hook onStop',
      'onStop finished=',
    ]);

    // Sources that never sync: the hooks were resolved, but started nothing, so they stop nothing.
    order.length = 0;
    const never = new InMemorySource('never', { autoSync: false });
    const m2 = createManager({
      clock,
      cacheSyncTimeoutMs: 5000,
      logger: { format: 'json', stream: new MemoryLogStream().writable },
    });
    manager = m2;
    m2.load(toyModule(never, journal, order), probes('probe-hook', never));
    const failed = m2.runOnce().then(
      () => expect.fail('runOnce must fail'),
      (e: Error) => e.message,
    );
    await clock.advanceAsync(5000);
    expect(await failed).to.equal('sources not synced within 5000 ms: never');
    expect(order).to.deep.equal(['controller resolved synced=false', 'hook resolved synced=false']);
    expect(m2.state).to.equal('stopped');
  });

  it('prefetch: the sources told to prefetch are the ones started; stop abandons a prefetch', async () => {
    const made: PrefetchingSource[] = [];
    @injectable()
    class PrefetchingSource extends InMemorySource {
      prefetchSignal: AbortSignal | undefined;
      started = 0;
      constructor() {
        super('prefetching');
        made.push(this);
      }
      prefetch(signal: AbortSignal): void {
        this.prefetchSignal = signal;
      }
      override start(...args: Parameters<InMemorySource['start']>): Promise<void> {
        this.started++;
        return super.start(...args);
      }
    }
    const quiet = { format: 'json' as const, stream: new MemoryLogStream().writable };
    // Transient scope: every resolution makes a new source, so only reuse keeps the prefetch.
    const module = new ContainerModule(({ bind }) => void bind(Source).to(PrefetchingSource));

    const m = createManager({ clock: new VirtualClock(0), logger: quiet });
    manager = m;
    m.load(module);
    m.prefetch();
    m.prefetch();
    expect(made).to.have.length(1);
    expect(made[0]?.prefetchSignal?.aborted).to.equal(false);
    await m.runOnce();
    expect(made).to.have.length(1);
    expect(made[0]?.started).to.equal(1);
    expect(made[0]?.prefetchSignal?.aborted).to.equal(true);
    expect(() => m.prefetch()).to.throw(/already stopped/);

    const log = new MemoryLogStream();
    const other = createManager({
      clock: new VirtualClock(0),
      logger: { format: 'json', stream: log.writable },
    });
    other.load(module);
    other.prefetch();
    await other.stop('set-up failed');
    expect(made[1]?.prefetchSignal?.aborted).to.equal(true);
    expect(made[1]?.started).to.equal(0);
    // It never started: no start/stop lines at info (the caller reports why it gave up).
    expect(log.lines).to.deep.equal([]);
  });

  it('binds the runtime services as singletons unless already bound', () => {
    const logger = { error() {}, warn() {}, info() {}, debug() {}, child: () => logger };
    const m = createManager({ logger });
    m.load(
      new ContainerModule(({ bind }) => {
        bind(SchemaRegistry).toConstantValue({ custom: true } as never);
      }),
    );
    expect(m.get(Logger)).to.equal(logger);
    expect(m.get(SchemaRegistry)).to.deep.equal({ custom: true });
    expect(m.get(Cache)).to.equal(m.get(Cache));
    expect(m.get(MetricsRegistry)).to.equal(m.get(MetricsRegistry));
    expect(() => m.load(new ContainerModule(() => undefined))).to.throw(/before start/);
    const c = createManager().container;
    c.load(createRuntimeModule({}));
    expect(c.get(EventRecorder)).to.equal(c.get(EventRecorder));
  });

  it('fails start with a clear error when sources do not sync in time, and stops cleanly', async () => {
    const clock = new VirtualClock(0);
    manager = createManager({
      clock,
      cacheSyncTimeoutMs: 5000,
      logger: { format: 'json', stream: new MemoryLogStream().writable },
    });
    manager.load(
      new ContainerModule(({ bind }) => {
        bind(Source).toConstantValue(new InMemorySource('never', { autoSync: false }));
      }),
    );
    const p = manager.start();
    await clock.advanceAsync(5000);
    await p.then(
      () => expect.fail('start must fail'),
      (e: Error) => expect(e.message).to.equal('sources not synced within 5000 ms: never'),
    );
    expect(manager.state).to.equal('stopped');
  });

  it('refuses a definition whose schema is missing and a duplicate kind', async () => {
    const def = {
      group: 'g',
      version: 'v1',
      kind: 'K',
      plural: 'ks',
      selector: { prefixes: [] },
      schemaId: 'missing',
    };
    const m1 = createManager({
      logger: { format: 'json', stream: new MemoryLogStream().writable },
    });
    m1.load(
      new ContainerModule(({ bind }) => {
        bind(ResourceDefinition).toConstantValue(def);
      }),
    );
    await m1.start().then(
      () => expect.fail('must fail'),
      (e: Error) => expect(e.message).to.contain('names schema "missing"'),
    );
    const m2 = createManager({
      logger: { format: 'json', stream: new MemoryLogStream().writable },
    });
    m2.load(
      new ContainerModule(({ bind }) => {
        bind(JsonSchema).toConstantValue({ $id: 'missing' });
        bind(ResourceDefinition).toConstantValue(def);
        bind(ResourceDefinition).toConstantValue(def);
      }),
    );
    await m2.start().then(
      () => expect.fail('must fail'),
      (e: Error) => expect(e.message).to.contain('defined twice'),
    );
  });

  it('SIGTERM stops gracefully and SIGHUP resyncs the sources', async () => {
    const { EventEmitter } = await import('node:events');
    const proc = new EventEmitter() as unknown as NodeJS.Process;
    const source = new InMemorySource('s');
    manager = createManager({
      clock: new VirtualClock(0),
      logger: { format: 'json', stream: new MemoryLogStream().writable },
    });
    manager.load(
      new ContainerModule(({ bind }) => {
        bind(Source).toConstantValue(source);
      }),
    );
    const off = manager.handleSignals(proc);
    await manager.start();
    proc.emit('SIGHUP');
    await new Promise((r) => setImmediate(r));
    expect(source.resyncCount).to.equal(1);
    proc.emit('SIGTERM');
    await manager.done;
    expect(manager.stopReason).to.equal('SIGTERM');
    off();
    expect(
      (proc as unknown as InstanceType<typeof EventEmitter>).listenerCount('SIGTERM'),
    ).to.equal(0);
  });

  it('leader election: only the lease holder runs controllers; a lost lease stops the manager', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'dockop-mgr-lease-'));
    const leasePath = path.join(dir, 'lease');
    const clock = new VirtualClock(0);
    const quiet = { format: 'json' as const, stream: new MemoryLogStream().writable };
    const make = (identity: string, journal: Journal): Manager => {
      const m = createManager({ clock, logger: quiet, leaderElection: { leasePath, identity } });
      m.load(
        toyModule(new InMemorySource('s', { resources: [job('a', { size: 1 })] }), journal, []),
      );
      return m;
    };
    const ja = new Journal();
    const jb = new Journal();
    const a = make('a', ja);
    const b = make('b', jb);
    try {
      await a.start();
      await until(() => a.controllers.length === 1, 'a leading');
      await b.start();
      await until(() => clock.pending() > 0 && b.state === 'running', 'b standby');
      expect(b.controllers).to.have.length(0);
      expect((await b.readiness()).checks.find((c) => c.name === 'controllers')!.detail).to.contain(
        'standby',
      );
      await clock.advanceAsync(200);
      await until(() => ja.calls.length === 1, 'a reconciled');
      expect(jb.calls).to.have.length(0);
      // Someone else takes the lease: a notices at its next renew and stops.
      await writeFile(
        leasePath,
        JSON.stringify({
          holderIdentity: 'x',
          leaseDurationMs: 15_000,
          acquireTime: 0,
          renewTime: clock.now(),
          leaderTransitions: 9,
        }),
      );
      for (let i = 0; i < 20 && a.state !== 'stopped'; i++) {
        await clock.advanceAsync(2000);
        await until(() => true, 'tick');
        await new Promise((r) => setTimeout(r, 5));
      }
      expect(a.stopReason).to.equal('leader lease lost');
    } finally {
      await a.stop();
      await b.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });

  describe('loadPlugin', () => {
    const here = path.dirname(fileURLToPath(import.meta.url));
    let dir: string;
    before(async () => {
      // Inside the package so the plugin resolves the same inversify instance.
      dir = await mkdtemp(path.join(here, 'plugin-fixture-'));
      await writeFile(
        path.join(dir, 'good.mjs'),
        "import { ContainerModule } from 'inversify';\nexport default new ContainerModule(({ bind }) => { bind(Symbol.for('dockop.test.plugin')).toConstantValue('loaded'); });\n",
      );
      await writeFile(path.join(dir, 'bad.mjs'), 'export default { not: "a module" };\n');
      await writeFile(path.join(dir, 'none.mjs'), 'export const x = 1;\n');
    });
    after(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('loads a ContainerModule default export from a path', async () => {
      const m = createManager();
      await m.loadPlugin(path.join(dir, 'good.mjs'));
      expect(m.get(Symbol.for('dockop.test.plugin'))).to.equal('loaded');
    });

    it('resolves a bare package name from the runtime, then from the working directory', async () => {
      const m = createManager();
      await m.loadPlugin('@dockop/runtime').then(
        () => expect.fail('must fail'),
        (e: Error) => expect(e.message).to.contain('no default export'),
      );
      // A package only the working directory can see, built without inversify (duck-typed module).
      const cwdDir = await mkdtemp(path.join(tmpdir(), 'dockop-cwd-plugin-'));
      const pkg = path.join(cwdDir, 'node_modules', 'dockop-cwd-plugin');
      await mkdir(pkg, { recursive: true });
      await writeFile(
        path.join(pkg, 'package.json'),
        JSON.stringify({ name: 'dockop-cwd-plugin', type: 'module', main: 'index.js' }),
      );
      await writeFile(
        path.join(pkg, 'index.js'),
        "export default { id: 987654, load({ bind }) { bind(Symbol.for('dockop.test.cwd')).toConstantValue('from-cwd'); } };\n",
      );
      const previous = process.cwd();
      try {
        process.chdir(cwdDir);
        await m.loadPlugin('dockop-cwd-plugin');
      } finally {
        process.chdir(previous);
        await rm(cwdDir, { recursive: true, force: true });
      }
      expect(m.get(Symbol.for('dockop.test.cwd'))).to.equal('from-cwd');
    });

    it('explains what is wrong with a bad plugin', async () => {
      const m = createManager();
      await m.loadPlugin(path.join(dir, 'bad.mjs')).then(
        () => expect.fail('must fail'),
        (e: Error) =>
          expect(e.message).to.match(
            /must default-export an inversify ContainerModule.*type object/,
          ),
      );
      await m.loadPlugin(path.join(dir, 'none.mjs')).then(
        () => expect.fail('must fail'),
        (e: Error) => expect(e.message).to.contain('no default export'),
      );
      await m.loadPlugin('@dockop/does-not-exist').then(
        () => expect.fail('must fail'),
        (e: Error) =>
          expect(e.message).to.match(/plugin "@dockop\/does-not-exist" could not be imported/),
      );
    });

    it('loads an already imported module (a bundled built-in) with the same checks', () => {
      const m = createManager();
      const module = new ContainerModule(({ bind }) => {
        bind(Symbol.for('dockop.test.builtin')).toConstantValue('bundled');
      });
      expect(m.loadPluginModule('builtin-a', { default: module })).to.equal(module);
      expect(m.get(Symbol.for('dockop.test.builtin'))).to.equal('bundled');
      expect(() => m.loadPluginModule('builtin-b', { other: module })).to.throw(
        'plugin "builtin-b" must default-export an inversify ContainerModule (new ContainerModule(...)), but has no default export',
      );
    });
  });
});
