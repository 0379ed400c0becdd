/**
 * The abort signal of one reconcile, made on first read. Most reconciles of an aggregate
 * controller's per-key work never read it, and an `AbortController` per reconcile (an
 * `EventTarget`) plus a listener on the controller's stop signal was a fifth of the runtime's
 * per-key cost (issue #13). The controller calls `abort` on stop and on timeout instead of
 * listening; a signal read later is created already aborted, so every read sees what an eager
 * signal would have shown, with the first reason winning.
 */
export class ReconcileSignal {
  #controller: AbortController | undefined;
  #aborted = false;
  #reason: unknown;

  /** The signal; created on the first read, already aborted if `abort` ran before it. */
  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  /** Aborts the signal (now, or at its first read); later calls change nothing. */
  abort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    this.#controller?.abort(reason);
  }
}
