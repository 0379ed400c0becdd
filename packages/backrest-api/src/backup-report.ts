import type { ForgetReport } from './retention-report.js';

/**
 * What one backup-once run reports (the one-shot command and each scheduled run of the daemon),
 * its exit codes, and the token through which the backup controller hands its last report to the
 * CLI. In the API package so the CLI reads them without importing the backup controller.
 */

/** `rcb`: restic-compose-backup's image; `restic`: one snapshot per workload; `backrest`: Backrest runs the plans. */
export type BackupEngine = 'rcb' | 'restic' | 'backrest';

/** What quiesce did around the backup. */
export interface QuiesceOutcome {
  /** Containers stopped, in stop order. */
  stopped: string[];
  /** Containers that failed to stop (the backup ran with them running). */
  stopFailed: { name: string; error: string }[];
  /** Containers started again. */
  started: string[];
  /** Containers that failed to start again (left in the journal for repair). */
  startFailed: { name: string; error: string }[];
}

export type WorkloadBackupStatus =
  /** Snapshot made. */
  | 'ok'
  /** Snapshot made but some files could not be read (restic exit 3). */
  | 'partial'
  | 'failed'
  /** Nothing to back up (no mount left after the filters). */
  | 'skipped';

export interface WorkloadBackupResult {
  /** The workload: a container, or a replicated service's first replica (by name). */
  container: string;
  /**
   * A replicated service (Compose `--scale`, Swarm): every replica whose mounts the one snapshot
   * holds, sorted by name (`container` first). Absent for a lone container.
   */
  replicas?: string[];
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

/**
 * The seed's exit codes: 1 fatal (the run stopped, rcb failed, or every workload failed), 3 partial
 * (a workload failed or was partial, a container did not stop or start again, retention failed),
 * 0 ok.
 */
export function backupExitCodeOf(report: BackupOnceReport): 0 | 1 | 3 {
  if (report.fatal) return 1;
  if (report.rcb && report.rcb.exitCode !== 0) return 1;
  const ws = report.workloads;
  if (ws.length > 0 && ws.every((w) => w.status === 'failed')) return 1;
  const partial =
    ws.some((w) => w.status === 'failed' || w.status === 'partial') ||
    report.quiesce.startFailed.length > 0 ||
    report.quiesce.stopFailed.length > 0 ||
    (report.forget !== undefined && report.forget.exitCode !== 0);
  return partial ? 3 : 0;
}

/**
 * The backup controller's last run (a one-shot `backup-once` is one run): the class is its own
 * injection token, bound once by the backup controller's module, so the CLI reads the report
 * without importing the controller's internals.
 */
export class BackupReport {
  #last: BackupOnceReport | undefined;

  get last(): BackupOnceReport | undefined {
    return this.#last;
  }

  record(report: BackupOnceReport): void {
    this.#last = report;
  }
}
