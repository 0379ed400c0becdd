import type { Condition, EventType } from '@dockop/runtime';

/**
 * The status subresource of a BackupWorkload (Kubernetes conventions): what happened to the
 * workload's backups, and `conditions[]` summarising it. Kept per workload in `--state-dir`
 * (`WorkloadStatusStore`), written by whoever learns something: backup runs (backup-once, the
 * daemon's BackupController), the repository inventory (`restic snapshots`), retention, restore
 * verification. Each writer sets only its own fields and condition types.
 */
export interface WorkloadStatus {
  /** The workload (container) name. */
  name: string;
  /** `metadata.generation` of the workload the status was last computed from, when known. */
  observedGeneration?: number;
  /** ISO time the status was first written: the start of the Stale window before any backup. */
  firstSeen: string;
  /** The last successful (or partial) snapshot. */
  lastBackup?: WorkloadBackupRecord;
  /** The last failed backup, and why (redacted). Kept after a later success, for `describe`. */
  lastFailure?: WorkloadFailureRecord;
  /** What the repository holds for this workload (its tags, or Backrest's `plan:<id>` tag). */
  snapshots?: WorkloadSnapshotsRecord;
  /** The last retention pass over this workload. */
  retention?: WorkloadRetentionRecord;
  /** Who schedules the workload's backups, and the Stale window that follows from it. */
  schedule?: WorkloadScheduleRecord;
  /** The last restore drill (`verify`), passed or not. */
  verification?: WorkloadVerificationRecord;
  conditions: Condition[];
  /** Recent events (oldest first, bounded), so `describe` in another process can show them. */
  events: WorkloadEventRecord[];
}

export interface WorkloadBackupRecord {
  /** ISO time the snapshot was made. */
  time: string;
  /** restic's snapshot id (short id from `backup --json`, full id from `snapshots --json`). */
  snapshotId?: string;
  /** `restic` (one snapshot per workload), `backrest` (Backrest ran the plan), `rcb`. */
  engine: string;
  /** Where the record comes from: one of our runs, or the repository's snapshot list. */
  source: 'run' | 'repository';
  /** From restic's summary. */
  filesTotal?: number;
  filesNew?: number;
  filesChanged?: number;
  bytesAdded?: number;
  bytesTotal?: number;
  /** Snapshot made but some files could not be read (restic exit 3). */
  partial?: boolean;
}

export interface WorkloadFailureRecord {
  time: string;
  engine: string;
  /** CamelCase, e.g. `BackupFailed`, `PathCollision`, `UnsafeName`. */
  reason: string;
  /** Redacted. */
  message: string;
}

export interface WorkloadSnapshotsRecord {
  count: number;
  /** ISO time the repository was listed. */
  observedAt: string;
  /** Snapshots we made (our tags) and snapshots Backrest made from our plan (`plan:<id>`). */
  sidecar: number;
  backrest: number;
  /** Newest snapshot. */
  latest?: { id: string; time: string };
}

export interface WorkloadRetentionRecord {
  time: string;
  /** The `backrest.keep` spec applied (`-` when none). */
  keep: string;
  /** `forgotten`, `no-snapshots`, `no-match`, `invalid`, `untrusted`, `failed`... */
  outcome: string;
  kept: number;
  removed: number;
  /** Short ids, at most 20 each. */
  keptIds: string[];
  removedIds: string[];
  dryRun?: boolean;
  /** Why it did not apply (redacted). */
  message?: string;
}

export interface WorkloadVerificationRecord {
  /** ISO time the drill ended. */
  time: string;
  passed: boolean;
  /** The snapshot restored. */
  snapshotId?: string;
  snapshotTime?: string;
  /** What was checked: `restore`, `tree`, `repository`, `dump`. */
  checks: string[];
  durationMs: number;
  /** One sentence per check (redacted). */
  message: string;
}

export interface WorkloadScheduleRecord {
  /** `sidecar`: our `--backup-schedule`; `backrest`: Backrest runs the plan on its own schedule. */
  owner: 'sidecar' | 'backrest';
  /** The cron expression, when ours. */
  expression?: string;
  /** Longest gap between two runs of the schedule, in ms (ours only). */
  periodMs?: number;
  /** No successful backup for this long: Stale. 2 × period, or 26 h under Backrest. */
  staleAfterMs: number;
}

/** A recorded event as the status file keeps it (Kubernetes' aggregation: repeats bump count). */
export interface WorkloadEventRecord {
  type: EventType;
  reason: string;
  message: string;
  count: number;
  firstTimestamp: string;
  lastTimestamp: string;
}

/**
 * Condition types of a BackupWorkload. Other controllers add their own types to the same list
 * (`WorkloadStatusStore.setCondition`); these are the ones this package defines.
 */
export const WorkloadConditions = {
  /** True after a successful snapshot, False after a failed one, Unknown before any. */
  BackedUp: 'BackedUp',
  /** True when the last retention pass brought the workload to its policy. */
  RetentionSatisfied: 'RetentionSatisfied',
  /** True when no successful backup happened within the Stale window (a polarity like k8s' `Stalled`). */
  Stale: 'Stale',
  /** True when the last restore verification of a snapshot succeeded (set by the restore side). */
  Verified: 'Verified',
  /**
   * `backrest.dump` workloads only: True when the preset's tool and credential variable were
   * found in the running container (checked with docker exec when the daemon observes it),
   * False naming what is missing, before any backup needs them.
   */
  DumpReady: 'DumpReady',
} as const;

/** Stale window when Backrest owns the schedule (its default is daily: a day plus slack). */
export const BACKREST_SCHEDULE_STALE_MS = 26 * 3_600_000;

/** How many recent events a status file keeps per workload. */
export const WORKLOAD_STATUS_MAX_EVENTS = 20;
