import {
  BACKREST_SCHEDULE_STALE_MS,
  applyRetentionResult,
  WorkloadConditions,
  evaluateStale,
  type WorkloadScheduleRecord,
  type WorkloadStatus,
  type WorkloadStatusStore,
} from '@backrest-sidecar/api';
import type { WorkloadForgetResult } from '@backrest-sidecar/api';
import type { BackupOnceReport, WorkloadBackupResult } from './backup-result.js';

/** When Backrest owns the schedule (no `--backup-schedule`): a 26 h Stale window. */
export const BACKREST_OWNED_SCHEDULE: WorkloadScheduleRecord = {
  owner: 'backrest',
  staleAfterMs: BACKREST_SCHEDULE_STALE_MS,
};

/**
 * Records one backup run in the workloads' status: per workload the snapshot (or the failure and
 * why), `BackedUp`, `Stale` on the store's clock, and, when retention ran, what it kept and
 * removed and `RetentionSatisfied`. Returns the names written. The rcb engine makes one snapshot
 * of every workload at once and reports none per workload: what is recorded is the run itself,
 * on each workload it covered (`report.rcb.workloads`), saying exactly that (no snapshot id, size
 * or file count).
 */
export async function recordBackupReport(
  store: WorkloadStatusStore,
  report: BackupOnceReport,
  options: { schedule?: WorkloadScheduleRecord; generations?: ReadonlyMap<string, number> } = {},
): Promise<string[]> {
  const schedule = options.schedule ?? BACKREST_OWNED_SCHEDULE;
  const written: string[] = [];
  const forgets = new Map<string, WorkloadForgetResult>();
  // Retention names every container of a path group: a service's replicas are its one workload.
  const workloadOf = new Map<string, string>();
  for (const w of report.workloads)
    for (const c of w.replicas ?? []) workloadOf.set(c, w.container);
  for (const f of report.forget?.workloads ?? []) {
    for (const c of f.containers) forgets.set(workloadOf.get(c) ?? c, f);
  }
  const rcbCovered = report.rcb?.workloads ?? [];
  const names = new Set([
    ...report.workloads.map((w) => w.container),
    ...rcbCovered,
    ...forgets.keys(),
  ]);
  for (const name of names) {
    const backup = report.workloads.find((w) => w.container === name);
    const rcb = report.rcb && rcbCovered.includes(name) ? report.rcb : undefined;
    const forget = forgets.get(name);
    try {
      store.fileOf(name);
    } catch {
      continue; // not a container name: nothing to file it under
    }
    await store.update(name, (s) => {
      const generation = options.generations?.get(name);
      if (generation !== undefined) s.observedGeneration = generation;
      s.schedule = schedule;
      if (backup) applyBackupResult(store, s, backup, report);
      if (rcb) applyRcbRun(store, s, rcb.exitCode, rcbCovered, report);
      if (forget && report.forget) applyRetentionResult(store, s, forget, report.forget);
      applyStale(store, s);
    });
    written.push(name);
  }
  return written;
}

function applyBackupResult(
  store: WorkloadStatusStore,
  s: WorkloadStatus,
  w: WorkloadBackupResult,
  report: BackupOnceReport,
): void {
  // The store's clock, not the report's wall time: Stale is computed on that clock.
  const time = new Date(store.now()).toISOString();
  if (w.status === 'ok' || w.status === 'partial') {
    s.lastBackup = {
      time,
      engine: report.engine,
      source: 'run',
      ...(w.snapshotId ? { snapshotId: w.snapshotId } : {}),
      ...(w.filesTotal !== undefined ? { filesTotal: w.filesTotal } : {}),
      ...(w.filesNew !== undefined ? { filesNew: w.filesNew } : {}),
      ...(w.filesChanged !== undefined ? { filesChanged: w.filesChanged } : {}),
      ...(w.bytesAdded !== undefined ? { bytesAdded: w.bytesAdded } : {}),
      ...(w.bytesTotal !== undefined ? { bytesTotal: w.bytesTotal } : {}),
      ...(w.status === 'partial' ? { partial: true } : {}),
    };
    const what = w.snapshotId ? `snapshot ${w.snapshotId}` : `${report.engine} backup`;
    const message =
      w.status === 'partial'
        ? `${what} of ${w.path}, but ${w.warnings.join('; ')}`
        : `${what} of ${w.path}`;
    store.applyCondition(s, {
      type: WorkloadConditions.BackedUp,
      status: 'True',
      reason: w.status === 'partial' ? 'PartialBackup' : 'BackupSucceeded',
      message,
      ...(s.observedGeneration !== undefined ? { observedGeneration: s.observedGeneration } : {}),
    });
    store.applyEvent(s, w.status === 'partial' ? 'Warning' : 'Normal', 'BackedUp', message);
    return;
  }
  if (w.status === 'skipped') {
    const message = w.warnings.join('; ') || 'nothing to back up';
    store.applyCondition(s, {
      type: WorkloadConditions.BackedUp,
      status: s.lastBackup ? 'True' : 'False',
      reason: 'BackupSkipped',
      message,
    });
    store.applyEvent(s, 'Warning', 'BackupSkipped', message);
    return;
  }
  const reason = failureReason(w);
  const message = store.redact(w.error ?? 'failed');
  s.lastFailure = { time, engine: report.engine, reason, message };
  store.applyCondition(s, {
    type: WorkloadConditions.BackedUp,
    status: 'False',
    reason,
    message,
    ...(s.observedGeneration !== undefined ? { observedGeneration: s.observedGeneration } : {}),
  });
  store.applyEvent(s, 'Warning', reason, message);
}

/**
 * One rcb run on a workload it covered. rcb backs up every opted-in container in one snapshot of
 * `/volumes` and reports nothing per container, so the record says so: no snapshot id, no size,
 * and a success means "the run that covered it succeeded", nothing finer.
 */
function applyRcbRun(
  store: WorkloadStatusStore,
  s: WorkloadStatus,
  exitCode: number,
  covered: readonly string[],
  report: BackupOnceReport,
): void {
  const time = new Date(store.now()).toISOString();
  const run = report.runId ? `rcb run ${report.runId}` : 'the rcb run';
  const scope = `covered all ${covered.length} opted-in workload${covered.length === 1 ? '' : 's'} at once (one snapshot of /volumes)`;
  const generation =
    s.observedGeneration !== undefined ? { observedGeneration: s.observedGeneration } : {};
  if (exitCode === 0) {
    s.lastBackup = { time, engine: 'rcb', source: 'run' };
    const message = `${run} ${scope} and succeeded; rcb reports nothing per workload, so this workload's snapshot id, size and files are not known`;
    store.applyCondition(s, {
      type: WorkloadConditions.BackedUp,
      status: 'True',
      reason: 'RcbRunSucceeded',
      message,
      ...generation,
    });
    store.applyEvent(s, 'Normal', 'BackedUp', message);
    return;
  }
  const message = `${run} ${scope} and exited ${exitCode}: rcb reports nothing per workload, so none of them is known to be backed up`;
  s.lastFailure = { time, engine: 'rcb', reason: 'RcbRunFailed', message };
  store.applyCondition(s, {
    type: WorkloadConditions.BackedUp,
    status: 'False',
    reason: 'RcbRunFailed',
    message,
    ...generation,
  });
  store.applyEvent(s, 'Warning', 'RcbRunFailed', message);
}

function failureReason(w: WorkloadBackupResult): string {
  const e = w.error ?? '';
  if (/not a safe name/.test(e)) return 'UnsafeName';
  if (/collision|same path|map to/i.test(e)) return 'PathCollision';
  if (/^aborted/.test(e)) return 'Aborted';
  return 'BackupFailed';
}

/** Sets `Stale` on the store's clock from the status' own schedule record. */
export function applyStale(store: WorkloadStatusStore, s: WorkloadStatus): boolean {
  const e = evaluateStale(s, s.schedule ?? BACKREST_OWNED_SCHEDULE, store.now());
  store.applyCondition(s, e.condition);
  return e.stale;
}
