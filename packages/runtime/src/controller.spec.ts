import { expect } from 'chai';
import { InMemoryConditionStore } from './conditions.js';
import { Controller, ReconcileTimeoutError, ControllerStoppedError } from './controller.js';
import type {
  ControllerContribution,
  MapFunc,
  ControllerOptions,
  Watch,
} from './controller-contribution.js';
import { InMemoryEventRecorder } from './event-recorder.js';
import type { LogFields, Logger } from './logger.js';
import { PrometheusMetrics } from './metrics.js';
import {
  TerminalError,
  type ReconcileContext,
  type ReconcileRequest,
  type ReconcileResult,
} from './reconciler.js';
import type { Resource } from './resource.js';
import type { ResourceDefinition } from './resource-definition.js';
import { ResourceCache } from './resource-cache.js';
import { AjvSchemaRegistry } from './schema-registry.js';
import { VirtualClock, flushMicrotasks } from './virtual-clock.js';

type Behaviour = (
  req: ReconcileRequest,
  ctx: ReconcileContext,
) => Promise<ReconcileResult | void> | ReconcileResult | void;

interface LogLine {
  level: string;
  action: string;
  fields: LogFields;
}

function recordingLogger(lines: LogLine[], base: LogFields = {}): Logger {
  const mk = (level: string) => (action: string, fields?: LogFields) =>
    void lines.push({ level, action, fields: { ...base, ...fields } });
  return {
    error: mk('error'),
    warn: mk('warn'),
    info: mk('info'),
    debug: mk('debug'),
    child: (f) => recordingLogger(lines, { ...base, ...f }),
  };
}

function thing(name: string, rv = '1', generation = 1): Resource {
  return {
    apiVersion: 'v1',
    kind: 'Thing',
    metadata: {
      name,
      uid: name,
      labels: {},
      annotations: {},
      generation,
      resourceVersion: rv,
      creationTimestamp: '',
    },
    spec: {},
  };
}

/** A kind with a schema, so the cache refuses some of its objects (`size` must be >= 1). */
const widgetDef: ResourceDefinition = {
  group: 'test.dockop.io',
  version: 'v1',
  kind: 'Widget',
  plural: 'widgets',
  selector: { prefixes: ['widget.'] },
  schemaId: 'widget',
};

function widget(
  name: string,
  size: number,
  rv: string,
  labels: Record<string, string>,
  status?: unknown,
): Resource {
  return {
    apiVersion: 'test.dockop.io/v1',
    kind: 'Widget',
    metadata: {
      name,
      uid: name,
      labels,
      annotations: {},
      generation: 1,
      resourceVersion: rv,
      creationTimestamp: '',
    },
    spec: { size },
    ...(status !== undefined ? { status } : {}),
  };
}

function harness(
  opts: {
    options?: ControllerOptions;
    watches?: Watch[];
    behaviour?: Behaviour;
    /** The reconciler answers synchronously (returns or throws what `behaviour` does). */
    sync?: boolean;
  } = {},
) {
  const clock = new VirtualClock(0);
  const recorder = new InMemoryEventRecorder({ clock });
  const conditions = new InMemoryConditionStore(clock);
  const schemas = new AjvSchemaRegistry();
  schemas.add({
    $id: 'widget',
    type: 'object',
    properties: { size: { type: 'integer', minimum: 1 } },
  });
  const cache = new ResourceCache({ schemas, definitions: [widgetDef] });
  const sink = cache.sinkFor('test');
  const metrics = new PrometheusMetrics();
  const lines: LogLine[] = [];
  const calls: { key: string; at: number; kind: string; name: string }[] = [];
  let behaviour: Behaviour = opts.behaviour ?? (() => undefined);
  const contribution: ControllerContribution = {
    name: 'things',
    watches: opts.watches ?? [{ kind: 'Thing' }],
    ...(opts.options ? { options: opts.options } : {}),
    reconciler: {
      reconcile: (req, ctx) => {
        calls.push({ key: req.key, at: clock.now(), kind: req.kind, name: req.name });
        if (opts.sync) return behaviour(req, ctx);
        return (async () => behaviour(req, ctx))();
      },
    },
  };
  const controller = new Controller(contribution, {
    cache,
    logger: recordingLogger(lines),
    recorder,
    conditions,
    clock,
    metrics,
  });
  return {
    clock,
    recorder,
    cache,
    sink,
    metrics,
    lines,
    calls,
    controller,
    setBehaviour: (b: Behaviour) => (behaviour = b),
    settle: () => clock.advanceAsync(0),
  };
}

async function metricValue(
  metrics: PrometheusMetrics,
  name: string,
  labels: Record<string, string>,
): Promise<number> {
  const m = await metrics.registry.getSingleMetric(name)!.get();
  const v = m.values.find((x) =>
    Object.entries(labels).every(([k, val]) => (x.labels as Record<string, string>)[k] === val),
  );
  return v?.value ?? NaN;
}

describe('Controller', () => {
  it('reconciles existing resources at start, then on add, update and delete', async () => {
    const h = harness();
    h.sink.upsert(thing('a'));
    h.controller.start();
    await h.settle();
    expect(h.calls.map((c) => `${c.kind}|${c.name}`)).to.deep.equal(['Thing|a']);
    h.sink.upsert(thing('b'));
    await h.settle();
    h.sink.upsert(thing('a', '2'));
    await h.settle();
    h.sink.delete('Thing/b');
    await h.settle();
    expect(h.calls.map((c) => c.key)).to.deep.equal(['Thing/a', 'Thing/b', 'Thing/a', 'Thing/b']);
    expect(h.controller.healthy()).to.equal(true);
    await h.controller.stop(0);
  });

  it('applies map funcs and predicates', async () => {
    const h = harness({
      watches: [
        {
          kind: 'Thing',
          map: () => ['Config/main'],
          predicates: [{ update: (o, n) => o.metadata.generation !== n.metadata.generation }],
        },
      ],
    });
    h.sink.upsert(thing('a'));
    h.sink.upsert(thing('b'));
    h.controller.start();
    await h.settle();
    expect(h.calls.map((c) => c.key)).to.deep.equal(['Config/main']);
    h.sink.upsert(thing('a', '2', 1)); // same generation: filtered
    await h.settle();
    expect(h.calls).to.have.length(1);
    h.sink.upsert(thing('a', '3', 2));
    await h.settle();
    expect(h.calls.map((c) => c.key)).to.deep.equal(['Config/main', 'Config/main']);
    await h.controller.stop(0);
  });

  it('maps every cached resource at start, a map answering any iterable (a JS plugin: a Set)', async () => {
    const h = harness({
      watches: [
        {
          kind: 'Thing',
          map: ((r: { metadata: { name: string } }) =>
            new Set([`Other/${r.metadata.name}`, 'Config/main'])) as unknown as MapFunc,
        },
      ],
    });
    h.sink.upsert(thing('a'));
    h.sink.upsert(thing('b'));
    h.sink.upsert(thing('c'));
    h.controller.start();
    await h.settle();
    expect(h.calls.map((c) => c.key)).to.have.members([
      'Other/a',
      'Config/main',
      'Other/b',
      'Other/c',
    ]);
    await h.controller.stop(0);
  });

  it('a throwing map func or predicate is logged and skipped', async () => {
    const h = harness({
      watches: [
        {
          kind: 'Thing',
          map: () => {
            throw new Error('map boom');
          },
        },
        {
          kind: 'Thing',
          predicates: [
            {
              create: () => {
                throw new Error('pred boom');
              },
            },
          ],
        },
      ],
    });
    h.controller.start();
    h.sink.upsert(thing('a'));
    await h.settle();
    expect(h.calls).to.have.length(0);
    expect(h.lines.filter((l) => l.level === 'error').map((l) => l.action)).to.have.members([
      'controller.map_failed',
      'controller.predicate_failed',
    ]);
    await h.controller.stop(0);
  });

  it('retries a failing key with exponential backoff on virtual time, then forgets it on success', async () => {
    let failures = 3;
    const h = harness({
      behaviour: () => {
        if (failures-- > 0) throw new Error('transient');
      },
    });
    h.sink.upsert(thing('a'));
    h.controller.start();
    await h.clock.advanceAsync(1000);
    expect(h.calls.map((c) => c.at)).to.deep.equal([0, 5, 15, 35]);
    expect(h.controller.queue.numRequeues('Thing/a')).to.equal(0);
    expect(
      await metricValue(h.metrics, 'controller_runtime_reconcile_total', {
        controller: 'things',
        result: 'error',
      }),
    ).to.equal(3);
    expect(
      await metricValue(h.metrics, 'controller_runtime_reconcile_total', {
        controller: 'things',
        result: 'success',
      }),
    ).to.equal(1);
    expect(
      await metricValue(h.metrics, 'controller_runtime_reconcile_errors_total', {
        controller: 'things',
      }),
    ).to.equal(3);
    expect(await metricValue(h.metrics, 'workqueue_retries_total', { name: 'things' })).to.equal(3);
    const err = h.lines.find((l) => l.action === 'reconcile.error')!;
    expect(err.fields).to.deep.include({ controller: 'things', key: 'Thing/a' });
    await h.controller.stop(0);
  });

  it('does not retry a TerminalError: Warning event, key forgotten', async () => {
    const h = harness({
      behaviour: () => {
        throw new TerminalError('bad config', 'BadConfig');
      },
    });
    h.sink.upsert(thing('a'));
    h.controller.start();
    await h.clock.advanceAsync(10_000);
    expect(h.calls).to.have.length(1);
    expect(h.recorder.list('Thing/a')[0]).to.deep.include({
      type: 'Warning',
      reason: 'BadConfig',
      message: 'bad config',
    });
    expect(h.controller.queue.numRequeues('Thing/a')).to.equal(0);
    expect(
      await metricValue(h.metrics, 'controller_runtime_reconcile_errors_total', {
        controller: 'things',
      }),
    ).to.equal(1);
    await h.controller.stop(0);
  });

  it('a reported TerminalError is counted as an error but logged at debug, with no second event', async () => {
    const h = harness({
      behaviour: () => {
        throw new TerminalError('labels refused', 'InvalidSpec', { reported: true });
      },
    });
    h.sink.upsert(thing('a'));
    h.controller.start();
    await h.clock.advanceAsync(10_000);
    expect(h.calls).to.have.length(1);
    expect(h.recorder.list('Thing/a')).to.deep.equal([]);
    const logged = h.lines.filter((l) => l.action === 'reconcile.error');
    expect(logged.map((l) => l.level)).to.deep.equal(['debug']);
    expect(
      await metricValue(h.metrics, 'controller_runtime_reconcile_errors_total', {
        controller: 'things',
      }),
    ).to.equal(1);
    expect(
      await metricValue(h.metrics, 'controller_runtime_reconcile_total', {
        controller: 'things',
        result: 'success',
      }),
    ).to.equal(0);
    await h.controller.stop(0);
  });

  it('requeueAfter re-runs the key after that long without counting an error; requeue uses backoff', async () => {
    let n = 0;
    const h = harness({
      behaviour: () => {
        n++;
        if (n === 1) return { requeueAfter: 60_000 };
        if (n === 2) return { requeue: true };
        return undefined;
      },
    });
    h.sink.upsert(thing('a'));
    h.controller.start();
    await h.clock.advanceAsync(59_999);
    expect(h.calls).to.have.length(1);
    await h.clock.advanceAsync(1);
    expect(h.calls.map((c) => c.at)).to.deep.equal([0, 60_000]);
    await h.clock.advanceAsync(5);
    expect(h.calls.map((c) => c.at)).to.deep.equal([0, 60_000, 60_005]);
    expect(
      await metricValue(h.metrics, 'controller_runtime_reconcile_total', {
        controller: 'things',
        result: 'requeue_after',
      }),
    ).to.equal(1);
    expect(
      await metricValue(h.metrics, 'controller_runtime_reconcile_total', {
        controller: 'things',
        result: 'requeue',
      }),
    ).to.equal(1);
    expect(
      await metricValue(h.metrics, 'controller_runtime_reconcile_errors_total', {
        controller: 'things',
      }),
    ).to.equal(0);
    await h.controller.stop(0);
  });

  it('drops the waiting requeue of a deleted resource: 100 create/delete cycles leave no timer', async () => {
    // Requeue hourly while the thing exists (as the backup controller does for a workload); the
    // reconcile reads the cache, then works for 10 ms, so half the deletes land mid-reconcile.
    const h = harness({
      watches: [{ kind: 'Thing' }],
      options: { initialKeys: ['Summary/all'] },
      behaviour: async (req, ctx) => {
        if (req.kind === 'Summary') return h.calls.length === 1 ? { requeueAfter: 60_000 } : {};
        const exists = ctx.cache.get(req.key) !== undefined;
        await ctx.clock.sleep(10);
        return exists ? { requeueAfter: 3_600_000 } : undefined;
      },
    });
    h.sink.upsert(thing('kept'));
    h.controller.start();
    await h.clock.advanceAsync(20);
    for (let i = 0; i < 100; i++) {
      h.sink.upsert(thing(`c${i}`));
      await h.clock.advanceAsync(i % 2 === 0 ? 5 : 20); // mid-reconcile, or after it
      h.sink.delete(`Thing/c${i}`);
      await h.clock.advanceAsync(50);
    }
    // The surviving thing keeps its hourly requeue; an aggregate key's success (not a resource
    // of a watched kind) does not cancel the requeue it asked for before.
    h.controller.enqueue('Summary/all');
    await h.clock.advanceAsync(20);
    expect(h.controller.queue.isWaiting('Thing/kept')).to.equal(true);
    expect(h.controller.queue.isWaiting('Summary/all')).to.equal(true);
    expect(h.controller.queue.delayedCount()).to.equal(2);
    const before = h.calls.length;
    await h.clock.advanceAsync(3_600_000);
    expect(h.calls.slice(before).map((c) => c.key)).to.have.members(['Summary/all', 'Thing/kept']);
    await h.controller.stop(0);
  });

  it('survives a reconciler that throws synchronously or throws a non-Error', async () => {
    const h = harness();
    const contribution: ControllerContribution = {
      name: 'sync-thrower',
      watches: [{ kind: 'Thing' }],
      reconciler: {
        reconcile: ((req: ReconcileRequest) => {
          if (req.name === 'a') throw new Error('sync boom');
          throw 'a string';
        }) as never,
      },
    };
    const c = new Controller(contribution, {
      cache: h.cache,
      logger: recordingLogger(h.lines),
      recorder: h.recorder,
      conditions: new InMemoryConditionStore(),
      clock: h.clock,
    });
    h.sink.upsert(thing('a'));
    h.sink.upsert(thing('b'));
    c.start();
    await h.clock.advanceAsync(100);
    expect(c.healthy()).to.equal(true);
    expect(h.lines.filter((l) => l.action === 'reconcile.error').length).to.be.greaterThan(2);
    await c.stop(0);
  });

  it('runs up to maxConcurrentReconciles keys at once, never the same key twice', async () => {
    const releases = new Map<string, () => void>();
    let active = 0;
    let maxActive = 0;
    const h = harness({
      options: { maxConcurrentReconciles: 2 },
      behaviour: (req) =>
        new Promise<void>((resolve) => {
          active++;
          maxActive = Math.max(maxActive, active);
          expect(releases.has(req.key), `${req.key} reconciled twice at once`).to.equal(false);
          releases.set(req.key, () => {
            active--;
            releases.delete(req.key);
            resolve();
          });
        }),
    });
    for (const n of ['a', 'b', 'c']) h.sink.upsert(thing(n));
    h.controller.start();
    await h.settle();
    expect([...releases.keys()]).to.deep.equal(['Thing/a', 'Thing/b']);
    expect(
      await metricValue(h.metrics, 'controller_runtime_active_workers', { controller: 'things' }),
    ).to.equal(2);
    expect(
      await metricValue(h.metrics, 'controller_runtime_max_concurrent_reconciles', {
        controller: 'things',
      }),
    ).to.equal(2);
    h.sink.upsert(thing('a', '2')); // re-add while in flight: queued after done
    await h.settle();
    releases.get('Thing/a')!();
    await h.settle();
    expect([...releases.keys()].sort()).to.deep.equal(['Thing/b', 'Thing/c']);
    releases.get('Thing/b')!();
    await h.settle();
    expect([...releases.keys()].sort()).to.deep.equal(['Thing/a', 'Thing/c']);
    releases.get('Thing/a')!();
    releases.get('Thing/c')!();
    await h.settle();
    expect(maxActive).to.equal(2);
    expect(h.calls.map((c) => c.key)).to.deep.equal(['Thing/a', 'Thing/b', 'Thing/c', 'Thing/a']);
    await h.controller.stop(0);
  });

  it('aborts the context signal when the per-reconcile timeout passes and retries', async () => {
    const reasons: unknown[] = [];
    const h = harness({
      options: { reconcileTimeoutMs: 1000 },
      behaviour: (_req, ctx) =>
        new Promise<void>((_resolve, reject) => {
          ctx.signal.addEventListener('abort', () => {
            reasons.push(ctx.signal.reason);
            reject(ctx.signal.reason as Error);
          });
        }),
    });
    h.sink.upsert(thing('a'));
    h.controller.start();
    await h.clock.advanceAsync(999);
    expect(reasons).to.have.length(0);
    await h.clock.advanceAsync(1);
    expect(reasons[0]).to.be.instanceOf(ReconcileTimeoutError);
    await h.clock.advanceAsync(5); // backoff 5 ms → second attempt starts
    expect(h.calls.map((c) => c.at)).to.deep.equal([0, 1005]);
    expect(await h.controller.stop(0)).to.deep.equal({ drained: false, abandoned: ['Thing/a'] });
  });

  it('resyncs every known key periodically and reconciles initialKeys at start', async () => {
    const h = harness({ options: { resyncPeriodMs: 60_000, initialKeys: ['Aggregate/all'] } });
    h.sink.upsert(thing('a'));
    h.controller.start();
    await h.settle();
    expect(h.calls.map((c) => c.key)).to.deep.equal(['Aggregate/all', 'Thing/a']);
    await h.clock.advanceAsync(60_000);
    expect(h.calls.map((c) => `${c.key}@${c.at}`).slice(2)).to.deep.equal([
      'Aggregate/all@60000',
      'Thing/a@60000',
    ]);
    await h.clock.advanceAsync(60_000);
    expect(h.calls).to.have.length(6);
    await h.controller.stop(0);
    await h.clock.advanceAsync(600_000);
    expect(h.calls).to.have.length(6);
  });

  it("resyncKeys 'initial': the periodic resync re-enqueues the initial keys only", async () => {
    const h = harness({
      options: { resyncPeriodMs: 60_000, resyncKeys: 'initial', initialKeys: ['Aggregate/all'] },
    });
    h.sink.upsert(thing('a'));
    h.controller.start();
    await h.settle();
    expect(h.calls.map((c) => c.key)).to.deep.equal(['Aggregate/all', 'Thing/a']);
    await h.clock.advanceAsync(120_000);
    expect(h.calls.map((c) => `${c.key}@${c.at}`).slice(2)).to.deep.equal([
      'Aggregate/all@60000',
      'Aggregate/all@120000',
    ]);
    // Events still enqueue the resource's own key.
    h.sink.upsert(thing('a', '2'));
    await h.settle();
    expect(h.calls.at(-1)?.key).to.equal('Thing/a');
    await h.controller.stop(0);
  });

  it('debounces a burst of events into one reconcile', async () => {
    const h = harness({ options: { debounce: { quietMs: 500, maxWaitMs: 5000 } } });
    h.controller.start();
    for (let i = 1; i <= 10; i++) {
      h.sink.upsert(thing('a', String(i)));
      await h.clock.advanceAsync(100);
    }
    expect(h.calls).to.have.length(0);
    await h.clock.advanceAsync(400);
    expect(h.calls.map((c) => c.at)).to.deep.equal([1400]);
    await h.controller.stop(0);
  });

  it('stop drains in-flight work within the graceful period and drops queued keys', async () => {
    let release!: () => void;
    const h = harness({
      behaviour: (req) =>
        req.name === 'a' ? new Promise<void>((resolve) => (release = resolve)) : undefined,
    });
    h.sink.upsert(thing('a'));
    h.sink.upsert(thing('b'));
    h.controller.start();
    await h.settle();
    let result: unknown;
    const stopping = h.controller.stop(30_000).then((r) => (result = r));
    await h.clock.advanceAsync(10_000);
    expect(result).to.equal(undefined);
    expect(h.controller.state).to.equal('stopping');
    release();
    await stopping;
    expect(result).to.deep.equal({ drained: true, abandoned: [] });
    expect(h.calls.map((c) => c.key)).to.deep.equal(['Thing/a']); // b was queued, not started
    expect(h.controller.state).to.equal('stopped');
    expect(h.clock.pending()).to.equal(0);
  });

  it('after the graceful period it aborts in-flight signals and reports them abandoned', async () => {
    let reason: unknown;
    const h = harness({
      behaviour: (_r, ctx) =>
        new Promise<void>((resolve) =>
          ctx.signal.addEventListener('abort', () => {
            reason = ctx.signal.reason;
            resolve();
          }),
        ),
    });
    h.sink.upsert(thing('a'));
    h.controller.start();
    await h.settle();
    const stopping = h.controller.stop(1000);
    await h.clock.advanceAsync(1000);
    const r = await stopping;
    expect(r).to.deep.equal({ drained: false, abandoned: ['Thing/a'] });
    expect(reason).to.be.instanceOf(ControllerStoppedError);
    expect(h.lines.some((l) => l.action === 'controller.drain_timeout')).to.equal(true);
  });

  it('runOnce reconciles every key until idle, without retries by default, and summarises', async () => {
    const h = harness({
      options: { initialKeys: ['Aggregate/all'], debounce: { quietMs: 1000, maxWaitMs: 2000 } },
      behaviour: (req) => {
        if (req.name === 'bad') throw new Error('nope');
        if (req.name === 'term') throw new TerminalError('refused');
        if (req.name === 'later') return { requeueAfter: 5000 };
        return undefined;
      },
    });
    for (const n of ['ok', 'bad', 'term', 'later']) h.sink.upsert(thing(n));
    const summary = await h.controller.runOnce();
    expect(summary).to.deep.equal({
      controller: 'things',
      reconciled: 5,
      succeeded: 2,
      failed: 2,
      requeued: 1,
      errors: [
        { key: 'Thing/bad', error: 'nope', terminal: false },
        { key: 'Thing/term', error: 'refused', terminal: true },
      ],
    });
    expect(h.clock.pending()).to.equal(0);
    expect(h.controller.state).to.equal('stopped');
    await h.controller.runOnce().then(
      () => expect.fail('second runOnce must fail'),
      (e: Error) => expect(e.message).to.match(/needs a new controller/),
    );
  });

  it('a reconciler answering synchronously gets what an async one gets, without a promise per key', async () => {
    const behaviour: Behaviour = (req) => {
      if (req.name === 'bad') throw new Error('nope');
      if (req.name === 'term') throw new TerminalError('refused');
      if (req.name === 'told') throw new TerminalError('logged', 'Told', { reported: true });
      if (req.name === 'later') return { requeueAfter: 5000 };
      if (req.name === 'again') return { requeue: true };
      return undefined;
    };
    const names = ['ok', 'bad', 'term', 'told', 'later', 'again', 'ok2'];
    const run = async (sync: boolean) => {
      const h = harness({ behaviour, sync });
      for (const n of names) h.sink.upsert(thing(n));
      const running = h.controller.runOnce();
      // Synchronous answers: every key was reconciled before runOnce first waited.
      const before = h.calls.length;
      const summary = await running;
      const counts: Record<string, number> = {};
      for (const result of ['success', 'error', 'requeue', 'requeue_after']) {
        counts[result] = await metricValue(h.metrics, 'controller_runtime_reconcile_total', {
          controller: 'things',
          result,
        });
      }
      return {
        before,
        summary,
        counts,
        lines: h.lines.map((l) => `${l.level} ${l.action} ${String(l.fields['key'])}`),
        events: h.recorder.list('Thing/term').map((e) => `${e.type} ${e.reason}`),
        idle: h.controller.queue.processingCount(),
      };
    };
    const async = await run(false);
    const sync = await run(true);
    expect(async.before).to.equal(1);
    expect(sync.before).to.equal(names.length);
    expect({ ...sync, before: 0 }).to.deep.equal({ ...async, before: 0 });
    expect(sync.summary).to.deep.include({ reconciled: 7, succeeded: 2, failed: 3, requeued: 2 });
    expect(sync.counts).to.deep.equal({ success: 2, error: 3, requeue: 1, requeue_after: 1 });
    expect(sync.events).to.deep.equal(['Warning TerminalError']);
    expect(sync.idle).to.equal(0);
  });

  it('ctx.settle counts the keys an aggregate reconcile decided, without a queue pass', async () => {
    const h = harness({
      watches: [{ kind: 'Thing', map: () => ['Aggregate/all'] }],
      options: { initialKeys: ['Aggregate/all'] },
      behaviour: (_req, ctx) => {
        ctx.settle('Thing/ok');
        ctx.settle('Thing/told', new TerminalError('logged', 'Told', { reported: true }));
        ctx.settle('Thing/bad', new TerminalError('refused', 'Refused'));
      },
    });
    for (const n of ['ok', 'told', 'bad']) h.sink.upsert(thing(n));
    const summary = await h.controller.runOnce();
    // The same summary as when each key took its own (empty) reconcile.
    expect(summary).to.deep.equal({
      controller: 'things',
      reconciled: 4,
      succeeded: 2,
      failed: 2,
      requeued: 0,
      errors: [
        { key: 'Thing/told', error: 'logged', terminal: true },
        { key: 'Thing/bad', error: 'refused', terminal: true },
      ],
    });
    expect(h.calls.map((c) => c.key)).to.deep.equal(['Aggregate/all']);
    const count = (result: string) =>
      metricValue(h.metrics, 'controller_runtime_reconcile_total', {
        controller: 'things',
        result,
      });
    expect([await count('success'), await count('error')]).to.deep.equal([2, 2]);
    // A reported error is logged at debug without an event; another is told like a thrown one.
    const errors = h.lines.filter((l) => l.action === 'reconcile.error');
    expect(errors.map((l) => `${l.level} ${String(l.fields['key'])}`)).to.deep.equal([
      'debug Thing/told',
      'error Thing/bad',
    ]);
    expect(h.recorder.list('Thing/told')).to.deep.equal([]);
    expect(h.recorder.list('Thing/bad').map((e) => `${e.type} ${e.reason}`)).to.deep.equal([
      'Warning Refused',
    ]);
  });

  it('ctx.settle leaves the queue alone: a queued key still gets its own reconcile', async () => {
    const h = harness({
      options: { initialKeys: ['Aggregate/all'] },
      behaviour: (req, ctx) => {
        if (req.key === 'Aggregate/all') ctx.settle('Thing/a');
      },
    });
    h.sink.upsert(thing('a'));
    h.controller.start();
    await h.clock.advanceAsync(10);
    expect(h.calls.map((c) => c.key).sort()).to.deep.equal(['Aggregate/all', 'Thing/a']);
    expect(
      await metricValue(h.metrics, 'controller_runtime_reconcile_total', {
        controller: 'things',
        result: 'success',
      }),
    ).to.equal(3);
    expect(h.controller.queue.len() + h.controller.queue.delayedCount()).to.equal(0);
    await h.controller.stop(0);
  });

  it('a synchronous answer in a running controller: retried with backoff, requeued, nothing left in flight', async () => {
    let failures = 2;
    const h = harness({
      sync: true,
      behaviour: (req, ctx) => {
        expect(ctx.signal.aborted).to.equal(false);
        if (req.name === 'flaky' && failures-- > 0) throw new Error('transient');
        if (req.name === 'later') return { requeueAfter: 1000 };
        return undefined;
      },
    });
    h.sink.upsert(thing('flaky'));
    h.sink.upsert(thing('later'));
    h.controller.start();
    await h.clock.advanceAsync(1000);
    expect(h.calls.filter((c) => c.key === 'Thing/flaky').map((c) => c.at)).to.deep.equal([
      0, 5, 15,
    ]);
    expect(h.calls.filter((c) => c.key === 'Thing/later').map((c) => c.at)).to.deep.equal([
      0, 1000,
    ]);
    expect(await h.controller.stop(0)).to.deep.equal({ drained: true, abandoned: [] });
  });

  it('runOnce retries with backoff when asked, and processes keys enqueued by reconciles', async () => {
    let failures = 2;
    const h = harness({
      behaviour: (req) => {
        if (req.name === 'flaky' && failures-- > 0) throw new Error('transient');
        if (req.name === 'spawner') h.sink.upsert(thing('spawned'));
        return undefined;
      },
    });
    h.sink.upsert(thing('flaky'));
    h.sink.upsert(thing('spawner'));
    const run = h.controller.runOnce({ retries: 3 });
    await h.clock.advanceAsync(100);
    const summary = await run;
    expect(summary.failed).to.equal(0);
    expect(summary.succeeded).to.equal(3);
    expect(h.calls.filter((c) => c.key === 'Thing/flaky').map((c) => c.at)).to.deep.equal([
      0, 5, 15,
    ]);
    expect(h.calls.map((c) => c.key)).to.include('Thing/spawned');
  });

  it('validates its options and refuses a second start', async () => {
    const h = harness();
    expect(
      () =>
        new Controller(
          {
            name: 'x',
            watches: [],
            options: { maxConcurrentReconciles: 0 },
            reconciler: { reconcile: async () => undefined },
          },
          {
            cache: h.cache,
            logger: recordingLogger([]),
            recorder: h.recorder,
            conditions: new InMemoryConditionStore(),
            clock: h.clock,
          },
        ),
    ).to.throw(/maxConcurrentReconciles/);
    h.controller.start();
    expect(() => h.controller.start()).to.throw(/already running/);
    await h.controller.stop(0);
    expect(await h.controller.stop(0)).to.deep.equal({ drained: true, abandoned: [] });
  });

  describe('refused objects (the cache kept them out)', () => {
    /** Maps a widget to `Owner/<owner label>` and records what the map saw. */
    function ownerHarness(predicates?: Watch['predicates'], options?: ControllerOptions) {
      const seen: { name: string; spec: unknown; status: unknown; labels: unknown }[] = [];
      const h = harness({
        ...(options ? { options } : {}),
        watches: [
          {
            kind: 'Widget',
            map: (r) => {
              seen.push({
                name: r.metadata.name,
                spec: r.spec,
                status: r.status,
                labels: r.metadata.labels,
              });
              return [`Owner/${r.metadata.labels['owner'] ?? 'none'}`];
            },
            ...(predicates ? { predicates } : {}),
          },
        ],
      });
      return { ...h, seen };
    }

    it('a refused upsert enqueues the mapped key once; the same refusal again enqueues nothing', async () => {
      const h = ownerHarness();
      h.controller.start();
      await h.settle();
      expect(h.calls).to.have.length(0);
      const bad = widget('a', 0, '1', { owner: 'o1' }, { id: 'c1' });
      h.sink.upsert(bad);
      await h.settle();
      expect(h.calls.map((c) => c.key)).to.deep.equal(['Owner/o1']);
      expect(h.seen).to.deep.equal([
        { name: 'a', spec: undefined, status: { id: 'c1' }, labels: { owner: 'o1' } },
      ]);
      // the source delivers it again (new resourceVersion, relist): same content, no event
      h.sink.upsert({ ...bad, metadata: { ...bad.metadata, resourceVersion: '2' } });
      h.sink.replace([{ ...bad, metadata: { ...bad.metadata, resourceVersion: '3' } }]);
      await h.clock.advanceAsync(60_000);
      expect(h.calls).to.have.length(1);
      // changed content (status) is an event again
      h.sink.upsert(widget('a', 0, '4', { owner: 'o1' }, { id: 'c2' }));
      await h.settle();
      expect(h.calls.map((c) => c.key)).to.deep.equal(['Owner/o1', 'Owner/o1']);
      await h.controller.stop(0);
    });

    it('a source refusal without an object maps a view with empty labels and no status', async () => {
      const h = ownerHarness();
      h.controller.start();
      h.sink.reject('Widget/b', 'LabelTooLong', 'label widget.x is too long');
      await h.settle();
      expect(h.calls.map((c) => c.key)).to.deep.equal(['Owner/none']);
      expect(h.seen).to.deep.equal([{ name: 'b', spec: undefined, status: undefined, labels: {} }]);
      await h.controller.stop(0);
    });

    it('a refusal cleared by a delete enqueues the mapped key', async () => {
      const h = ownerHarness();
      h.controller.start();
      h.sink.upsert(widget('a', 0, '1', { owner: 'o1' }));
      await h.settle();
      h.sink.delete('Widget/a');
      await h.settle();
      expect(h.calls.map((c) => c.key)).to.deep.equal(['Owner/o1', 'Owner/o1']);
      expect(h.seen.map((s) => s.name)).to.deep.equal(['a', 'a']);
      h.sink.delete('Widget/a'); // gone already: nothing
      await h.settle();
      expect(h.calls).to.have.length(2);
      await h.controller.stop(0);
    });

    it('refused then valid: the add of the valid version enqueues, as for any add (mapped once)', async () => {
      const h = ownerHarness();
      h.controller.start();
      h.sink.upsert(widget('a', 0, '1', { owner: 'o1' }));
      await h.settle();
      h.sink.upsert(widget('a', 3, '2', { owner: 'o2' }));
      await h.settle();
      expect(h.calls.map((c) => c.key)).to.deep.equal(['Owner/o1', 'Owner/o2']);
      expect(h.seen.map((s) => s.spec)).to.deep.equal([undefined, { size: 3 }]);
      await h.controller.stop(0);
    });

    it('predicates filter refusals as creates and their deletes as deletes', async () => {
      const never = () => false;
      const blocked = ownerHarness([{ create: never, delete: never }]);
      blocked.controller.start();
      blocked.sink.upsert(widget('a', 0, '1', { owner: 'o1' }));
      blocked.sink.delete('Widget/a');
      await blocked.settle();
      expect(blocked.calls).to.have.length(0);
      await blocked.controller.stop(0);

      const deletesOnly = ownerHarness([{ create: never }]);
      deletesOnly.controller.start();
      deletesOnly.sink.upsert(widget('a', 0, '1', { owner: 'o1' }));
      await deletesOnly.settle();
      expect(deletesOnly.calls).to.have.length(0);
      deletesOnly.sink.delete('Widget/a');
      await deletesOnly.settle();
      expect(deletesOnly.calls.map((c) => c.key)).to.deep.equal(['Owner/o1']);
      await deletesOnly.controller.stop(0);
    });

    it('start and resync list valid resources only: a refusal recorded before start is no event', async () => {
      const h = ownerHarness(undefined, { resyncPeriodMs: 60_000 });
      h.sink.upsert(widget('a', 0, '1', { owner: 'o1' }));
      h.sink.upsert(widget('b', 2, '1', { owner: 'o2' }));
      h.controller.start();
      await h.settle();
      await h.clock.advanceAsync(60_000);
      expect(h.calls.map((c) => `${c.key}@${c.at}`)).to.deep.equal([
        'Owner/o2@0',
        'Owner/o2@60000',
      ]);
      await h.controller.stop(0);
    });
  });

  it('a signal first read after stop or timeout is already aborted, with the first reason', async () => {
    // The context signal is made on first read: a late read must see what an eager one would.
    const seen: unknown[] = [];
    let release!: () => void;
    const h = harness({
      behaviour: async (req, ctx) => {
        await new Promise<void>((resolve) => (release = resolve));
        seen.push(`${req.name}:${ctx.signal.aborted}`, ctx.signal.reason);
      },
    });
    h.sink.upsert(thing('a'));
    h.controller.start();
    await h.settle();
    const stopping = h.controller.stop(1000);
    await h.clock.advanceAsync(1000);
    expect(await stopping).to.deep.equal({ drained: false, abandoned: ['Thing/a'] });
    release();
    await h.settle();
    expect(seen[0]).to.equal('a:true');
    expect(seen[1]).to.be.instanceOf(ControllerStoppedError);

    // Timed out first, stopped later, read after both: the timeout is the reason.
    const t = harness({
      options: { reconcileTimeoutMs: 500 },
      behaviour: async (_req, ctx) => {
        await new Promise<void>((resolve) => (release = resolve));
        seen.push(ctx.signal.reason, ctx.signal === ctx.signal);
      },
    });
    t.sink.upsert(thing('b'));
    t.controller.start();
    await t.clock.advanceAsync(500);
    const stoppingT = t.controller.stop(0);
    await t.settle();
    await stoppingT;
    release();
    await t.settle();
    expect(seen[2]).to.be.instanceOf(ReconcileTimeoutError);
    expect(seen[3]).to.equal(true);
  });

  it('the context survives a spread: signal and logger (controller and key fields) included', async () => {
    let spread: ReconcileContext | undefined;
    const h = harness({
      behaviour: (_req, ctx) => {
        spread = { ...ctx };
        spread.logger.info('mine', { n: 1 });
      },
    });
    h.sink.upsert(thing('a'));
    h.controller.start();
    await h.settle();
    expect(spread?.signal).to.be.instanceOf(AbortSignal);
    expect(spread?.signal.aborted).to.equal(false);
    expect(spread?.recorder).to.equal(h.recorder);
    expect(h.lines.find((l) => l.action === 'mine')?.fields).to.deep.equal({
      controller: 'things',
      key: 'Thing/a',
      n: 1,
    });
    // The controller's own lines carry the same fields without a child logger.
    const done = h.lines.find((l) => l.action === 'reconcile.done');
    expect(done?.level).to.equal('debug');
    expect(done?.fields).to.deep.include({
      controller: 'things',
      key: 'Thing/a',
      result: 'success',
    });
    await h.controller.stop(0);
  });

  it('a malformed key is a terminal error', async () => {
    const h = harness({ options: { initialKeys: ['no-slash'] } });
    h.controller.start();
    await h.settle();
    expect(h.calls).to.have.length(0);
    expect(h.lines.find((l) => l.action === 'reconcile.error')!.fields).to.deep.include({
      controller: 'things',
      key: 'no-slash',
      terminal: true,
    });
    await h.clock.advanceAsync(10_000);
    await h.controller.stop(0);
  });
});

void flushMicrotasks;
