import type { ForgetReport } from '@backrest-sidecar/api';
import type { QuiesceOutcome } from './quiesce.js';
import type { BackupEngine } from './backup-options.js';

export type WorkloadBackupStatus =
  /** Snapshot made. */
  | 'ok'
  /** Snapshot made but some files could not be read (restic exit 3). */
  | 'partial'
  | 'failed'
  /** Nothing to back up (no mount left after the filters). */
  | 'skipped';

export interface WorkloadBackupResult {
  container: string;
  /** Snapshot path (restic engine) or plan id (backrest engine). */
  path: string;
  status: WorkloadBackupStatus;
  snapshotId?: string;
  filesNew?: number;
  filesChanged?: number;
  filesTotal?: number;
  bytesAdded?: number;
  bytesTotal?: number;
  /** Wall time of this workload's step, in ms. */
  durationMs: number;
  /** Time restic's one-shot container itself ran (create → exit), in ms. */
  oneShotMs?: number;
  error?: string;
  warnings: string[];
  /**
   * `backrest.dump`: the dump's own snapshot (`/<workload>.<ext>`, restic engine). A failed dump
   * fails the workload even when its files were backed up.
   */
  dump?: {
    file?: string;
    status: 'ok' | 'failed';
    snapshotId?: string;
    bytes?: number;
    error?: string;
  };
}

export interface BackupOnceReport {
  engine: BackupEngine;
  /** The run's id (RUN_LABEL on its one-shots, `runId` in the journal); unset when it was refused. */
  runId?: string;
  /** restic `--host` of the snapshots and of forget (restic engine or retention ran). */
  resticHost?: string;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  workloads: WorkloadBackupResult[];
  /**
   * rcb engine: the one-shot's exit code and run time, and `workloads`: the opted-in containers
   * running when the run started, which the one run (one snapshot of `/volumes`) covered. rcb
   * reports nothing per workload.
   */
  rcb?: { exitCode: number; durationMs: number; workloads?: string[] };
  quiesce: QuiesceOutcome;
  forget?: ForgetReport;
  /** One result per notify URL told of the outcome (`target` is its masked form). */
  notify?: { delivered: boolean; attempts: number; last: string; target?: string }[];
  /** What stopped the run as a whole. */
  fatal?: string;
  /** 0 ok, 3 partial failure, 1 fatal (the seed's exit codes). */
  exitCode: 0 | 1 | 3;
}
