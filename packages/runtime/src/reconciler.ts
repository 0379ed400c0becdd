import type { Cache } from './cache.js';
import type { Clock } from './clock.js';
import type { ConditionStore } from './conditions.js';
import type { EventRecorder } from './event-recorder.js';
import type { Logger } from './logger.js';
import type { ResourceKey } from './resource.js';

/** What a reconciler is asked to converge: one key of the controller's queue. */
export interface ReconcileRequest {
  key: ResourceKey;
  /** Kind and name split out of `key` (a mapped key like `Config/main` splits the same way). */
  kind: string;
  name: string;
}

/** `requeueAfter` (ms) asks for another reconcile of the same key later, without counting a failure. */
export interface ReconcileResult {
  requeueAfter?: number;
  /** Retry with the rate limiter's backoff without counting an error (controller-runtime's Requeue). */
  requeue?: boolean;
}

/** Everything a reconcile may use; handed in per call so reconcilers stay stateless where they can. */
export interface ReconcileContext {
  /** Aborted on shutdown and when the per-reconcile timeout passes. */
  signal: AbortSignal;
  /** Child logger with `controller` and `key` fields already set. */
  logger: Logger;
  recorder: EventRecorder;
  conditions: ConditionStore;
  cache: Cache;
  clock: Clock;
  /**
   * Settles another key of this controller as this reconcile decided it, without queueing it:
   * counted as that key's reconcile (`controller_runtime_reconcile_total`, the run-once summary),
   * a success, or, with `error`, a terminal error (logged, and a Warning event recorded, as a
   * thrown `TerminalError` would be, unless `reported`). For an aggregate reconcile that decides
   * many keys' outcomes at once: the plan controller's render decides every workload's, and a
   * queue pass per workload only to say so cost a one-shot more than the answers themselves. The
   * key's queue entry, backoff and requeue are left alone; a key that needs work of its own is
   * enqueued instead (a `KeyTrigger`).
   */
  settle(key: ResourceKey, error?: TerminalError): void;
}

export interface Reconciler {
  /**
   * May answer synchronously (a result, nothing, or a throw): the controller then finishes the
   * key without a promise, which counts when one reconcile hands back thousands of keys.
   */
  reconcile(
    request: ReconcileRequest,
    ctx: ReconcileContext,
  ): Promise<ReconcileResult | void> | ReconcileResult | void;
}

/**
 * An error that retrying cannot fix (bad input, a refused config): the key is not retried with
 * backoff; it is reconciled again only when its resource changes or on the next resync.
 */
export class TerminalError extends Error {
  override readonly name = 'TerminalError';
  /**
   * The reconciler already told the operator (its own log line and Warning event, logged once):
   * the controller still counts the reconcile as an error (metrics, run-once summary) but logs
   * it at debug and records no second event. Default false.
   */
  readonly reported: boolean;
  constructor(
    message: string,
    readonly reason: string = 'TerminalError',
    options?: { cause?: unknown; reported?: boolean },
  ) {
    super(message, options?.cause !== undefined ? { cause: options.cause } : undefined);
    this.reported = options?.reported === true;
  }
}

export function isTerminalError(err: unknown): err is TerminalError {
  return err instanceof TerminalError;
}
