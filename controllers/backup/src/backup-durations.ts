import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '@dockop/runtime';
import type { BackupEngine } from './backup-options.js';
import type { BackupOnceReport } from './backup-result.js';

/**
 * How long each step took last time, per engine (`<state-dir>/backup-durations.json`): the
 * progress bar's ETA before any figure comes (rcb and Backrest report none; restic's own ETA
 * needs its scan first). Best effort both ways: a missing or garbled file means no history.
 */
export type BackupDurations = Partial<Record<BackupEngine, Record<string, number>>>;

export const DURATIONS_FILE = 'backup-durations.json';

/** The rcb engine's one step (rcb backs up every workload at once). */
export const RCB_STEP = 'rcb';

/** Reads the history; anything not a finite non-negative number under a known engine is ignored. */
export async function readBackupDurations(stateDir: string): Promise<BackupDurations> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path.join(stateDir, DURATIONS_FILE), 'utf8'));
  } catch {
    return {};
  }
  const out: BackupDurations = {};
  if (!isRecord(raw)) return out;
  for (const engine of ['rcb', 'restic', 'backrest'] as const) {
    const byStep = Object.hasOwn(raw, engine) ? raw[engine] : undefined;
    if (!isRecord(byStep)) continue;
    const steps: Record<string, number> = Object.create(null) as Record<string, number>;
    for (const [name, ms] of Object.entries(byStep)) {
      if (typeof ms === 'number' && Number.isFinite(ms) && ms >= 0) steps[name] = ms;
    }
    out[engine] = steps;
  }
  return out;
}

/** Records this run's successful steps (a failed step's time says nothing of the next run). */
export async function writeBackupDurations(
  stateDir: string,
  report: BackupOnceReport,
  previous: BackupDurations,
): Promise<void> {
  const steps: Record<string, number> = { ...(previous[report.engine] ?? {}) };
  if (report.engine === 'rcb') {
    if (report.rcb?.exitCode === 0) steps[RCB_STEP] = Math.round(report.rcb.durationMs);
  } else {
    for (const w of report.workloads) {
      if (w.status === 'ok' || w.status === 'partial')
        steps[w.container] = Math.round(w.durationMs);
    }
  }
  const next = { ...previous, [report.engine]: steps };
  // The project's one atomic writer (a unique temp name: two runs never share a `.new` file).
  await writeFileAtomic(path.join(stateDir, DURATIONS_FILE), `${JSON.stringify(next, null, 2)}\n`, {
    mode: 0o644,
  });
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
