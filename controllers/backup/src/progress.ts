import { useColor, type Logger } from '@dockop/runtime';
import {
  formatBytes,
  type ResticBackupStatus,
  type ResticBackupSummary,
} from '@backrest-sidecar/restic';

/** One step of a run: a workload (restic, backrest engines) or the whole rcb one-shot. */
export interface ProgressStep {
  name: string;
  /** How long this step took last time (backup-durations.json), for an ETA before any figure. */
  expectedMs?: number;
}

/**
 * Receives a run's progress, whatever the engine: `plan` once with the steps, then per step
 * `start`, any number of `status` (restic's `backup --json` status lines; other engines have
 * none) and `finish`. `close` stops any timer.
 */
export interface ProgressReporter {
  plan(steps: ProgressStep[]): void;
  start(workload: string): void;
  status(workload: string, status: ResticBackupStatus): void;
  /** `ok` defaults to "a summary came" (restic); engines without summaries pass it. */
  finish(workload: string, summary: ResticBackupSummary | undefined, ok?: boolean): void;
  close(): void;
}

/** `75` → `1:15`, `3725` → `1:02:05`. */
export function formatClock(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** What a view shows of the current step. */
export interface ProgressSnapshot {
  step: string;
  index: number;
  total: number;
  /** 0..1 of the current step, undefined when unknown (no figures, no history). */
  fraction: number | undefined;
  elapsedMs: number;
  /** Until the whole run is done; undefined when nothing tells. */
  etaMs: number | undefined;
  status: ResticBackupStatus | undefined;
}

/**
 * The state behind every view: which step runs, since when, and the ETA of the whole run. The
 * current step's remaining time comes, in this order, from restic's `seconds_remaining`, from
 * its percentage and the time so far, or from the step's duration last time; steps not started
 * yet count their last duration, else the mean of the steps finished in this run (before any
 * finished: the current step's projected total).
 */
export class ProgressTracker {
  readonly #now: () => number;
  #steps: ProgressStep[] = [];
  #index = -1;
  #startedAt = 0;
  #status: ResticBackupStatus | undefined;
  readonly #done: number[] = [];

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  plan(steps: ProgressStep[]): void {
    this.#steps = [...steps];
  }

  start(name: string): void {
    let i = this.#steps.findIndex((s, k) => s.name === name && k > this.#index);
    if (i < 0) {
      this.#steps.push({ name });
      i = this.#steps.length - 1;
    }
    this.#index = i;
    this.#startedAt = this.#now();
    this.#status = undefined;
  }

  status(s: ResticBackupStatus): void {
    this.#status = s;
  }

  finish(): number {
    const ms = this.#now() - this.#startedAt;
    this.#done.push(ms);
    return ms;
  }

  get active(): boolean {
    return this.#index >= 0;
  }

  snapshot(): ProgressSnapshot {
    const step = this.#steps[this.#index];
    const elapsedMs = this.#now() - this.#startedAt;
    const s = this.#status;
    let fraction: number | undefined;
    let remaining: number | undefined;
    if (s && Number.isFinite(s.percent_done)) fraction = clamp(s.percent_done);
    if (s?.seconds_remaining !== undefined && Number.isFinite(s.seconds_remaining)) {
      remaining = s.seconds_remaining * 1000;
    } else if (fraction !== undefined && fraction >= 0.02) {
      remaining = (elapsedMs * (1 - fraction)) / fraction;
    } else if (step?.expectedMs !== undefined) {
      remaining = Math.max(0, step.expectedMs - elapsedMs);
      // Without figures, the bar shows time against last time, never full before the end.
      fraction ??= Math.min(0.99, elapsedMs / Math.max(1, step.expectedMs));
    }
    // Steps with no history: the mean of those finished, or else this one's projected total.
    const mean = this.#done.length
      ? this.#done.reduce((a, b) => a + b, 0) / this.#done.length
      : remaining !== undefined
        ? elapsedMs + remaining
        : undefined;
    let rest: number | undefined = 0;
    for (const next of this.#steps.slice(this.#index + 1)) {
      const e = next.expectedMs ?? mean;
      rest = e === undefined || rest === undefined ? undefined : rest + e;
    }
    return {
      step: step?.name ?? '',
      index: this.#index + 1,
      total: this.#steps.length,
      fraction,
      elapsedMs,
      etaMs: remaining === undefined || rest === undefined ? undefined : remaining + rest,
      status: s,
    };
  }
}

function clamp(f: number): number {
  return Math.max(0, Math.min(1, f));
}

export interface TtyProgressOptions {
  now?: () => number;
  /** Minimum time between two redraws on status lines. Default 100 ms. */
  minRedrawMs?: number;
  /** Redraw this often without status lines (elapsed and ETA keep moving). 0: never. Default 1000. */
  tickMs?: number;
  /** Colour the bar. Default: NO_COLOR / FORCE_COLOR / the stream is a TTY (runtime's useColor). */
  color?: boolean;
}

const GREEN = '\x1b[32m';
const RED = '\x1b[31m';
const DIM = '\x1b[2m';
const RESET = '\x1b[0m';
/** Erase to the end of the line: a shorter redraw leaves no tail of the previous one. */
const ERASE = '\x1b[K';

/**
 * Draws one bar line on a TTY, redrawn in place (`\r`): `[1/3] db [####....] 42% 1.0KiB/2.0KiB
 * 2/4 files  0:03 ETA 0:05`; an indeterminate bar when a step has no figures and no history.
 */
export class TtyProgress implements ProgressReporter {
  readonly #out: NodeJS.WritableStream & { columns?: number; isTTY?: boolean };
  readonly #tracker: ProgressTracker;
  readonly #now: () => number;
  readonly #minRedrawMs: number;
  readonly #color: boolean;
  readonly #tickMs: number;
  #timer: NodeJS.Timeout | undefined;
  #last = 0;
  /** The stream's own write while ours is in place; the bar's line, if one is drawn. */
  #write0: NodeJS.WritableStream['write'] | undefined;
  #drawn = false;
  /** A step is between start and finish (the timer and log lines redraw only then). */
  #running = false;

  constructor(
    out: NodeJS.WritableStream & { columns?: number; isTTY?: boolean },
    options: TtyProgressOptions = {},
  ) {
    this.#out = out;
    this.#now = options.now ?? Date.now;
    this.#tracker = new ProgressTracker(this.#now);
    this.#minRedrawMs = options.minRedrawMs ?? 100;
    this.#tickMs = options.tickMs ?? 1000;
    this.#color = options.color ?? useColor(out);
  }

  plan(steps: ProgressStep[]): void {
    this.#tracker.plan(steps);
  }

  start(workload: string): void {
    this.#tracker.start(workload);
    this.#running = true;
    this.#interceptWrites();
    this.#draw();
    if (this.#tickMs > 0 && !this.#timer) {
      this.#timer = setInterval(() => this.#draw(), this.#tickMs);
      this.#timer.unref();
    }
  }

  status(_workload: string, s: ResticBackupStatus): void {
    this.#tracker.status(s);
    const t = this.#now();
    if (t - this.#last < this.#minRedrawMs) return;
    this.#last = t;
    this.#draw();
  }

  finish(workload: string, summary: ResticBackupSummary | undefined, ok = !!summary): void {
    this.#running = false;
    const snap = this.#tracker.snapshot();
    const took = this.#tracker.finish();
    const detail = ok
      ? `${summary ? `snapshot ${summary.snapshot_id}` : 'done'} in ${formatClock(took / 1000)}`
      : 'failed';
    this.#write(
      `${prefix(snap)}${workload} ${this.#bar(ok ? 1 : (snap.fraction ?? 0), ok ? GREEN : RED)} ${ok ? '100%' : pct(snap.fraction)} ${this.#paint(ok ? GREEN : RED, detail)}`,
    );
    this.#raw('\n');
    this.#drawn = false;
  }

  close(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    if (this.#write0) this.#out.write = this.#write0;
    this.#write0 = undefined;
  }

  /**
   * Log lines go to the same terminal: anyone else's write first erases the bar's line, then the
   * bar is drawn again below it, so logs and bar never share a line. Undone by `close`.
   */
  #interceptWrites(): void {
    if (this.#write0) return;
    const original = this.#out.write;
    this.#write0 = original;
    const call = (...args: unknown[]): boolean =>
      (original as (...a: unknown[]) => boolean).apply(this.#out, args);
    this.#out.write = ((...args: unknown[]): boolean => {
      if (!this.#drawn) return call(...args);
      call(`\r${ERASE}`);
      this.#drawn = false;
      const ok = call(...args);
      this.#draw();
      return ok;
    }) as NodeJS.WritableStream['write'];
  }

  /** Writes past the interceptor. */
  #raw(text: string): void {
    (this.#write0 ?? this.#out.write).call(this.#out, text);
  }

  #draw(): void {
    if (!this.#running) return;
    const snap = this.#tracker.snapshot();
    const s = snap.status;
    const bytes = s?.total_bytes
      ? ` ${formatBytes(s.bytes_done ?? 0)}/${formatBytes(s.total_bytes)}`
      : '';
    const files = s?.total_files ? ` ${s.files_done ?? 0}/${s.total_files} files` : '';
    const eta = snap.etaMs === undefined ? 'ETA --:--' : `ETA ${formatClock(snap.etaMs / 1000)}`;
    const bar =
      snap.fraction === undefined ? this.#spinner(snap.elapsedMs) : this.#bar(snap.fraction, GREEN);
    this.#write(
      `${prefix(snap)}${snap.step} ${bar} ${pct(snap.fraction)}${bytes}${files}  ${formatClock(snap.elapsedMs / 1000)} ${this.#paint(DIM, eta)}`,
    );
  }

  #bar(fraction: number, colour: string): string {
    const width = 24;
    const filled = Math.round(clamp(fraction) * width);
    return `[${this.#paint(colour, '#'.repeat(filled))}${'.'.repeat(width - filled)}]`;
  }

  /** No figures and no history: a marker sweeping the bar, one cell per second. */
  #spinner(elapsedMs: number): string {
    const width = 24;
    const span = width - 3;
    const k = Math.floor(elapsedMs / 1000) % (2 * span);
    const at = k < span ? k : 2 * span - k;
    return `[${' '.repeat(at)}${this.#paint(GREEN, '<=>')}${' '.repeat(width - 3 - at)}]`;
  }

  #paint(code: string, text: string): string {
    return this.#color && text ? `${code}${text}${RESET}` : text;
  }

  #write(line: string): void {
    // Cut to the terminal width (escapes don't take columns; cut the plain text when no colour).
    const cols = this.#out.columns ?? 120;
    const fitted = this.#color ? line : line.slice(0, cols - 1);
    this.#raw(`\r${fitted}${ERASE}`);
    this.#drawn = true;
  }
}

function prefix(snap: ProgressSnapshot): string {
  return snap.total > 1 ? `[${snap.index}/${snap.total}] ` : '';
}

function pct(fraction: number | undefined): string {
  return fraction === undefined ? '  ?%' : `${(clamp(fraction) * 100).toFixed(0).padStart(3)}%`;
}

/**
 * No TTY (logs, CI, a pipe): a `backup.progress` log line per step at most every `intervalMs`,
 * from restic's status lines or, for engines without figures, from a timer; each with the step,
 * percent (when known), elapsed and ETA seconds.
 */
export class LogProgress implements ProgressReporter {
  readonly #logger: Logger;
  readonly #now: () => number;
  readonly #intervalMs: number;
  readonly #tracker: ProgressTracker;
  #lastAt = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(logger: Logger, intervalMs: number, now: () => number = Date.now) {
    this.#logger = logger;
    this.#intervalMs = intervalMs;
    this.#now = now;
    this.#tracker = new ProgressTracker(now);
  }

  plan(steps: ProgressStep[]): void {
    this.#tracker.plan(steps);
  }

  start(workload: string): void {
    this.#tracker.start(workload);
    this.#lastAt = this.#now();
    if (this.#intervalMs > 0 && !this.#timer) {
      this.#timer = setInterval(() => this.#tick(), this.#intervalMs);
      this.#timer.unref();
    }
  }

  status(_workload: string, s: ResticBackupStatus): void {
    this.#tracker.status(s);
    if (this.#now() - this.#lastAt < this.#intervalMs) return;
    this.#line();
  }

  finish(): void {
    this.#tracker.finish();
  }

  close(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Timer: only when no status line came for a whole interval (rcb, backrest, a slow scan). */
  #tick(): void {
    if (this.#now() - this.#lastAt >= this.#intervalMs) this.#line();
  }

  #line(): void {
    this.#lastAt = this.#now();
    const snap = this.#tracker.snapshot();
    const s = snap.status;
    this.#logger.info('backup.progress', {
      container: snap.step,
      step: `${snap.index}/${snap.total}`,
      ...(snap.fraction !== undefined ? { percent: Math.round(snap.fraction * 1000) / 10 } : {}),
      ...(s
        ? {
            filesDone: s.files_done ?? 0,
            totalFiles: s.total_files ?? 0,
            bytesDone: s.bytes_done ?? 0,
            totalBytes: s.total_bytes ?? 0,
          }
        : {}),
      elapsedSeconds: Math.round(snap.elapsedMs / 1000),
      ...(snap.etaMs !== undefined ? { etaSeconds: Math.round(snap.etaMs / 1000) } : {}),
    });
  }
}

export const noProgress: ProgressReporter = {
  plan() {},
  start() {},
  status() {},
  finish() {},
  close() {},
};
