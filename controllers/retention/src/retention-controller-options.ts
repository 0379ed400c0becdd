import type { PruneMode } from '@backrest-sidecar/api';
import type { ResticRunnerConfig } from '@backrest-sidecar/restic';

/** Token of the retention controller's options; unbound, the controller is inert (no keys). */
export const RetentionControllerOptions = Symbol.for('backrest-sidecar.RetentionControllerOptions');

export interface RetentionControllerOptions {
  /**
   * `daemon` (default): every workload on its own key (`BackupWorkload/<name>`), brought to its
   * policy after each of its backups (`BackupCompletedTrigger`) and every `periodMs`.
   * `once`: one pass over every workload (`RetentionRun/all`), the one-shot `forget` command.
   */
  mode?: 'daemon' | 'once';
  /** How to run restic (env file, image, mounts, one-shot labels, redactor). */
  restic: ResticRunnerConfig;
  /**
   * Forget the snapshots we make (backup-once, the scheduled runs) with `restic` above. Default
   * true; the daemon sets false when no repository is configured here (no env file, no
   * RESTIC_REPOSITORY), leaving only Backrest's plans.
   */
  ownSnapshots?: boolean;
  /**
   * `daemon`: Backrest's config, where our plans are: the snapshots Backrest made from a
   * workload's plan get the `within` terms Backrest's own retention can't express (tags
   * `plan:<id>`, `created-by:<instance>`, `--group-by ''`, the plan's host paths; stepping aside
   * when the repository has an active `forgetPolicy`). Default: none.
   */
  backrest?: { configPath: string; planIdPrefix?: string };
  /** restic `--host` whose snapshots are forgotten. Default: `resolveResticHost` (env, else the engine's name). */
  resticHost?: string;
  /** `/volumes/<project>/<service>` paths (rcb's INCLUDE_PROJECT_NAME). Default false. */
  includeProjectName?: boolean;
  /** Default `per-workload`. */
  prune?: PruneMode;
  /** `once` only: restic's `--dry-run`, nothing removed and no status written. Default false. */
  dryRun?: boolean;
  /** Only containers carrying all these labels. Default: no restriction. */
  selector?: string[];
  /** Accept a `backrest.keep` the image (not the container) sets. Default false. */
  trustImageLabels?: boolean;
  /**
   * `daemon`: apply each workload's policy at least this often (ms), besides after its backups.
   * Default 86 400 000 (daily).
   */
  periodMs?: number;
  /**
   * `daemon`: the controller's resync period (ms). A resync re-reads no workload: each one is
   * requeued for its next due pass, and a backup brings it at once. Default 60 000.
   */
  resyncPeriodMs?: number;
  /**
   * The backup engine of the scheduled runs. `rcb` makes one snapshot of all of `/volumes`,
   * which can't be split per workload: retention is then left to rcb's own global policy (said
   * once in the log and in every workload's `RetentionSatisfied`). Default `restic`.
   */
  engine?: 'rcb' | 'restic' | 'backrest';
}

/** Defaults of RetentionControllerOptions, declared once. */
export const RETENTION_CONTROLLER_DEFAULTS = {
  mode: 'daemon' as const,
  includeProjectName: false,
  prune: 'per-workload' as PruneMode,
  periodMs: 24 * 3_600_000,
  resyncPeriodMs: 60_000,
  engine: 'restic' as const,
  ownSnapshots: true,
};
