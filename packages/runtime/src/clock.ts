/** Injectable time, so backoff, debounce and resync are tested on virtual time. */
export const Clock = Symbol.for('dockop.Clock');

export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  /** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/**
 * `Clock.sleep` on top of a clock's own `setTimeout`: resolves after `ms`, or rejects with the
 * signal's reason (cancelling the timer) when it aborts first. Every Clock implementation shares it.
 */
export function sleepOn(
  clock: Pick<Clock, 'setTimeout'>,
  ms: number,
  signal?: AbortSignal,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      handle.cancel();
      reject(signal?.reason);
    };
    const handle = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
