import { rejectedAsResource, type Cache } from './cache.js';
import type { Clock, TimerHandle } from './clock.js';
import type { ConditionStore } from './conditions.js';
import type { ControllerContribution, Watch } from './controller-contribution.js';
import type { EventRecorder } from './event-recorder.js';
import type { Logger } from './logger.js';
import type {
  ControllerMetrics,
  ControllerMetricsProvider,
  ReconcileResultLabel,
} from './metrics.js';
import { defaultControllerRateLimiter, type RateLimiter } from './rate-limiter.js';
import { ReconcileSignal } from './reconcile-signal.js';
import {
  isTerminalError,
  type ReconcileContext,
  type ReconcileRequest,
  type ReconcileResult,
  type TerminalError,
} from './reconciler.js';
import { keyOf, splitKey, type Resource, type ResourceKey } from './resource.js';
import type { ResourceEventHandler } from './resource-cache.js';
import { WorkQueue, type WorkQueueMetricsProvider } from './workqueue.js';

/** A `Cache` that also delivers change events (the `ResourceCache`). */
export interface InformerCache extends Cache {
  addEventHandler(handler: ResourceEventHandler, kind?: string): () => void;
}

export interface ControllerDeps {
  cache: InformerCache;
  logger: Logger;
  recorder: EventRecorder;
  conditions: ConditionStore;
  clock: Clock;
  /** Default: no metrics. */
  metrics?: ControllerMetricsProvider & WorkQueueMetricsProvider;
}

/** Why the context signal of a reconcile aborted when its time ran out. */
export class ReconcileTimeoutError extends Error {
  override readonly name = 'ReconcileTimeoutError';
}

/** Why the context signal of a reconcile aborted when the controller stopped. */
export class ControllerStoppedError extends Error {
  override readonly name = 'ControllerStoppedError';
}

export interface ReconcileOutcome {
  key: ResourceKey;
  result: ReconcileResultLabel;
  requeueAfter?: number;
  error?: unknown;
  terminal?: boolean;
}

export interface RunOnceOptions {
  /** Retries of a failed reconcile (with the rate limiter's backoff, on the clock). Default 0. */
  retries?: number;
}

export interface RunOnceSummary {
  controller: string;
  /** Reconcile calls made (retries included), and keys settled by another's (`ctx.settle`). */
  reconciled: number;
  succeeded: number;
  /** Keys whose last attempt failed. */
  failed: number;
  /** Keys whose reconcile asked for a later requeue (not waited for in run-once mode). */
  requeued: number;
  errors: { key: ResourceKey; error: string; terminal: boolean }[];
}

export interface StopResult {
  /** True when every in-flight reconcile finished within the graceful period. */
  drained: boolean;
  /** Keys still being reconciled when the graceful period ran out (their signal was aborted). */
  abandoned: ResourceKey[];
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Runs one `ControllerContribution`: cache events → map funcs and predicates → work queue → N
 * workers calling the reconciler (controller-runtime's `Controller`).
 *
 * Refusals count as events too: a refusal recorded or changed goes through the `create`
 * predicates, a refusal ended by a delete through the `delete` predicates, each with the refused
 * object as `rejectedAsResource` shapes it (a refusal ended by a valid version is the `add` that
 * follows). `enqueueAll` (start, resync) lists valid resources only, as before.
 *
 * Reconcile contract: a result with `requeueAfter` re-adds the key after that many ms; `requeue`
 * re-adds it with backoff; a thrown error re-adds it with backoff and counts an error; a
 * `TerminalError` counts an error, records a Warning event and is not retried; success forgets
 * the key's backoff, and, when the key names a resource of a watched kind that the cache no
 * longer holds (deleted), also drops the key's waiting requeue: the object is gone, and a
 * container churn would otherwise keep one timer per destroyed container for up to an hour.
 * `ctx.settle(key, error?)` counts another key's outcome as a reconcile (success or terminal
 * error) without a queue pass. An exception never escapes a worker.
 */
export class Controller {
  readonly name: string;
  readonly queue: WorkQueue<ResourceKey>;
  readonly #contribution: ControllerContribution;
  readonly #deps: ControllerDeps;
  readonly #logger: Logger;
  readonly #metrics: ControllerMetrics | undefined;
  readonly #rateLimiter: RateLimiter;
  readonly #workers: number;
  /** Aborted by `stop` (the retry sleeps of `runOnce` listen to it). */
  readonly #abort = new AbortController();
  /** Set by `stop`: what a reconcile starting afterwards is aborted with (a field: no getters). */
  #stopped: ControllerStoppedError | undefined;
  #unsubscribe: Array<() => void> = [];
  #resyncTimer: TimerHandle | undefined;
  #workerLoops: Promise<void>[] = [];
  #running = 0;
  #state: 'new' | 'running' | 'stopping' | 'stopped' = 'new';
  /** Keys being reconciled, with their context signal (aborted on stop). */
  readonly #inFlight = new Map<ResourceKey, ReconcileSignal>();
  /** `runOnce`: takes every outcome, reconciled or settled, for the summary. */
  #recordOnce: ((outcome: ReconcileOutcome) => void) | undefined;
  /** Every context's `settle`: one function, not one closure per reconcile. */
  readonly #settleKey = (key: ResourceKey, error?: TerminalError): void => {
    // Timed as taking no time: the calling reconcile made the decision (and is timed itself).
    const outcome =
      error === undefined ? this.#succeeded(key, 0, undefined) : this.#failed(key, 0, error);
    this.#recordOnce?.(outcome);
  };

  constructor(contribution: ControllerContribution, deps: ControllerDeps) {
    if (!contribution.name) throw new Error('ControllerContribution without a name');
    this.name = contribution.name;
    this.#contribution = contribution;
    this.#deps = deps;
    this.#logger = deps.logger.child({ controller: this.name });
    const opts = contribution.options ?? {};
    const workers = opts.maxConcurrentReconciles ?? 1;
    if (!Number.isInteger(workers) || workers < 1) {
      throw new Error(
        `controller ${this.name}: maxConcurrentReconciles must be an integer >= 1, got ${workers}`,
      );
    }
    this.#workers = workers;
    this.#rateLimiter = opts.rateLimiter ?? defaultControllerRateLimiter(deps.clock);
    this.queue = new WorkQueue<ResourceKey>({
      name: this.name,
      clock: deps.clock,
      rateLimiter: this.#rateLimiter,
      ...(opts.debounce ? { debounce: opts.debounce } : {}),
      ...(deps.metrics ? { metrics: deps.metrics } : {}),
    });
    this.#metrics = deps.metrics?.forController(this.name);
    this.#metrics?.maxConcurrentReconciles(workers);
  }

  get state(): 'new' | 'running' | 'stopping' | 'stopped' {
    return this.#state;
  }

  /** Worker loops currently alive (equals `maxConcurrentReconciles` while running). */
  get aliveWorkers(): number {
    return this.#running;
  }

  /** True while running with every worker loop alive. */
  healthy(): boolean {
    return this.#state === 'running' && this.#running === this.#workers;
  }

  /** Subscribes to the cache, enqueues existing resources and initial keys, starts the workers. */
  start(): void {
    if (this.#state !== 'new') throw new Error(`controller ${this.name} already ${this.#state}`);
    this.#state = 'running';
    this.#subscribe();
    this.enqueueAll();
    for (let i = 0; i < this.#workers; i++) this.#workerLoops.push(this.#worker());
    const period = this.#contribution.options?.resyncPeriodMs;
    if (period !== undefined && period > 0) this.#scheduleResync(period);
    this.#logger.info('controller.started', { workers: this.#workers });
  }

  /** Enqueue one key (as an event would). */
  enqueue(key: ResourceKey): void {
    this.queue.add(key);
  }

  /**
   * Enqueue every known resource of the watched kinds (mapped) and the initial keys. Refused
   * objects are not listed (like objects that do not exist): only their events enqueue, and an
   * aggregate reconciler reads them through `cache.rejected` on its initial key.
   */
  enqueueAll(): void {
    for (const key of this.#allKeys()) this.queue.add(key);
  }

  /**
   * Stop intake, let in-flight reconciles finish for up to `gracefulMs`, then abort their signals.
   * Queued keys not yet started are dropped (the next start lists everything again).
   */
  async stop(gracefulMs = 30_000): Promise<StopResult> {
    if (this.#state === 'new') {
      this.#state = 'stopped';
      this.queue.shutDown();
      return { drained: true, abandoned: [] };
    }
    if (this.#state !== 'running') return { drained: true, abandoned: [] };
    this.#state = 'stopping';
    for (const u of this.#unsubscribe) u();
    this.#unsubscribe = [];
    this.#resyncTimer?.cancel();
    const drain = this.queue.shutDownWithDrain();
    const timer = new AbortController();
    const drained =
      this.queue.processingCount() === 0 ||
      (gracefulMs > 0 &&
        (await Promise.race([
          drain.then(() => true),
          this.#deps.clock.sleep(gracefulMs, timer.signal).then(
            () => false,
            () => true,
          ),
        ])));
    timer.abort();
    const abandoned = [...this.#inFlight.keys()];
    if (!drained) {
      this.#logger.warn('controller.drain_timeout', { gracefulMs, abandoned });
    }
    const stopped = new ControllerStoppedError(`controller ${this.name} stopped`);
    this.#stopped = stopped;
    this.#abort.abort(stopped);
    for (const signal of this.#inFlight.values()) signal.abort(stopped);
    if (drained) await Promise.all(this.#workerLoops);
    this.#state = 'stopped';
    this.#logger.info('controller.stopped', { drained });
    return { drained, abandoned: drained ? [] : abandoned };
  }

  /**
   * Reconcile every known key (and every key events add meanwhile) until the queue is empty and
   * nothing is in flight, without waiting for debounce, `requeueAfter` or (by default) retries.
   * For one-shot CLI runs; the controller must not be running.
   */
  async runOnce(options: RunOnceOptions = {}): Promise<RunOnceSummary> {
    if (this.#state !== 'new')
      throw new Error(`controller ${this.name} is ${this.#state}; runOnce needs a new controller`);
    this.#state = 'running';
    const retries = options.retries ?? 0;
    const last = new Map<ResourceKey, ReconcileOutcome>();
    let reconciled = 0;
    // Settled keys count as reconciled: the summary is the same as when each took a queue pass.
    const record = (outcome: ReconcileOutcome): void => {
      reconciled++;
      last.set(outcome.key, outcome);
    };
    this.#recordOnce = record;
    this.#subscribe();
    this.enqueueAll();
    try {
      const worker = async (): Promise<void> => {
        for (;;) {
          const key = this.queue.tryGet();
          if (key === undefined) return;
          try {
            for (let attempt = 0; ; attempt++) {
              const run = this.#reconcile(key);
              const outcome = run instanceof Promise ? await run : run;
              record(outcome);
              if (outcome.result !== 'error' || outcome.terminal || attempt >= retries) break;
              await this.#deps.clock.sleep(this.#rateLimiter.when(key), this.#abort.signal);
            }
            this.#rateLimiter.forget(key);
          } finally {
            this.queue.done(key);
          }
        }
      };
      for (;;) {
        this.queue.flushDebounced();
        if (this.queue.len() === 0) break;
        this.#running = this.#workers;
        await Promise.all(Array.from({ length: this.#workers }, () => worker()));
        this.#running = 0;
      }
    } finally {
      for (const u of this.#unsubscribe) u();
      this.#unsubscribe = [];
      this.queue.shutDown();
      this.#recordOnce = undefined;
      this.#state = 'stopped';
    }
    const outcomes = [...last.values()];
    return {
      controller: this.name,
      reconciled,
      succeeded: outcomes.filter((o) => o.result === 'success').length,
      failed: outcomes.filter((o) => o.result === 'error').length,
      requeued: outcomes.filter((o) => o.result === 'requeue' || o.result === 'requeue_after')
        .length,
      errors: outcomes
        .filter((o) => o.result === 'error')
        .map((o) => ({ key: o.key, error: errorMessage(o.error), terminal: o.terminal === true })),
    };
  }

  #subscribe(): void {
    for (const trigger of this.#contribution.triggers ?? []) {
      this.#unsubscribe.push(trigger.subscribe((key) => this.queue.add(key)));
    }
    for (const watch of this.#contribution.watches) {
      const handler: ResourceEventHandler = {
        onAdd: (r) => {
          if (this.#passes(watch, (p) => p.create?.(r))) this.#enqueueMapped(watch, [r]);
        },
        onUpdate: (o, n) => {
          if (this.#passes(watch, (p) => p.update?.(o, n))) this.#enqueueMapped(watch, [o, n]);
        },
        onDelete: (r) => {
          if (this.#passes(watch, (p) => p.delete?.(r))) this.#enqueueMapped(watch, [r]);
        },
        onReject: (rejected) => {
          const r = rejectedAsResource(rejected);
          if (this.#passes(watch, (p) => p.create?.(r))) this.#enqueueMapped(watch, [r]);
        },
        onRejectCleared: (rejected, cause) => {
          // Accepted: the add of the valid version follows and enqueues on its own.
          if (cause !== 'deleted') return;
          const r = rejectedAsResource(rejected);
          if (this.#passes(watch, (p) => p.delete?.(r))) this.#enqueueMapped(watch, [r]);
        },
      };
      this.#unsubscribe.push(this.#deps.cache.addEventHandler(handler, watch.kind));
    }
  }

  /** Every predicate must allow the event; a predicate without the hook allows it. */
  #passes(
    watch: Watch,
    check: (p: NonNullable<Watch['predicates']>[number]) => boolean | undefined,
  ): boolean {
    for (const p of watch.predicates ?? []) {
      try {
        if (check(p) === false) return false;
      } catch (err) {
        this.#logger.error('controller.predicate_failed', { kind: watch.kind, error: err });
        return false;
      }
    }
    return true;
  }

  #mapKeys(watch: Watch, resources: Resource[]): ResourceKey[] {
    const keys = new Set<ResourceKey>();
    // Indexed over the resources (a one-shot maps every cached workload, in cold code, where a
    // for-of allocates an iterator result per step); a map's answer is walked as any iterable.
    for (let i = 0; i < resources.length; i++) {
      const r = resources[i]!;
      try {
        if (!watch.map) {
          keys.add(keyOf(r));
          continue;
        }
        for (const k of watch.map(r)) keys.add(k);
      } catch (err) {
        this.#logger.error('controller.map_failed', {
          kind: watch.kind,
          resource: r.metadata?.name,
          error: err,
        });
      }
    }
    return [...keys];
  }

  #enqueueMapped(watch: Watch, resources: Resource[]): void {
    for (const key of this.#mapKeys(watch, resources)) this.queue.add(key);
  }

  #allKeys(): ResourceKey[] {
    const keys = new Set<ResourceKey>(this.#contribution.options?.initialKeys ?? []);
    for (const watch of this.#contribution.watches) {
      for (const k of this.#mapKeys(watch, this.#deps.cache.list(watch.kind))) keys.add(k);
    }
    return [...keys];
  }

  #scheduleResync(period: number): void {
    this.#resyncTimer = this.#deps.clock.setTimeout(() => {
      if (this.#state !== 'running') return;
      this.#logger.debug('controller.resync', {});
      if (this.#contribution.options?.resyncKeys === 'initial') {
        for (const key of this.#contribution.options.initialKeys ?? []) this.queue.add(key);
      } else this.enqueueAll();
      this.#scheduleResync(period);
    }, period);
  }

  async #worker(): Promise<void> {
    this.#running++;
    try {
      for (;;) {
        const key = await this.queue.get();
        if (key === undefined) return;
        if (this.#state !== 'running') {
          // Stopping: keys queued but not started are dropped; only in-flight work drains.
          this.queue.done(key);
          continue;
        }
        try {
          const run = this.#reconcile(key);
          this.#applyOutcome(run instanceof Promise ? await run : run);
        } catch (err) {
          // #reconcile catches reconciler errors; this guards the bookkeeping itself.
          this.#logger.error('controller.worker_error', { key, error: err });
        } finally {
          this.queue.done(key);
        }
      }
    } finally {
      this.#running--;
    }
  }

  #applyOutcome(o: ReconcileOutcome): void {
    switch (o.result) {
      case 'success':
        this.queue.forget(o.key);
        // Map lookup first: the cache is only asked when an earlier reconcile asked to requeue.
        if (this.queue.isWaiting(o.key) && this.#gone(o.key)) this.queue.cancelWaiting(o.key);
        return;
      case 'requeue_after':
        this.queue.forget(o.key);
        this.queue.addAfter(o.key, o.requeueAfter ?? 0);
        return;
      case 'requeue':
        this.queue.addRateLimited(o.key);
        return;
      case 'error':
        if (o.terminal) this.queue.forget(o.key);
        else this.queue.addRateLimited(o.key);
        return;
    }
  }

  /** `key` names a resource of a watched kind that the cache does not hold (deleted or refused). */
  #gone(key: ResourceKey): boolean {
    let kind: string;
    try {
      kind = splitKey(key).kind;
    } catch {
      return false; // not a resource key (an aggregate key of the reconciler's own)
    }
    return (
      this.#contribution.watches.some((w) => w.kind === kind) &&
      this.#deps.cache.get(key) === undefined
    );
  }

  /**
   * One reconcile call with its context, metrics, logs and events; never throws. A reconciler
   * that answers synchronously (a value or a throw) is finished synchronously: no promise, no
   * microtask per key. The plan controller answers each of a one-shot's thousands of workload
   * keys that way, and those promises were most of the runtime's per-key cost (issue #13).
   */
  #reconcile(key: ResourceKey): ReconcileOutcome | Promise<ReconcileOutcome> {
    const { clock, recorder, conditions, cache } = this.#deps;
    // This method's own lines name `key` themselves, the fields a child logger would add: the
    // reconciler's child logger (ctx.logger) is made only if it logs (issue #13).
    const logger = this.#logger;
    let request: ReconcileRequest;
    try {
      const { kind, name } = splitKey(key);
      request = { key, kind, name };
    } catch (err) {
      logger.error('reconcile.error', { key, error: err, terminal: true });
      this.#metrics?.error();
      this.#metrics?.reconciled('error', 0);
      return { key, result: 'error', error: err, terminal: true };
    }
    // Aborted by `stop` (through #inFlight) and by the timeout; made only if the reconcile reads it.
    const abort = new ReconcileSignal();
    if (this.#stopped) abort.abort(this.#stopped);
    const timeoutMs = this.#contribution.options?.reconcileTimeoutMs;
    const timeout =
      timeoutMs !== undefined && timeoutMs > 0
        ? clock.setTimeout(
            () =>
              abort.abort(
                new ReconcileTimeoutError(`reconcile of ${key} exceeded ${timeoutMs} ms`),
              ),
            timeoutMs,
          )
        : undefined;
    let child: Logger | undefined;
    // Own getters (not a class's prototype ones): a reconciler spreading ctx still gets both.
    const ctx: ReconcileContext = {
      get signal() {
        return abort.signal;
      },
      get logger() {
        return (child ??= logger.child({ key }));
      },
      recorder,
      conditions,
      cache,
      clock,
      settle: this.#settleKey,
    };
    const started = clock.now();
    logger.debug('reconcile.start', { key });
    let result;
    try {
      result = this.#contribution.reconciler.reconcile(request, ctx);
    } catch (err) {
      timeout?.cancel();
      return this.#failed(key, this.#since(started), err);
    }
    if (!isPromiseLike(result)) {
      timeout?.cancel();
      return this.#succeeded(key, this.#since(started), result);
    }
    // In flight (until then nothing could run beside it: no stop to abort it, no scrape).
    this.#inFlight.set(key, abort);
    this.#metrics?.activeWorkers(1);
    return this.#finishAsync(key, started, timeout, result);
  }

  /** The rest of `#reconcile` for a reconciler that answered with a promise (in flight). */
  async #finishAsync(
    key: ResourceKey,
    started: number,
    timeout: TimerHandle | undefined,
    pending: PromiseLike<ReconcileResult | void>,
  ): Promise<ReconcileOutcome> {
    try {
      return this.#succeeded(key, this.#since(started), await pending);
    } catch (err) {
      return this.#failed(key, this.#since(started), err);
    } finally {
      timeout?.cancel();
      this.#inFlight.delete(key);
      this.#metrics?.activeWorkers(-1);
    }
  }

  /** Seconds since `started` (a clock reading). */
  #since(started: number): number {
    return (this.#deps.clock.now() - started) / 1000;
  }

  #succeeded(key: ResourceKey, seconds: number, r: ReconcileResult | void): ReconcileOutcome {
    const logger = this.#logger;
    const result = r as ReconcileResult | undefined;
    if (result?.requeue) {
      this.#metrics?.reconciled('requeue', seconds);
      logger.debug('reconcile.done', { key, result: 'requeue', durationMs: seconds * 1000 });
      return { key, result: 'requeue' };
    }
    const after = result?.requeueAfter;
    if (after !== undefined && after > 0) {
      this.#metrics?.reconciled('requeue_after', seconds);
      logger.debug('reconcile.done', {
        key,
        result: 'requeue_after',
        requeueAfter: after,
        durationMs: seconds * 1000,
      });
      return { key, result: 'requeue_after', requeueAfter: after };
    }
    this.#metrics?.reconciled('success', seconds);
    logger.debug('reconcile.done', { key, result: 'success', durationMs: seconds * 1000 });
    return { key, result: 'success' };
  }

  #failed(key: ResourceKey, seconds: number, err: unknown): ReconcileOutcome {
    const logger = this.#logger;
    this.#metrics?.error();
    this.#metrics?.reconciled('error', seconds);
    if (isTerminalError(err) && err.reported) {
      // Counted above; the reconciler logged it and recorded its event itself.
      logger.debug('reconcile.error', { key, error: err, terminal: true, reason: err.reason });
      return { key, result: 'error', error: err, terminal: true };
    }
    if (isTerminalError(err)) {
      logger.error('reconcile.error', { key, error: err, terminal: true, reason: err.reason });
      try {
        this.#deps.recorder.event(key, 'Warning', err.reason, err.message);
      } catch (recErr) {
        logger.error('reconcile.event_failed', { key, error: recErr });
      }
      return { key, result: 'error', error: err, terminal: true };
    }
    logger.error('reconcile.error', { key, error: err, retries: this.queue.numRequeues(key) });
    return { key, result: 'error', error: err, terminal: false };
  }
}

function isPromiseLike<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as { then?: unknown } | undefined)?.then === 'function';
}
