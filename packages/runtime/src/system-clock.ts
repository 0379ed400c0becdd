import { sleepOn, type Clock, type TimerHandle } from './clock.js';

export interface SystemClockOptions {
  /** Unref timers so pending ones do not keep the process alive. Default false. */
  unref?: boolean;
}

/** The real clock: `Date.now()` and Node timers. */
export class SystemClock implements Clock {
  readonly #unref: boolean;

  constructor(options: SystemClockOptions = {}) {
    this.#unref = options.unref ?? false;
  }

  now(): number {
    return Date.now();
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const t = setTimeout(fn, Math.max(0, ms));
    if (this.#unref) t.unref();
    return { cancel: () => clearTimeout(t) };
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return sleepOn(this, ms, signal);
  }
}
