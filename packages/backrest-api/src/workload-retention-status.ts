import type { ConditionStatus } from '@dockop/runtime';
import type { ForgetReport, WorkloadForgetResult } from './retention-report.js';
import { WorkloadConditions, type WorkloadStatus } from './workload-status.js';
import type { WorkloadStatusStore } from './workload-status-store.js';

/** Ids kept in a retention record (the counts are exact; the lists are for `describe`). */
export const RETENTION_RECORD_MAX_IDS = 20;

/**
 * `RetentionSatisfied` for one forget result: True only when the policy was applied (not in a
 * dry run); False with the reason when it could not be; Unknown when there is nothing to judge.
 */
export function retentionCondition(
  f: Pick<WorkloadForgetResult, 'status' | 'kept' | 'removed' | 'keep' | 'warnings' | 'error'>,
  dryRun: boolean,
): [ConditionStatus, string, string] {
  const counts = `kept ${f.kept.length}, removed ${f.removed.length} (keep ${f.keep})`;
  switch (f.status) {
    case 'forgotten':
      return dryRun
        ? ['Unknown', 'DryRun', `dry run: would have ${counts}`]
        : ['True', 'PolicyApplied', counts];
    case 'no-snapshots':
      return ['Unknown', 'NoSnapshots', 'the repository has no snapshot yet'];
    case 'no-match':
      return ['False', 'NoMatchingSnapshots', f.warnings.join('; ') || 'no snapshot at the path'];
    case 'invalid':
      return ['False', 'InvalidPolicy', f.error ?? (f.warnings.join('; ') || 'invalid keep')];
    case 'untrusted':
      return ['False', 'UntrustedPolicy', f.warnings.join('; ') || 'keep label from the image'];
    case 'failed':
      return ['False', 'ForgetFailed', f.error ?? 'restic forget failed'];
    case 'backrest-owned':
      return [
        'Unknown',
        'LeftToBackrest',
        f.warnings.join('; ') || 'Backrest applies the plan retention',
      ];
    case 'repo-policy':
      return [
        'Unknown',
        'RepoForgetPolicy',
        f.warnings.join('; ') || 'the repository forgetPolicy applies',
      ];
    default:
      return ['Unknown', 'Unknown', String(f.status)];
  }
}

/**
 * Records one retention pass over a workload in its status (being mutated inside
 * `WorkloadStatusStore.update`): `retention` (when, the policy, what it kept and removed, why it
 * did not apply), `RetentionSatisfied`, and an event when something was removed or it failed.
 * Shared by every writer (backup-once's inline retention, the retention controller).
 */
export function applyRetentionResult(
  store: WorkloadStatusStore,
  s: WorkloadStatus,
  f: WorkloadForgetResult,
  report: Pick<ForgetReport, 'dryRun'>,
): void {
  const message = f.error ?? f.warnings.join('; ');
  s.retention = {
    time: new Date(store.now()).toISOString(),
    keep: f.keep || '-',
    outcome: f.status,
    kept: f.kept.length,
    removed: f.removed.length,
    keptIds: f.kept.slice(0, RETENTION_RECORD_MAX_IDS),
    removedIds: f.removed.slice(0, RETENTION_RECORD_MAX_IDS),
    ...(report.dryRun ? { dryRun: true } : {}),
    ...(message ? { message: store.redact(message) } : {}),
  };
  const [status, reason, text] = retentionCondition(f, report.dryRun);
  store.applyCondition(s, {
    type: WorkloadConditions.RetentionSatisfied,
    status,
    reason,
    message: text,
    ...(s.observedGeneration !== undefined ? { observedGeneration: s.observedGeneration } : {}),
  });
  if (report.dryRun) return;
  if (f.status === 'forgotten' && f.removed.length > 0) {
    store.applyEvent(s, 'Normal', 'RetentionApplied', text);
  } else if (status === 'False') {
    store.applyEvent(s, 'Warning', reason, text);
  }
}
