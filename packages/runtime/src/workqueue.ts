/**
 * A rate-limited, delaying, optionally debouncing work queue with client-go's `util/workqueue`
 * semantics.
 *
 * Invariants (each holds after every public call returns):
 *  1. Dirty set: a key is queued at most once. Adding a key that is already queued is a no-op.
 *  2. Processing set: a key handed out by `get` is never handed out again until `done(key)`.
 *     Adding it meanwhile marks it dirty; `done` then queues it again, so the change is not lost
 *     and no two workers ever hold the same key.
 *  3. Every key passed to `add` before shutdown is eventually handed out by `get` (after its
 *     debounce, when debouncing), unless the queue shuts down first.
 *  4. `addAfter`: a key waits at most once; a second `addAfter` keeps the earliest ready time.
 *     When it is ready it is added like `add` (so invariant 1 and 2 apply). `add` does not cancel
 *     a waiting `addAfter` (client-go semantics: a requested later reconcile still happens); only
 *     `cancelWaiting` does.
 *  5. Debounce (optional): `add` holds a key for a trailing quiet period; every new `add` of the
 *     same key restarts it, but never past `maxWaitMs` after the first add of the burst. A key
 *     already queued is not debounced again (it will be processed with the latest state anyway).
 *  6. Shutdown: after `shutDown`, adds are ignored; keys still queued are handed out; `get`
 *     resolves `undefined` once the queue is empty. `shutDownWithDrain` also waits until no key
 *     is being processed. Waiting and debounced keys are dropped.
 *  7. Waiters: a pending `get` exists only while the queue is empty; keys go to waiters FIFO.
 */
import type { Clock, TimerHandle } from './clock.js';
import type { DebounceOptions } from './controller-contribution.js';
import { defaultControllerRateLimiter, type RateLimiter } from './rate-limiter.js';
import { SystemClock } from './system-clock.js';

/** Per-queue metric hooks; implemented with prom-client in `metrics.ts`, so this file has none. */
export interface WorkQueueMetrics {
  /** A key entered the dirty set (workqueue_adds_total). */
  add(): void;
  /** Current number of queued keys (workqueue_depth). */
  depth(n: number): void;
  /** Seconds a key waited between add and get (workqueue_queue_duration_seconds). */
  queueDuration(seconds: number): void;
  /** Seconds between get and done (workqueue_work_duration_seconds). */
  workDuration(seconds: number): void;
  /** An `addAfter`/`addRateLimited` (workqueue_retries_total). */
  retry(): void;
}

/** Read at scrape time, so the queue needs no polling loop for these two gauges. */
export interface WorkQueueProbe {
  /** Sum of seconds every key in processing has been in processing. */
  unfinishedWorkSeconds(): number;
  /** Seconds the longest-running key has been in processing. */
  longestRunningProcessorSeconds(): number;
}

export interface WorkQueueMetricsProvider {
  forQueue(name: string, probe: WorkQueueProbe): WorkQueueMetrics;
}

export interface WorkQueueOptions {
  /** The `name` label of the queue's metrics. Default `'workqueue'`. */
  name?: string;
  /** Default: a `SystemClock`. */
  clock?: Clock;
  /** Default: `defaultControllerRateLimiter(clock)`. */
  rateLimiter?: RateLimiter;
  /** Default: none (adds are immediate). */
  debounce?: DebounceOptions;
  /** Default: none. */
  metrics?: WorkQueueMetricsProvider;
}

interface Delayed {
  readyAt: number;
  handle: TimerHandle;
}

interface Debounced {
  firstAt: number;
  dueAt: number;
  handle: TimerHandle;
}

/** `#state` bits of a key: queued or to be re-queued (the dirty set), handed out (processing). */
const DIRTY = 1;
const PROCESSING = 2;

/** Smallest prune threshold of the leading-edge debounce's `#lastAdd`. */
const LAST_ADD_MIN = 64;

const noMetrics: WorkQueueMetrics = {
  add() {},
  depth() {},
  queueDuration() {},
  workDuration() {},
  retry() {},
};

export class WorkQueue<K = string> {
  readonly name: string;
  readonly #clock: Clock;
  readonly #rateLimiter: RateLimiter;
  readonly #debounce: DebounceOptions | undefined;
  readonly #metrics: WorkQueueMetrics;
  /** Timestamps are only taken when a metrics provider reads them (hot path otherwise). */
  readonly #timed: boolean;

  // FIFO as array + head index: shift() is O(n) on large arrays.
  #queue: K[] = [];
  #head = 0;
  /**
   * The dirty and processing sets as one map of bits (DIRTY | PROCESSING): one hash lookup per
   * operation where two sets took two (the hot path of every add, get and done).
   */
  readonly #state = new Map<K, number>();
  #processingCount = 0;
  /** Start time of each key in processing (only when timed). */
  readonly #startedAt = new Map<K, number>();
  /** Add time of each `#queue` entry, same index (only when timed). */
  #queuedAt: number[] = [];
  /** Add time of keys added again while in processing; `done` queues them with it. */
  readonly #addedAt = new Map<K, number>();
  readonly #waiting = new Map<K, Delayed>();
  readonly #debouncing = new Map<K, Debounced>();
  /** Last add of each key (leading-edge debounce only): a key quiet for `quietMs` goes at once. */
  readonly #lastAdd = new Map<K, number>();
  /**
   * `#lastAdd` is pruned when it grows past this, which then becomes twice what survived: it
   * stays near the number of keys added within one quiet period (amortized O(1) per add), not
   * one entry per key ever added (a destroyed container's) up to a fixed cap.
   */
  #lastAddLimit = LAST_ADD_MIN;
  #waiters: Array<(key: K | undefined) => void> = [];
  #shuttingDown = false;
  #drainWaiters: Array<() => void> = [];

  constructor(options: WorkQueueOptions = {}) {
    this.name = options.name ?? 'workqueue';
    this.#clock = options.clock ?? new SystemClock();
    this.#rateLimiter = options.rateLimiter ?? defaultControllerRateLimiter(this.#clock);
    const d = options.debounce;
    if (d) {
      if (!(d.quietMs >= 0) || !(d.maxWaitMs >= d.quietMs)) {
        throw new RangeError(
          `queue ${this.name}: debounce needs 0 <= quietMs <= maxWaitMs (got quietMs ${d.quietMs}, maxWaitMs ${d.maxWaitMs})`,
        );
      }
    }
    this.#debounce = d && d.maxWaitMs > 0 ? d : undefined;
    this.#timed = options.metrics !== undefined;
    this.#metrics =
      options.metrics?.forQueue(this.name, {
        unfinishedWorkSeconds: () => this.unfinishedWorkSeconds(),
        longestRunningProcessorSeconds: () => this.longestRunningProcessorSeconds(),
      }) ?? noMetrics;
  }

  /** Queue a key (after the debounce period, when debouncing). Ignored after shutdown. */
  add(key: K): void {
    // Hot path first: a key already queued (and not waiting out a debounce) changes nothing.
    const state = this.#state.get(key);
    if ((state !== undefined && state & DIRTY) || this.#shuttingDown) return;
    if (this.#debounce) this.#debounceAdd(key, this.#debounce);
    // Nothing can be debouncing without a debounce option: straight to the dirty set.
    else this.#markDirty(key, state);
  }

  /** Queue a key once `ms` passed; the earliest requested time wins. `ms <= 0` adds now. */
  addAfter(key: K, ms: number): void {
    if (this.#shuttingDown) return;
    this.#metrics.retry();
    if (!(ms > 0)) {
      this.#addNow(key);
      return;
    }
    const readyAt = this.#clock.now() + ms;
    const existing = this.#waiting.get(key);
    if (existing) {
      if (existing.readyAt <= readyAt) return;
      existing.handle.cancel();
    }
    const handle = this.#clock.setTimeout(() => {
      this.#waiting.delete(key);
      this.#addNow(key);
    }, ms);
    this.#waiting.set(key, { readyAt, handle });
  }

  /** Queue a key after the rate limiter's delay for it (one more recorded failure). */
  addRateLimited(key: K): void {
    this.addAfter(key, this.#rateLimiter.when(this.#limiterKey(key)));
  }

  /** Clear the key's failure history (call after it was processed successfully). */
  forget(key: K): void {
    this.#rateLimiter.forget(this.#limiterKey(key));
  }

  numRequeues(key: K): number {
    return this.#rateLimiter.numRequeues(this.#limiterKey(key));
  }

  /**
   * The next key, waiting until one is queued. Resolves `undefined` once the queue is shut down
   * and empty. The caller must call `done(key)` when finished with it.
   */
  get(): Promise<K | undefined> {
    if (this.#size() > 0) return Promise.resolve(this.#take());
    if (this.#shuttingDown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** The next key if one is queued right now, else `undefined`; never waits. */
  tryGet(): K | undefined {
    return this.#size() > 0 ? this.#take() : undefined;
  }

  /** Marks a key handed out by `get` as finished; re-queues it if it was added meanwhile. */
  done(key: K): void {
    const state = this.#state.get(key);
    if (state === undefined || !(state & PROCESSING)) return;
    this.#processingCount--;
    if (state & DIRTY) this.#state.set(key, DIRTY);
    else this.#state.delete(key);
    if (this.#timed) {
      const started = this.#startedAt.get(key) ?? 0;
      this.#startedAt.delete(key);
      const now = this.#clock.now();
      this.#metrics.workDuration((now - started) / 1000);
      if (state & DIRTY) {
        const added = this.#addedAt.get(key) ?? now;
        this.#addedAt.delete(key);
        this.#push(key, added, now);
      }
    } else if (state & DIRTY) {
      this.#push(key, 0, 0);
    }
    // #push may have handed the key straight to a waiting worker: check processing afterwards.
    if (this.#processingCount === 0 && this.#drainWaiters.length > 0) {
      const waiters = this.#drainWaiters;
      this.#drainWaiters = [];
      for (const w of waiters) w();
    }
  }

  /** Number of queued keys (not counting those in processing, waiting or debouncing). */
  len(): number {
    return this.#size();
  }

  /** Number of keys handed out and not yet `done`. */
  processingCount(): number {
    return this.#processingCount;
  }

  /** True while `key` is handed out and not yet `done`. */
  isProcessing(key: K): boolean {
    return ((this.#state.get(key) ?? 0) & PROCESSING) !== 0;
  }

  /** True while `key` waits for an `addAfter` time. */
  isWaiting(key: K): boolean {
    return this.#waiting.has(key);
  }

  /**
   * Drops the waiting `addAfter` of `key` and cancels its timer; false when there was none.
   * A deleted object's requeue (often an hour away) would otherwise keep a timer and an entry per
   * destroyed container that long, only to reconcile something that is gone.
   */
  cancelWaiting(key: K): boolean {
    const d = this.#waiting.get(key);
    if (!d) return false;
    d.handle.cancel();
    this.#waiting.delete(key);
    return true;
  }

  /** Keys the leading-edge debounce remembers the last add of (diagnostics, tests). */
  leadingTracked(): number {
    return this.#lastAdd.size;
  }

  /** Number of keys waiting for an `addAfter` time or a debounce period. */
  delayedCount(): number {
    return this.#waiting.size + this.#debouncing.size;
  }

  /** Queue every debounced key now (used by run-once mode, which must not wait for quiet). */
  flushDebounced(): void {
    for (const key of [...this.#debouncing.keys()]) this.#addNow(key);
  }

  /** Queue every key waiting for an `addAfter` time now. */
  flushDelayed(): void {
    for (const [key, d] of [...this.#waiting]) {
      d.handle.cancel();
      this.#waiting.delete(key);
      this.#addNow(key);
    }
  }

  get shuttingDown(): boolean {
    return this.#shuttingDown;
  }

  /** Stop accepting keys; pending `get`s resolve `undefined` once the queue is empty. */
  shutDown(): void {
    if (this.#shuttingDown) return;
    this.#shuttingDown = true;
    for (const d of this.#waiting.values()) d.handle.cancel();
    this.#waiting.clear();
    for (const d of this.#debouncing.values()) d.handle.cancel();
    this.#debouncing.clear();
    // Invariant 7: waiters exist only while the queue is empty, so they all get `undefined`.
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w(undefined);
  }

  /** `shutDown`, then resolve once no key is in processing (in-flight work finished). */
  shutDownWithDrain(): Promise<void> {
    this.shutDown();
    if (this.#processingCount === 0) return Promise.resolve();
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }

  /** Seconds of work in progress (0 unless a metrics provider is set: no timestamps otherwise). */
  unfinishedWorkSeconds(): number {
    if (!this.#timed) return 0;
    const now = this.#clock.now();
    let total = 0;
    for (const started of this.#startedAt.values()) total += now - started;
    return total / 1000;
  }

  longestRunningProcessorSeconds(): number {
    if (!this.#timed) return 0;
    const now = this.#clock.now();
    let longest = 0;
    for (const started of this.#startedAt.values()) longest = Math.max(longest, now - started);
    return longest / 1000;
  }

  #limiterKey(key: K): string {
    return typeof key === 'string' ? key : JSON.stringify(key);
  }

  #debounceAdd(key: K, d: DebounceOptions): void {
    // Already queued (or re-queued after processing): it will run with the latest state.
    const state = this.#state.get(key) ?? 0;
    if (state & DIRTY) return;
    const now = this.#clock.now();
    const existing = this.#debouncing.get(key);
    if (d.leading) {
      const last = this.#lastAdd.get(key);
      this.#lastAdd.set(key, now);
      if (this.#lastAdd.size > this.#lastAddLimit) {
        this.#forgetQuiet(now, d.quietMs);
        this.#lastAddLimit = Math.max(LAST_ADD_MIN, 2 * this.#lastAdd.size);
      }
      if (!existing && !(state & PROCESSING) && (last === undefined || now - last >= d.quietMs)) {
        this.#addNow(key);
        return;
      }
    }
    const firstAt = existing?.firstAt ?? now;
    const dueAt = Math.min(now + d.quietMs, firstAt + d.maxWaitMs);
    if (existing) {
      if (existing.dueAt === dueAt) return;
      existing.handle.cancel();
    }
    const handle = this.#clock.setTimeout(() => {
      this.#debouncing.delete(key);
      this.#addNow(key);
    }, dueAt - now);
    this.#debouncing.set(key, { firstAt, dueAt, handle });
  }

  /** Bounds `#lastAdd`: keys quiet for `quietMs` would go at once anyway. */
  #forgetQuiet(now: number, quietMs: number): void {
    for (const [k, at] of this.#lastAdd) if (now - at >= quietMs) this.#lastAdd.delete(k);
  }

  #addNow(key: K): void {
    if (this.#shuttingDown) return;
    // Size check first: the lookup is skipped on the hot path (no debounce, or nothing pending).
    if (this.#debouncing.size > 0) {
      const debounced = this.#debouncing.get(key);
      if (debounced) {
        debounced.handle.cancel();
        this.#debouncing.delete(key);
      }
    }
    const state = this.#state.get(key);
    if (state !== undefined && state & DIRTY) return;
    this.#markDirty(key, state);
  }

  /**
   * `key` is not dirty yet (`state`: its current bits): mark it, and queue it unless a worker
   * holds it (invariants 1, 2).
   */
  #markDirty(key: K, state: number | undefined): void {
    this.#state.set(key, (state ?? 0) | DIRTY);
    // One clock read per operation, and none without metrics.
    const now = this.#timed ? this.#clock.now() : 0;
    if (this.#timed) this.#metrics.add();
    if (state !== undefined && state & PROCESSING) {
      if (this.#timed) this.#addedAt.set(key, now);
      return;
    }
    this.#push(key, now, now);
  }

  /** `now`: the caller's clock reading, reused if a waiter takes the key at once. */
  #push(key: K, addedAt: number, now: number): void {
    const waiter = this.#waiters.length > 0 ? this.#waiters.shift() : undefined;
    if (waiter) {
      // Invariant 7: the queue is empty, so this key is next in FIFO order anyway.
      waiter(this.#takeKey(key, addedAt, now));
      return;
    }
    this.#queue.push(key);
    if (this.#timed) {
      this.#queuedAt.push(addedAt);
      this.#metrics.depth(this.#size());
    }
  }

  #size(): number {
    return this.#queue.length - this.#head;
  }

  #take(): K {
    const key = this.#queue[this.#head] as K;
    const addedAt = this.#timed ? (this.#queuedAt[this.#head] as number) : 0;
    this.#head++;
    if (this.#head === this.#queue.length) {
      this.#queue = [];
      this.#queuedAt = [];
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      if (this.#timed) this.#queuedAt = this.#queuedAt.slice(this.#head);
      this.#head = 0;
    }
    if (!this.#timed) return this.#takeKey(key, 0, 0);
    this.#metrics.depth(this.#size());
    return this.#takeKey(key, addedAt, this.#clock.now());
  }

  #takeKey(key: K, addedAt: number, now: number): K {
    // Queued keys are never in processing (invariant 2): the bits are exactly DIRTY.
    this.#state.set(key, PROCESSING);
    this.#processingCount++;
    if (this.#timed) {
      this.#startedAt.set(key, now);
      this.#metrics.queueDuration((now - addedAt) / 1000);
    }
    return key;
  }
}
