import type { Logger } from '@dockop/runtime';
import type { ResticBackupStatus, ResticBackupSummary } from '@backrest-sidecar/restic';

/** Receives restic's `backup --json` progress for one workload at a time. */
export interface ProgressReporter {
  start(workload: string): void;
  status(workload: string, status: ResticBackupStatus): void;
  finish(workload: string, summary: ResticBackupSummary | undefined): void;
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

/** Draws one bar line on a TTY, redrawn in place (`\r`), at most every `minRedrawMs`. */
export class TtyProgress implements ProgressReporter {
  readonly #out: NodeJS.WritableStream & { columns?: number };
  readonly #now: () => number;
  readonly #minRedrawMs: number;
  #last = 0;

  constructor(
    out: NodeJS.WritableStream & { columns?: number },
    now: () => number = Date.now,
    minRedrawMs = 100,
  ) {
    this.#out = out;
    this.#now = now;
    this.#minRedrawMs = minRedrawMs;
  }

  start(workload: string): void {
    this.#draw(workload, 0, '');
  }

  status(workload: string, s: ResticBackupStatus): void {
    const t = this.#now();
    if (t - this.#last < this.#minRedrawMs) return;
    this.#last = t;
    const bytes = s.total_bytes
      ? `${formatBytes(s.bytes_done ?? 0)}/${formatBytes(s.total_bytes)}`
      : '';
    const files = s.total_files ? ` ${s.files_done ?? 0}/${s.total_files} files` : '';
    this.#draw(workload, s.percent_done, `${bytes}${files}`);
  }

  finish(workload: string, summary: ResticBackupSummary | undefined): void {
    this.#draw(workload, summary ? 1 : 0, summary ? `snapshot ${summary.snapshot_id}` : 'failed');
    this.#out.write('\n');
  }

  #draw(workload: string, fraction: number, detail: string): void {
    const width = 24;
    const f = Math.max(0, Math.min(1, Number.isFinite(fraction) ? fraction : 0));
    const filled = Math.round(f * width);
    const line = `${workload} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(f * 100).toFixed(0).padStart(3)}% ${detail}`;
    const cols = this.#out.columns ?? 120;
    this.#out.write(`\r${line.slice(0, cols - 1).padEnd(Math.min(cols - 1, line.length + 10))}`);
  }
}

/** Writes a `backup.progress` log line per workload at most every `intervalMs` (no TTY: logs, CI). */
export class LogProgress implements ProgressReporter {
  readonly #logger: Logger;
  readonly #now: () => number;
  readonly #intervalMs: number;
  readonly #lastAt = new Map<string, number>();

  constructor(logger: Logger, intervalMs: number, now: () => number = Date.now) {
    this.#logger = logger;
    this.#intervalMs = intervalMs;
    this.#now = now;
  }

  start(workload: string): void {
    this.#lastAt.set(workload, this.#now());
  }

  status(workload: string, s: ResticBackupStatus): void {
    const t = this.#now();
    if (t - (this.#lastAt.get(workload) ?? 0) < this.#intervalMs) return;
    this.#lastAt.set(workload, t);
    this.#logger.info('backup.progress', {
      container: workload,
      percent: Math.round((s.percent_done ?? 0) * 1000) / 10,
      filesDone: s.files_done ?? 0,
      totalFiles: s.total_files ?? 0,
      bytesDone: s.bytes_done ?? 0,
      totalBytes: s.total_bytes ?? 0,
    });
  }

  finish(workload: string): void {
    this.#lastAt.delete(workload);
  }
}

export const noProgress: ProgressReporter = { start() {}, status() {}, finish() {} };
