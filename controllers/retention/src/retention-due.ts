import type { WorkloadStatus } from '@backrest-sidecar/api';

/** Why a workload's policy is (re)applied now. */
export type RetentionDueReason =
  /** No retention pass recorded yet (or only a dry run). */
  | 'NeverApplied'
  /** A snapshot newer than the last pass: ours, or one Backrest made from the plan. */
  | 'BackedUpSince'
  /** `backrest.keep` differs from the policy the last pass applied. */
  | 'PolicyChanged'
  /** The last pass failed (restic, repository). */
  | 'LastPassFailed'
  /** The last pass is `periodMs` old: the daily pass. */
  | 'PeriodElapsed';

export type RetentionDue =
  | { due: true; reason: RetentionDueReason }
  /** `inMs`: when the periodic pass falls due. */
  | { due: false; inMs: number };

/**
 * Whether a workload's retention is due, from its persisted status alone (level-based, so a
 * restart neither repeats a pass nor forgets one): after every new snapshot, on a policy change,
 * after a failure, and at least every `periodMs`.
 */
export function retentionDue(
  status: WorkloadStatus | undefined,
  keep: string,
  now: number,
  periodMs: number,
): RetentionDue {
  const last = status?.retention;
  const lastAt = last ? Date.parse(last.time) : NaN;
  if (!last || last.dryRun === true || !Number.isFinite(lastAt)) {
    return { due: true, reason: 'NeverApplied' };
  }
  if (last.keep !== (keep || '-')) return { due: true, reason: 'PolicyChanged' };
  if (last.outcome === 'failed') return { due: true, reason: 'LastPassFailed' };
  const backedUp = status?.lastBackup ? Date.parse(status.lastBackup.time) : NaN;
  if (Number.isFinite(backedUp) && backedUp > lastAt) return { due: true, reason: 'BackedUpSince' };
  const inMs = lastAt + periodMs - now;
  if (inMs <= 0) return { due: true, reason: 'PeriodElapsed' };
  return { due: false, inMs };
}
