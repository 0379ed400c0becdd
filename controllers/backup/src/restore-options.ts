import type { OneShotMount } from '@dockop/docker';
import type { QuiesceOutcome } from './quiesce.js';
import type { RestoreItem } from './restore-plan.js';
import type { WorkloadSnapshot } from './workload-snapshots.js';

/**
 * Where `snapshots`, `restore` and `verify` find the repository: the same settings as
 * backup-once's restic engine (`--rcb-env-file`, `--restic-image`, `--restic-volume`), so a
 * repository backed up with one command line is read back with the same flags.
 */
export interface RepositoryOptions {
  /** Docker env file with RESTIC_REPOSITORY, RESTIC_PASSWORD… Default: restic's vars of the process env. */
  rcbEnvFile?: string;
  /** restic image (ENTRYPOINT restic, with a busybox or alpine shell). Default `restic/restic:0.14.0`. */
  resticImage?: string;
  /** Extra mounts of every restic one-shot (a local repository, a cache volume). Default none. */
  resticMounts?: OneShotMount[];
  /** Only snapshots of this restic `--host`. Default: every host (Backrest uses its instance id). */
  resticHost?: string;
  /** Plan id prefix, to resolve a plan id to its container. Default `backrest_sidecar_`. */
  planIdPrefix?: string;
  /** Only containers carrying these labels. Default none. */
  selector?: string[];
  /** Extra labels on every one-shot (to find them later). */
  oneShotLabels?: Record<string, string>;
  /** Deadline of each restic one-shot, in ms. Default: ContainerActions' (6 h). */
  timeoutMs?: number;
  /** Aborts the run (SIGINT/SIGTERM); a quiesced workload is still started again. */
  signal?: AbortSignal;
  /** Run id on every one-shot and scratch volume (RUN_LABEL). Default: a fresh one. */
  runId?: string;
}

export interface RestoreOptions extends RepositoryOptions {
  /** Container name or plan id. */
  workload: string;
  /** `latest` (default) or a snapshot id (prefix) among the workload's snapshots. */
  snapshot?: string;
  /** Restore into this directory on the Docker host (created; must be empty). */
  to?: string;
  /** Restore into the workload's own volumes and bind mounts, with the workload stopped. */
  inPlace?: boolean;
  /** Resolve everything, print the plan, change nothing (exit 2). */
  dryRun?: boolean;
  /** Grace period of each stop, in seconds. Default 10. */
  stopTimeoutSec?: number;
  /** Where the quiesce journal lives (shared with backup-once: one lock). Default `/var/lib/backrest-sidecar`. */
  stateDir?: string;
  /** Backrest's container: never stopped. Default `backrest`. */
  backrestContainer?: string;
}

export interface RestoreReport {
  workload: string;
  mode: 'directory' | 'in-place';
  dryRun: boolean;
  snapshot?: Pick<WorkloadSnapshot, 'id' | 'shortId' | 'time' | 'host' | 'paths' | 'tags'>;
  items: RestoreItem[];
  /** Snapshot paths nothing receives (in place: the workload no longer mounts them). */
  unmatched: string[];
  /** In place: the containers stopped (dependents first) and started again. */
  quiesce?: QuiesceOutcome;
  /** In place: what would be stopped (dry run) or was to be stopped. */
  stopSet?: string[];
  /**
   * In place, a dump preset's dump snapshot: loaded with the preset's restore script into the
   * running server (`docker exec`), or with the server stopped (redis, sqlite: a one-shot from
   * the workload's image) and started again.
   */
  dump?: { preset: string; file: string; into: 'running' | 'stopped' };
  startedAt: string;
  durationMs: number;
  fatal?: string;
  /** 0 restored, 2 dry run, 3 restored but a container did not start again, 1 failed. */
  exitCode: 0 | 1 | 2 | 3;
}

/** Label on every scratch volume restore and verify create, so leftovers are findable. */
export const SCRATCH_LABEL = 'io.dockop.backrest-sidecar.scratch';
