/**
 * The project's one retry backoff: the Docker events stream's reconnect (@dockop/docker) and
 * webhook delivery (backup notifications) use it. The work queue's per-item limiter
 * (rate-limiter.ts) is client-go's rule and stays separate.
 */
export interface BackoffOptions {
  /** First delay ceiling, ms. Default 500. */
  initialMs?: number;
  /** Growth per attempt. Default 2. */
  factor?: number;
  /** Ceiling of any delay, ms. Default 30000. */
  maxMs?: number;
  /** Connected this long (ms) resets the schedule to `initialMs`. Default 30000. */
  resetAfterMs?: number;
  /**
   * Full jitter (default true): a uniform random delay below the ceiling, so many clients do not
   * retry in step. false: exactly the ceiling (1 s, 2 s, 4 s...), for a single caller.
   */
  jitter?: boolean;
}

export const BACKOFF_DEFAULTS: Required<BackoffOptions> = {
  initialMs: 500,
  factor: 2,
  maxMs: 30_000,
  resetAfterMs: 30_000,
  jitter: true,
};

/**
 * Exponential backoff with full jitter (AWS architecture blog): attempt n waits a uniform random
 * time in [0, min(maxMs, initialMs × factor^n)). Never gives up; `reset()` after a healthy period.
 */
export class Backoff {
  readonly options: Required<BackoffOptions>;
  readonly #random: () => number;
  #attempt = 0;

  constructor(options: BackoffOptions = {}, random: () => number = Math.random) {
    this.options = { ...BACKOFF_DEFAULTS, ...options };
    this.#random = random;
    const { initialMs, factor, maxMs } = this.options;
    if (!(initialMs > 0) || !(factor >= 1) || !(maxMs >= initialMs)) {
      throw new Error(
        `invalid backoff: initialMs ${initialMs} > 0, factor ${factor} >= 1, maxMs ${maxMs} >= initialMs required`,
      );
    }
  }

  /** Ceiling of the next delay (before jitter). */
  ceiling(): number {
    const { initialMs, factor, maxMs } = this.options;
    // Stop multiplying once capped: factor^attempt overflows to Infinity after ~1000 attempts.
    return Math.min(maxMs, initialMs * Math.pow(factor, Math.min(this.#attempt, 64)));
  }

  /** Delay before the next attempt, and count the attempt. */
  next(): number {
    const ceiling = this.ceiling();
    const delay = this.options.jitter ? Math.floor(this.#random() * ceiling) : ceiling;
    this.#attempt++;
    return delay;
  }

  reset(): void {
    this.#attempt = 0;
  }

  get attempt(): number {
    return this.#attempt;
  }
}
