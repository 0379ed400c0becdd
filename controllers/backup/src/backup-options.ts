import { randomBytes } from 'node:crypto';
import type { OneShotMount } from '@dockop/docker';
import { DEFAULT_RESTIC_IMAGE, type ResticRunnerKind } from '@backrest-sidecar/restic';
import type { PruneMode } from '@backrest-sidecar/api';

export type { BackupEngine } from '@backrest-sidecar/api';
import type { BackupEngine } from '@backrest-sidecar/api';

/** Options of one backup-once run. Defaults are in BACKUP_DEFAULTS and documented per field. */
export interface BackupOnceOptions {
  /** `rcb` (default): restic-compose-backup's one-shot; `restic`: one snapshot per workload; `backrest`: Backrest's Backup API per plan. */
  engine?: BackupEngine;

  /** rcb image. Default `zettaio/restic-compose-backup:0.7.1`. */
  rcbImage?: string;
  /** Docker env file with RESTIC_* (and rcb's own settings). Passed to rcb and the restic engine. */
  rcbEnvFile?: string;
  /** Host socket mounted read-only at /tmp/docker.sock in the rcb container. Default `/var/run/docker.sock`. */
  dockerSocket?: string;

  /** restic engine image (ENTRYPOINT restic). Default `restic/restic:0.14.0`. */
  resticImage?: string;
  /** Extra mounts of every restic and rcb one-shot (a local repository, a cache volume). */
  resticMounts?: OneShotMount[];
  /** Only containers carrying all these labels (`key` or `key=value`) are backed up, quiesced and forgotten. Default: no restriction. */
  selector?: string[];
  /**
   * `--host` of restic backup and of the retention loop's forget (stable, so restic finds the
   * parent snapshot and forget never touches another host's snapshots in a shared repository).
   * Default: env BACKREST_SIDECAR_RESTIC_HOST, else the Docker engine's `Name` (`docker info`).
   */
  resticHost?: string;
  /** Accept a `backrest.keep` the image (not the container) sets. Default false. */
  trustImageLabels?: boolean;
  /** Extra labels on every one-shot container (besides ONE_SHOT_LABEL), to find them later. */
  oneShotLabels?: Record<string, string>;
  /** Extra `--tag`s on every snapshot. */
  tags?: string[];

  /** Backrest base URL for `engine: backrest`, e.g. `http://backrest:9898`. */
  backrestUrl?: string;
  /** Value of the Authorization header for Backrest, e.g. `Basic dXNlcjpwYXNz` (never logged). */
  backrestAuthorization?: string;
  /** Plan id prefix (must match the plan controller's). Default `backrest_sidecar_`. */
  planIdPrefix?: string;

  /** Ignore bind mounts (rcb's EXCLUDE_BIND_MOUNTS). Default false. */
  excludeBindMounts?: boolean;
  /** `/volumes/<project>/<service>` (rcb's INCLUDE_PROJECT_NAME). Default false. */
  includeProjectName?: boolean;

  /** `key=value`: running containers with this label are stopped around the backup. Default `restic-compose-backup.quiesce=true`. */
  quiesceLabel?: string;
  /** Backrest's container (`--backrest-container`): never quiesced. Default `backrest`. */
  backrestContainer?: string;
  /** Grace period of each stop, in seconds. Default 10. */
  stopTimeoutSec?: number;
  /** Where the quiesce journal lives. Default `/var/lib/backrest-sidecar`. */
  stateDir?: string;

  /** Skip the retention loop after the backup. Default false. */
  noForget?: boolean;
  /** How the retention loop prunes. Default `per-workload`. */
  prune?: PruneMode;
  /** Runner of the retention loop's restic: `container` (default here: same image and env as the backup) or `local`. */
  forgetRunner?: ResticRunnerKind;

  /**
   * Where the outcome is sent (`--notify-url`, repeatable): a plain http(s) URL gets the JSON
   * summary; `ntfy://`, `gotify://`, `slack://`, `discord://`, `hc://` and Slack, Discord and
   * healthchecks.io webhook URLs get their service's message (grammar in notify-url.ts).
   * healthchecks is also pinged at the start. Default: none.
   */
  notifyUrls?: string[];
  /** One more notify URL (the 0.1 option; added to `notifyUrls`). */
  notifyUrl?: string;
  /** Attempts of each outcome notification. Default 4 (1 + 3 retries, backoff 1 s, 2 s, 4 s); start pings get 1. */
  notifyAttempts?: number;

  /** `tty` draws a bar, `log` writes a line every `progressIntervalMs`, `none`. Default: `tty` when stderr is a TTY, else `log`. */
  progress?: 'tty' | 'log' | 'none';
  /** Interval of progress log lines. Default 10000. */
  progressIntervalMs?: number;

  /** Deadline of the whole backup step in ms. Default: ContainerActions' one-shot default (6 h). */
  timeoutMs?: number;
  /** Aborting (SIGINT/SIGTERM) kills the backup; quiesced containers are still started again. */
  signal?: AbortSignal;
  /**
   * Id of this run (`[A-Za-z0-9_.-]`, 1-64 characters): recorded in the quiesce journal and put on
   * every one-shot as RUN_LABEL, so a repair after kill -9 removes exactly this run's one-shots.
   * Default: a fresh random id (`newRunId()`); give one only in tests.
   */
  runId?: string;
}

/** Where the quiesce journal, statuses and run figures live (`--state-dir`). */
export const DEFAULT_STATE_DIR = '/var/lib/backrest-sidecar';

export const BACKUP_DEFAULTS = {
  engine: 'rcb' as BackupEngine,
  rcbImage: 'zettaio/restic-compose-backup:0.7.1',
  dockerSocket: '/var/run/docker.sock',
  resticImage: DEFAULT_RESTIC_IMAGE,
  quiesceLabel: 'restic-compose-backup.quiesce=true',
  backrestContainer: 'backrest',
  stopTimeoutSec: 10,
  stateDir: DEFAULT_STATE_DIR,
  prune: 'per-workload' as PruneMode,
  notifyAttempts: 4,
  progressIntervalMs: 10_000,
};

/** Label put on every one-shot this package starts, so leftovers are findable (`docker ps -a --filter label=...`). */
export const ONE_SHOT_LABEL = 'io.dockop.backrest-sidecar.one-shot';

/** Label whose value is the backup-once run id on every one-shot of that run (besides ONE_SHOT_LABEL). */
export const RUN_LABEL = 'io.dockop.backrest-sidecar.run';

const RUN_ID_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;

/** A fresh run id: 16 random hex digits. */
export function newRunId(): string {
  return randomBytes(8).toString('hex');
}

/** Throws, naming the value, unless `runId` is usable as a Docker label value and filter. */
export function checkRunId(runId: string): string {
  if (!RUN_ID_PATTERN.test(runId)) {
    throw new Error(
      `run id ${JSON.stringify(runId.slice(0, 80))} (label ${RUN_LABEL}) must be 1-64 characters of A-Z a-z 0-9 _ . -`,
    );
  }
  return runId;
}
