import type { Resource, ResourceKey } from './resource.js';
import type { Reconciler } from './reconciler.js';
import type { RateLimiter } from './rate-limiter.js';
import type { KeyTrigger } from './key-trigger.js';

/**
 * Extension point: every binding of `ControllerContribution` becomes a running controller.
 * Built-in controllers and plugins contribute the same way (multi-injection).
 */
export const ControllerContribution = Symbol.for('dockop.ControllerContribution');

/**
 * Maps a changed resource to the keys to reconcile (controller-runtime's
 * EnqueueRequestsFromMapFunc). For a refused object (see `Watch`) it gets `rejectedAsResource`'s
 * view: labels and, when the source delivered it, status; `spec` is `undefined`.
 */
export type MapFunc = (resource: Resource) => ResourceKey[];

/**
 * Filters events before they reach the queue (controller-runtime's predicates). A refusal
 * recorded or changed is filtered by `create`, a refused object deleted by `delete`.
 */
export interface Predicate {
  create?(resource: Resource): boolean;
  update?(oldResource: Resource, newResource: Resource): boolean;
  delete?(resource: Resource): boolean;
}

/**
 * Events on `kind` that enqueue keys: add, update and delete of valid resources, and refusals
 * (objects of the kind the cache kept out, as `Cache#rejected` lists them) when one is recorded,
 * changes its reason, message, labels or status, or ends by a delete. A refusal delivered again
 * unchanged enqueues nothing; one ended by a valid version enqueues through that version's add.
 */
export interface Watch {
  kind: string;
  /** Default: the resource's own key. */
  map?: MapFunc;
  predicates?: Predicate[];
}

export interface DebounceOptions {
  /** Trailing quiet period in ms: a key is handed out only after this long without a new add. */
  quietMs: number;
  /** Upper bound in ms from the first add of a burst: no key is postponed longer than this. */
  maxWaitMs: number;
  /**
   * Leading edge: the first add of a key that saw no add for `quietMs` is queued at once; adds
   * after it are merged as usual (trailing, bounded by `maxWaitMs`). A lone change is not
   * delayed at all; a burst still becomes one trailing add per `maxWaitMs`. Default false.
   */
  leading?: boolean;
}

export interface ControllerOptions {
  /** Default 1. */
  maxConcurrentReconciles?: number;
  /** Per-reconcile timeout in ms; the context signal aborts when it passes. Default: none. */
  reconcileTimeoutMs?: number;
  /** Re-enqueue every known key this often (ms). Default: none (sources resync on their own). */
  resyncPeriodMs?: number;
  /**
   * What the periodic resync re-enqueues: `all` (every known key of the watched kinds and the
   * initial keys) or `initial` (the initial keys only: a controller whose resource keys follow
   * their events and their own `requeueAfter`, and whose periodic work is an aggregate key that
   * enqueues what changed). Default `all`.
   */
  resyncKeys?: 'all' | 'initial';
  /** Merge bursts of adds of the same key. Default: none. */
  debounce?: DebounceOptions;
  /** Keys reconciled once at start even if no event arrives (e.g. an aggregate key). */
  initialKeys?: ResourceKey[];
  /** Retry backoff for failed reconciles. Default: `defaultControllerRateLimiter(clock)`. */
  rateLimiter?: RateLimiter;
}

export interface ControllerContribution {
  /** Unique; the `controller` label of metrics and logs. */
  readonly name: string;
  /** What this controller watches; events on them enqueue keys. */
  readonly watches: Watch[];
  /**
   * Keys fired by code rather than by resource events (controller-runtime's channel source),
   * e.g. one controller handing work to another. Default: none.
   */
  readonly triggers?: KeyTrigger[];
  readonly options?: ControllerOptions;
  readonly reconciler: Reconciler;
}
