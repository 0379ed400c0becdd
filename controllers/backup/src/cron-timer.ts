import { nextCronFire, parseCron, type CronClock, type CronSchedule } from '@backrest-sidecar/api';

/** A started/stopped recurring task (what BackupScheduler drives). */
export interface CronTask {
  start(): void;
  stop(): void;
  destroy(): void;
}

export interface CronTimerOptions {
  /** Wall clock the fields are read in. Default `local`, as Backrest's CLOCK_LOCAL. */
  clock?: CronClock;
  /** Injectable for tests. Default `Date.now`. */
  now?: () => number;
  /** Injectable for tests. Default the global setTimeout/clearTimeout. */
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
  /** Called with a tick's rejection (a tick never stops the timer). */
  onError?: (err: unknown) => void;
}

/**
 * Longest single sleep: Node's setTimeout fires at once past 2^31-1 ms, and a suspended host or a
 * clock step must not shift a run by more than this; every wake-up re-reads the clock.
 */
const MAX_SLEEP_MS = 60 * 60 * 1000;

/**
 * Calls `tick` at every run of a cron expression in Backrest's dialect, computing run times with
 * the same cronexpr port config-sink validates plans with (day-of-month AND day-of-week, values
 * the calendar lacks never match). Runs missed while the process slept are skipped, not caught up.
 */
export class CronTimer implements CronTask {
  readonly #schedule: CronSchedule;
  readonly #tick: () => unknown;
  readonly #clock: CronClock;
  readonly #now: () => number;
  readonly #setTimer: (fn: () => void, ms: number) => unknown;
  readonly #clearTimer: (handle: unknown) => void;
  readonly #onError: (err: unknown) => void;
  #handle: unknown;
  #next: number | undefined;
  #running = false;

  /** Throws CronError when `expression` is not a valid schedule (strict dialect). */
  constructor(expression: string, tick: () => unknown, options: CronTimerOptions = {}) {
    this.#now = options.now ?? Date.now;
    this.#schedule = parseCron(expression, { now: new Date(this.#now()) }).schedule;
    this.#tick = tick;
    this.#clock = options.clock ?? 'local';
    this.#setTimer = options.setTimer ?? ((fn, ms) => setTimeout(fn, ms));
    this.#clearTimer =
      options.clearTimer ?? ((h) => clearTimeout(h as ReturnType<typeof setTimeout>));
    this.#onError = options.onError ?? (() => undefined);
  }

  /** The next run, while started. */
  get nextRun(): Date | undefined {
    return this.#next === undefined ? undefined : new Date(this.#next);
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#arm(this.#now());
  }

  stop(): void {
    this.#running = false;
    this.#next = undefined;
    if (this.#handle !== undefined) this.#clearTimer(this.#handle);
    this.#handle = undefined;
  }

  destroy(): void {
    this.stop();
  }

  #arm(from: number): void {
    this.#next = nextCronFire(this.#schedule, new Date(from), this.#clock)?.getTime();
    this.#sleep();
  }

  #sleep(): void {
    if (!this.#running || this.#next === undefined) return;
    const ms = Math.max(0, Math.min(this.#next - this.#now(), MAX_SLEEP_MS));
    this.#handle = this.#setTimer(() => this.#wake(), ms);
  }

  #wake(): void {
    this.#handle = undefined;
    if (!this.#running || this.#next === undefined) return;
    const now = this.#now();
    if (now < this.#next) return this.#sleep();
    // Next run after now: a host that slept through several runs gets one, not a burst.
    this.#arm(Math.max(now, this.#next));
    try {
      Promise.resolve(this.#tick()).catch(this.#onError);
    } catch (err) {
      this.#onError(err);
    }
  }
}
