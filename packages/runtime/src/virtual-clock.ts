import { sleepOn, type Clock, type TimerHandle } from './clock.js';

interface VirtualTimer {
  due: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

/**
 * A clock that only moves when told to. Timers run in due order (ties in creation order), each
 * with `now()` set to its due time, so backoff, debounce and resync are tested without waiting.
 */
export class VirtualClock implements Clock {
  #now: number;
  #seq = 0;
  #timers: VirtualTimer[] = [];

  /** @param start epoch ms the clock starts at. Default: 2026-01-01T00:00:00Z. */
  constructor(start = Date.UTC(2026, 0, 1)) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const timer: VirtualTimer = {
      due: this.#now + Math.max(0, Number.isFinite(ms) ? ms : 0),
      seq: this.#seq++,
      fn,
      cancelled: false,
    };
    this.#insert(timer);
    return {
      cancel: () => {
        if (timer.cancelled) return;
        timer.cancelled = true;
        const i = this.#timers.indexOf(timer);
        if (i >= 0) this.#timers.splice(i, 1);
      },
    };
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return sleepOn(this, ms, signal);
  }

  /** Number of timers not yet run or cancelled. */
  pending(): number {
    return this.#timers.length;
  }

  /** Due time of the next timer, or undefined. */
  nextDue(): number | undefined {
    return this.#timers[0]?.due;
  }

  /**
   * Moves time forward by `ms`, running every timer that falls due on the way (including timers
   * those timers schedule), in order. Synchronous: promise continuations run after it returns.
   */
  advance(ms: number): void {
    if (ms < 0) throw new RangeError(`VirtualClock.advance: negative ms ${ms}`);
    const target = this.#now + ms;
    for (;;) {
      const next = this.#timers[0];
      if (!next || next.due > target) break;
      this.#fire(next);
    }
    this.#now = target;
  }

  /**
   * Like `advance`, but lets pending promise continuations (and I/O callbacks) run after every
   * timer, so async code driven by the timers sees each step at its own virtual time.
   */
  async advanceAsync(ms: number): Promise<void> {
    if (ms < 0) throw new RangeError(`VirtualClock.advanceAsync: negative ms ${ms}`);
    const target = this.#now + ms;
    await flushMicrotasks();
    for (;;) {
      const next = this.#timers[0];
      if (!next || next.due > target) break;
      this.#fire(next);
      await flushMicrotasks();
    }
    this.#now = target;
    await flushMicrotasks();
  }

  /**
   * Runs every pending timer, including ones scheduled meanwhile, moving time to each due time.
   * Throws after `limit` timers so a self-rescheduling timer cannot loop forever.
   */
  runAll(limit = 100_000): number {
    let ran = 0;
    for (;;) {
      const next = this.#timers[0];
      if (!next) return ran;
      if (ran >= limit) throw new Error(`VirtualClock.runAll: more than ${limit} timers ran`);
      this.#fire(next);
      ran++;
    }
  }

  /** `runAll` that lets promise continuations run after every timer. */
  async runAllAsync(limit = 100_000): Promise<number> {
    let ran = 0;
    await flushMicrotasks();
    for (;;) {
      const next = this.#timers[0];
      if (!next) return ran;
      if (ran >= limit) throw new Error(`VirtualClock.runAllAsync: more than ${limit} timers ran`);
      this.#fire(next);
      ran++;
      await flushMicrotasks();
    }
  }

  #fire(timer: VirtualTimer): void {
    this.#timers.shift();
    timer.cancelled = true;
    if (timer.due > this.#now) this.#now = timer.due;
    timer.fn();
  }

  #insert(timer: VirtualTimer): void {
    // Binary search: timers stay sorted by (due, seq).
    let lo = 0;
    let hi = this.#timers.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const t = this.#timers[mid]!;
      if (t.due < timer.due || (t.due === timer.due && t.seq < timer.seq)) lo = mid + 1;
      else hi = mid;
    }
    this.#timers.splice(lo, 0, timer);
  }
}

/** Resolves after every queued microtask (and a turn of the event loop) has run. */
export function flushMicrotasks(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
