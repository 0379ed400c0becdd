import type { ResticRunnerConfig } from '@backrest-sidecar/restic';

/**
 * The retention loop's report and the contract backup-once uses to run it. They live here, not in
 * the retention controller, so the backup controller and the CLI depend on the shape only.
 */

/**
 * `per-workload` (default): `--prune` on each workload's forget, as the seed writes it.
 * `once`: one `restic prune` after all forgets (far cheaper with many workloads).
 * `never`: leave pruning to someone else.
 */
export type PruneMode = 'per-workload' | 'once' | 'never';

export type WorkloadForgetStatus =
  /** forget ran (or would run, with dry-run). */
  | 'forgotten'
  /** The repository has no snapshot at all yet. */
  | 'no-snapshots'
  /** The repository has snapshots, none at the workload's path: a Warning says why. */
  | 'no-match'
  /**
   * The keep label does not parse, replicas of one path disagree, or two workloads map to the
   * path: nothing was run.
   */
  | 'invalid'
  /** `backrest.keep` comes from the image, not the container (no `--trust-image-labels`): ignored. */
  | 'untrusted'
  /** restic failed for this workload. */
  | 'failed'
  /** Backrest runs the workload's plan and applies its keep itself (no `within` term). */
  | 'backrest-owned'
  /** The plan's repository has an active `forgetPolicy`, which overrides plan retention in Backrest. */
  | 'repo-policy';

export interface WorkloadForgetResult {
  /** Containers sharing this path (compose replicas); usually one. */
  containers: string[];
  path: string;
  keep: string;
  flags: string[];
  status: WorkloadForgetStatus;
  /** Short ids. */
  kept: string[];
  removed: string[];
  warnings: string[];
  error?: string;
}

export interface ForgetReport {
  dryRun: boolean;
  workloads: WorkloadForgetResult[];
  /** A failure that stopped the whole run (repository unreachable, Docker unreachable). */
  fatal?: string;
  /** 0 ok, 3 some workloads failed or were invalid, 1 fatal (the seed's exit codes). */
  exitCode: 0 | 1 | 3;
}

/** What backup-once asks of retention after a successful backup. */
export interface BackupRetentionRequest {
  /** How to run restic (the backup's image, env file, mounts, one-shot labels, redactor). */
  restic: ResticRunnerConfig;
  /** restic `--host` of the snapshots the backup made: only these are forgotten. */
  host: string;
  includeProjectName: boolean;
  prune: PruneMode;
  /** Only containers carrying all these labels. Default: no restriction. */
  selector?: string[];
  /** Accept a `backrest.keep` the image sets (`--trust-image-labels`). Default false. */
  trustImageLabels?: boolean;
  signal?: AbortSignal;
}

/**
 * Token and contract: runs the per-workload forget loop for backup-once. Bound by the retention
 * controller's module; backup-once without it reports retention as not loaded.
 */
export const BackupRetention = Symbol.for('backrest-sidecar.BackupRetention');

export interface BackupRetention {
  run(request: BackupRetentionRequest): Promise<ForgetReport>;
}

/**
 * The retention controller's last full pass (`RetentionRun/all`, what the one-shot `forget` runs):
 * the class is its own injection token, bound once by the retention controller's module, so the
 * CLI reads the report without importing the controller's internals.
 */
export class RetentionReport {
  #last: ForgetReport | undefined;

  get last(): ForgetReport | undefined {
    return this.#last;
  }

  record(report: ForgetReport): void {
    this.#last = report;
  }
}
