import type { Clock } from './clock.js';

/**
 * Decides how long a key waits before it is retried (client-go `workqueue.TypedRateLimiter`).
 * `when` records a failure and returns the delay in ms; `forget` clears the key's history once
 * it succeeded; `numRequeues` is how many failures were recorded since the last `forget`.
 */
export interface RateLimiter {
  when(key: string): number;
  forget(key: string): void;
  numRequeues(key: string): number;
}

/** Per-key exponential backoff: `baseDelayMs * 2^failures`, capped at `maxDelayMs`. */
export class ItemExponentialFailureRateLimiter implements RateLimiter {
  readonly #failures = new Map<string, number>();
  readonly #base: number;
  readonly #max: number;

  /** Defaults: 5 ms → 1000 s, client-go's `DefaultControllerRateLimiter`. */
  constructor(baseDelayMs = 5, maxDelayMs = 1_000_000) {
    if (!(baseDelayMs >= 0) || !(maxDelayMs >= 0)) {
      throw new RangeError(`backoff delays must be >= 0 (base ${baseDelayMs}, max ${maxDelayMs})`);
    }
    this.#base = baseDelayMs;
    this.#max = maxDelayMs;
  }

  when(key: string): number {
    const exp = this.#failures.get(key) ?? 0;
    this.#failures.set(key, exp + 1);
    // 2^exp overflows to Infinity long before exp grows unbounded; the cap handles both.
    const backoff = this.#base * Math.pow(2, exp);
    return backoff > this.#max || !Number.isFinite(backoff) ? this.#max : backoff;
  }

  numRequeues(key: string): number {
    return this.#failures.get(key) ?? 0;
  }

  forget(key: string): void {
    this.#failures.delete(key);
  }
}

/**
 * Overall token bucket (golang.org/x/time/rate semantics): `qps` tokens per second refill a bucket
 * of `burst`; each `when` reserves one token and returns how long until it is available. Not per key.
 */
export class BucketRateLimiter implements RateLimiter {
  readonly #qps: number;
  readonly #burst: number;
  readonly #clock: Clock;
  #tokens: number;
  #last: number;

  /** Defaults: 10 per second, burst 100. */
  constructor(clock: Clock, qps = 10, burst = 100) {
    if (!(qps > 0) || !(burst >= 1)) {
      throw new RangeError(
        `token bucket needs qps > 0 and burst >= 1 (qps ${qps}, burst ${burst})`,
      );
    }
    this.#clock = clock;
    this.#qps = qps;
    this.#burst = burst;
    this.#tokens = burst;
    this.#last = clock.now();
  }

  when(): number {
    const now = this.#clock.now();
    const elapsed = Math.max(0, now - this.#last);
    this.#last = Math.max(this.#last, now);
    this.#tokens = Math.min(this.#burst, this.#tokens + (elapsed * this.#qps) / 1000);
    this.#tokens -= 1;
    return this.#tokens >= 0 ? 0 : (-this.#tokens / this.#qps) * 1000;
  }

  numRequeues(): number {
    return 0;
  }

  forget(): void {}
}

/** The longest delay of all its limiters; `numRequeues` is the largest count. */
export class MaxOfRateLimiter implements RateLimiter {
  readonly #limiters: RateLimiter[];

  constructor(...limiters: RateLimiter[]) {
    if (limiters.length === 0) throw new Error('MaxOfRateLimiter needs at least one limiter');
    this.#limiters = limiters;
  }

  when(key: string): number {
    let max = 0;
    // Every limiter must record the failure, so no short-circuit.
    for (const l of this.#limiters) max = Math.max(max, l.when(key));
    return max;
  }

  numRequeues(key: string): number {
    let max = 0;
    for (const l of this.#limiters) max = Math.max(max, l.numRequeues(key));
    return max;
  }

  forget(key: string): void {
    for (const l of this.#limiters) l.forget(key);
  }
}

/** client-go's default: max of per-item exponential (5 ms → 1000 s) and a 10/s burst-100 bucket. */
export function defaultControllerRateLimiter(clock: Clock): RateLimiter {
  return new MaxOfRateLimiter(
    new ItemExponentialFailureRateLimiter(5, 1_000_000),
    new BucketRateLimiter(clock, 10, 100),
  );
}
