/**
 * The backup flags `backup-once` and `daemon --backup-schedule` both take, and the one function
 * that turns them into `BackupOnceOptions`, so a scheduled run is the same run as a manual one.
 */
import {
  BACKUP_DEFAULTS,
  NotifyUrlError,
  parseNotifyUrl,
  type BackupEngine,
  type BackupOnceOptions,
} from '@backrest-sidecar/controller-backup';
import type { ResticRunnerKind } from '@backrest-sidecar/restic';
import type { PruneMode } from '@backrest-sidecar/api';
import type { OneShotMount } from '@dockop/docker';
import { Option, type Command } from 'commander';
import { UsageError, collect, dockerConnection, parseDuration } from './options.js';
import {
  pruneModeOption,
  rcbEnvFileOption,
  resticHostOption,
  resticImageOption,
  resticVolumeOption,
  stopTimeoutOption,
} from './one-shot.js';

/**
 * What a backup run reads from the command line. The naming flags (`--plan-id-prefix`,
 * `--include-project-name`, `--exclude-bind-mounts`), `--docker-sock`, `--backrest-url` and
 * `--selector` have the same names (and meaning) as the reconcile flags, so `daemon` passes its
 * own: plans, snapshots and the retention loop agree on ids and paths.
 */
export interface BackupFlags {
  engine: BackupEngine;
  rcbImage: string;
  rcbEnvFile?: string;
  resticImage: string;
  resticVolume: OneShotMount[];
  resticHost?: string;
  tag: string[];
  quiesceLabel: string;
  /** ms. */
  stopTimeout: number;
  stateDir: string;
  forget: boolean;
  pruneMode: PruneMode;
  forgetRunner: ResticRunnerKind;
  notifyUrl: string[];
  progress?: 'tty' | 'log' | 'none';
  /** ms. */
  progressInterval: number;
  /** ms. */
  timeout?: number;
  // Shared with the reconcile flags:
  backrestContainer?: string;
  dockerSock?: string;
  backrestUrl?: string;
  planIdPrefix: string;
  includeProjectName?: boolean;
  excludeBindMounts?: boolean;
  selector: string[];
  trustImageLabels?: boolean;
}

/**
 * Adds the backup-only flags (every `BackupFlags` field but `stateDir` and the ones shared with
 * the reconcile flags, which each command adds its own way).
 */
export function addBackupOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option(
        '--engine <engine>',
        'rcb: restic-compose-backup one-shot; restic: one snapshot per workload; backrest: Backrest Backup API',
      )
        .choices(['rcb', 'restic', 'backrest'])
        .default(BACKUP_DEFAULTS.engine),
    )
    .option('--rcb-image <image>', 'restic-compose-backup image', BACKUP_DEFAULTS.rcbImage)
    .addOption(
      rcbEnvFileOption('Docker env file with RESTIC_* (rcb and restic engines, retention)'),
    )
    .addOption(resticImageOption('restic image of the restic engine and of retention'))
    .addOption(
      resticVolumeOption(
        'extra mount of every restic one-shot, e.g. a local repository (repeatable)',
      ),
    )
    .addOption(resticHostOption())
    .option(
      '--tag <tag>',
      'extra restic tag on every snapshot (repeatable)',
      collect,
      [] as string[],
    )
    .option(
      '--quiesce-label <key=value>',
      'running containers with this label are stopped around the backup',
      BACKUP_DEFAULTS.quiesceLabel,
    )
    .addOption(stopTimeoutOption('grace period of each stop'))
    .option('--no-forget', 'skip the per-workload retention loop')
    .addOption(pruneModeOption())
    .addOption(
      new Option(
        '--forget-runner <runner>',
        'run retention restic in a one-shot container or with the local binary',
      )
        .choices(['container', 'local'])
        .default('container'),
    )
    .addOption(
      new Option(
        '--notify-url <url>',
        'tell this URL the outcome (repeatable; space-separated in the env): http(s) JSON POST, ntfy://, gotify://, slack://, discord://, hc:// (see docs/notifications.md)',
      )
        .env('BACKREST_SIDECAR_NOTIFY_URL')
        .argParser(collectNotifyUrls)
        .default([] as string[], 'none'),
    )
    .addOption(
      new Option(
        '--progress <mode>',
        'progress display (default: tty on a terminal, else log)',
      ).choices(['tty', 'log', 'none']),
    )
    .addOption(
      new Option(
        '--progress-interval <duration>',
        'log mode: at most one backup.progress line per step this often',
      )
        .argParser(parseDuration)
        .default(BACKUP_DEFAULTS.progressIntervalMs, '10s'),
    )
    .addOption(
      new Option('--timeout <duration>', 'deadline of the backup step').argParser(parseDuration),
    );
}

/**
 * Flags → the options of one backup run (without its abort signal). `env` supplies
 * BACKREST_API_AUTHORIZATION (kept off the command line, where `ps` would show it).
 */
export function toBackupOnceOptions(
  flags: BackupFlags,
  env: NodeJS.ProcessEnv = process.env,
): Omit<BackupOnceOptions, 'signal'> {
  return {
    engine: flags.engine,
    rcbImage: flags.rcbImage,
    ...(flags.rcbEnvFile ? { rcbEnvFile: flags.rcbEnvFile } : {}),
    dockerSocket: dockerConnection(flags.dockerSock).socketPath ?? BACKUP_DEFAULTS.dockerSocket,
    resticImage: flags.resticImage,
    resticMounts: flags.resticVolume,
    ...(flags.resticHost ? { resticHost: flags.resticHost } : {}),
    tags: flags.tag,
    ...(flags.backrestUrl ? { backrestUrl: flags.backrestUrl } : {}),
    ...(env.BACKREST_API_AUTHORIZATION
      ? { backrestAuthorization: env.BACKREST_API_AUTHORIZATION }
      : {}),
    planIdPrefix: flags.planIdPrefix,
    excludeBindMounts: flags.excludeBindMounts === true,
    includeProjectName: flags.includeProjectName === true,
    quiesceLabel: flags.quiesceLabel,
    ...(flags.backrestContainer ? { backrestContainer: flags.backrestContainer } : {}),
    stopTimeoutSec: Math.max(0, Math.round(flags.stopTimeout / 1000)),
    stateDir: flags.stateDir,
    ...(flags.selector.length ? { selector: flags.selector } : {}),
    trustImageLabels: flags.trustImageLabels === true,
    noForget: !flags.forget,
    prune: flags.pruneMode,
    forgetRunner: flags.forgetRunner,
    ...(flags.notifyUrl.length ? { notifyUrls: flags.notifyUrl } : {}),
    ...(flags.progress ? { progress: flags.progress } : {}),
    progressIntervalMs: flags.progressInterval,
    ...(flags.timeout !== undefined ? { timeoutMs: flags.timeout } : {}),
  };
}

/**
 * Argument parser of `--notify-url`: checks each URL's grammar before anything touches Docker.
 * A UsageError, not commander's InvalidArgumentError, because commander would quote the raw
 * value (a credential) in its message; ours shows it masked. The env variable may hold several
 * URLs separated by spaces (as Watchtower's WATCHTOWER_NOTIFICATION_URL).
 */
export function collectNotifyUrls(value: string, previous: string[] = []): string[] {
  const urls = value.split(/\s+/).filter(Boolean);
  for (const url of urls) {
    try {
      parseNotifyUrl(url);
    } catch (err) {
      if (err instanceof NotifyUrlError) throw new UsageError(err.message);
      throw err;
    }
  }
  return [...previous, ...urls];
}
