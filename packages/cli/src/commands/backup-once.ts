import { Command, InvalidArgumentError, Option } from 'commander';
import {
  BACKUP_DEFAULTS,
  repairQuiesceJournal,
  runBackupOnce,
  type BackupEngine,
  type BackupOnceOptions,
} from '@backrest-sidecar/controller-backup';
import type { PruneMode, ResticRunnerKind } from '@backrest-sidecar/controller-retention';
import { readEnvFile } from '@backrest-sidecar/controller-retention';
import {
  DockerContainerActions,
  DockerodeClient,
  type DockerConnectionOptions,
  type OneShotMount,
} from '@dockop/docker';
import {
  SecretRedactor,
  createLogger,
  type LogFormat,
  type LogLevel,
  type Logger,
} from '@dockop/runtime';
import { fatal } from '../exit.js';
import { parseDuration } from '../options.js';

/** Flags backup-once and forget share. */
export interface OneShotFlags {
  dockerSock?: string;
  includeProjectName?: boolean;
  stateDir: string;
  selector: string[];
  logLevel: LogLevel;
  logFormat: LogFormat;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** `src:dst[:ro]`: a host path (bind) or a volume name mounted into every restic one-shot. */
export function parseResticVolume(value: string): OneShotMount {
  const parts = value.split(':');
  const [source, target, mode] = parts;
  if (
    parts.length < 2 ||
    parts.length > 3 ||
    !source ||
    !target?.startsWith('/') ||
    (mode !== undefined && mode !== 'ro' && mode !== 'rw')
  ) {
    throw new InvalidArgumentError(
      `"${value}" is not <host-path-or-volume>:<container-path>[:ro|rw]`,
    );
  }
  return {
    type: source.startsWith('/') ? 'bind' : 'volume',
    source,
    target,
    readOnly: mode === 'ro',
  };
}

export function addOneShotOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option(
        '--docker-sock <path>',
        'Docker socket or DOCKER_HOST-style URL (default /var/run/docker.sock)',
      ).env('DOCKER_HOST'),
    )
    .option(
      '--include-project-name',
      'workload paths /volumes/<project>/<service> (rcb INCLUDE_PROJECT_NAME)',
    )
    .option('--state-dir <dir>', 'where the quiesce journal lives', BACKUP_DEFAULTS.stateDir)
    .option(
      '--selector <key[=value]>',
      'only containers carrying this label (repeatable)',
      collect,
      [] as string[],
    )
    .addOption(
      new Option('--log-level <level>', 'log level')
        .choices(['error', 'warn', 'info', 'debug'])
        .default('info'),
    )
    .addOption(
      new Option('--log-format <format>', 'log format (auto: pretty on a TTY)')
        .choices(['json', 'pretty', 'auto'])
        .default('json'),
    );
}

export function dockerConnection(sock: string | undefined): DockerConnectionOptions {
  const s = sock?.trim();
  if (!s) return { socketPath: '/var/run/docker.sock' };
  if (s.startsWith('unix://')) return { socketPath: s.slice('unix://'.length) };
  if (/^[a-z]+:\/\//.test(s)) return { host: s };
  return { socketPath: s };
}

/** Logger on stdout whose redactor knows the env file's values. */
export function oneShotLogger(flags: OneShotFlags, secrets: Record<string, string> = {}): Logger {
  const redactor = new SecretRedactor();
  for (const v of Object.values(secrets)) redactor.addSecretValue(v);
  return createLogger({
    level: flags.logLevel,
    format: flags.logFormat,
    stream: process.stdout,
    redactor,
  });
}

/**
 * Starts the containers a killed backup-once left stopped. Every command calls this first
 * (cheap when there is no journal; leaves a live run's journal alone).
 */
export async function repairBeforeCommand(
  actions: DockerContainerActions,
  stateDir: string,
  logger: Logger,
): Promise<void> {
  try {
    await repairQuiesceJournal({ stateDir, actions, logger });
  } catch (err) {
    logger.error('quiesce.repairFailed', { stateDir, error: (err as Error).message });
  }
}

/** SIGINT/SIGTERM abort `controller`; the run then starts quiesced containers and exits. */
export function abortOnSignals(controller: AbortController, logger: Logger): () => void {
  const onSignal = (sig: NodeJS.Signals): void => {
    if (controller.signal.aborted) {
      logger.warn('signal.again', {
        signal: sig,
        note: 'still starting quiesced containers again',
      });
      return;
    }
    logger.warn('signal.received', {
      signal: sig,
      note: 'aborting; quiesced containers will be started again',
    });
    controller.abort(new Error(`received ${sig}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
}

export interface BackupOnceFlags extends OneShotFlags {
  engine: BackupEngine;
  rcbImage: string;
  rcbEnvFile?: string;
  resticImage: string;
  resticVolume: OneShotMount[];
  resticHost?: string;
  tag: string[];
  backrestUrl?: string;
  planIdPrefix: string;
  excludeBindMounts?: boolean;
  quiesceLabel: string;
  stopTimeout: number;
  forget: boolean;
  pruneMode: PruneMode;
  forgetRunner: ResticRunnerKind;
  notifyUrl?: string;
  progress?: 'tty' | 'log' | 'none';
  timeout?: number;
}

export async function runBackupOnceCommand(flags: BackupOnceFlags): Promise<number> {
  // Read the env file once up front, only to teach the logger its values (never printed).
  const secrets = flags.rcbEnvFile ? await readEnvFile(flags.rcbEnvFile) : {};
  const logger = oneShotLogger(flags, secrets);
  const actions = new DockerContainerActions(
    new DockerodeClient(dockerConnection(flags.dockerSock)),
    undefined,
    logger,
  );
  await repairBeforeCommand(actions, flags.stateDir, logger);
  const controller = new AbortController();
  const release = abortOnSignals(controller, logger);
  try {
    const options: BackupOnceOptions = {
      engine: flags.engine,
      rcbImage: flags.rcbImage,
      ...(flags.rcbEnvFile ? { rcbEnvFile: flags.rcbEnvFile } : {}),
      dockerSocket: dockerConnection(flags.dockerSock).socketPath ?? BACKUP_DEFAULTS.dockerSocket,
      resticImage: flags.resticImage,
      resticMounts: flags.resticVolume,
      ...(flags.resticHost ? { resticHost: flags.resticHost } : {}),
      tags: flags.tag,
      ...(flags.backrestUrl ? { backrestUrl: flags.backrestUrl } : {}),
      ...(process.env.BACKREST_API_AUTHORIZATION
        ? { backrestAuthorization: process.env.BACKREST_API_AUTHORIZATION }
        : {}),
      planIdPrefix: flags.planIdPrefix,
      excludeBindMounts: flags.excludeBindMounts === true,
      includeProjectName: flags.includeProjectName === true,
      quiesceLabel: flags.quiesceLabel,
      stopTimeoutSec: Math.max(0, Math.round(flags.stopTimeout / 1000)),
      stateDir: flags.stateDir,
      ...(flags.selector.length ? { selector: flags.selector } : {}),
      noForget: !flags.forget,
      prune: flags.pruneMode,
      forgetRunner: flags.forgetRunner,
      ...(flags.notifyUrl ? { notifyUrl: flags.notifyUrl } : {}),
      ...(flags.progress ? { progress: flags.progress } : {}),
      ...(flags.timeout !== undefined ? { timeoutMs: flags.timeout } : {}),
      signal: controller.signal,
    };
    const report = await runBackupOnce(options, { actions, logger });
    return report.exitCode;
  } finally {
    release();
  }
}

export function register(program: Command): void {
  const cmd = new Command('backup-once')
    .description(
      'stop quiesced containers, run one backup, start them again, apply per-workload retention',
    )
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
      new Option(
        '--rcb-env-file <path>',
        'Docker env file with RESTIC_* (rcb and restic engines, retention)',
      ).env('RCB_ENV_FILE'),
    )
    .option(
      '--restic-image <image>',
      'restic image of the restic engine and of retention',
      BACKUP_DEFAULTS.resticImage,
    )
    .option(
      '--restic-volume <src:dst[:ro]>',
      'extra mount of every restic one-shot, e.g. a local repository (repeatable)',
      (v: string, prev: OneShotMount[]) => [...prev, parseResticVolume(v)],
      [] as OneShotMount[],
    )
    .option('--restic-host <name>', 'restic --host of the snapshots (default: this host name)')
    .option(
      '--tag <tag>',
      'extra restic tag on every snapshot (repeatable)',
      collect,
      [] as string[],
    )
    .option(
      '--backrest-url <url>',
      "Backrest's URL for --engine backrest (auth: BACKREST_API_AUTHORIZATION)",
    )
    .addOption(
      new Option('--plan-id-prefix <prefix>', 'plan id prefix (backrest engine)')
        .env('BACKREST_PLAN_ID_PREFIX')
        .default('backrest_sidecar_'),
    )
    .option('--exclude-bind-mounts', 'back up named volumes only (rcb EXCLUDE_BIND_MOUNTS)')
    .option(
      '--quiesce-label <key=value>',
      'running containers with this label are stopped around the backup',
      BACKUP_DEFAULTS.quiesceLabel,
    )
    .addOption(
      new Option('--stop-timeout <duration>', 'grace period of each stop')
        .argParser(parseDuration)
        .default(BACKUP_DEFAULTS.stopTimeoutSec * 1000, '10s'),
    )
    .option('--no-forget', 'skip the per-workload retention loop')
    .addOption(
      new Option('--prune-mode <mode>', 'prune after each workload, once at the end, or never')
        .choices(['per-workload', 'once', 'never'])
        .default('per-workload'),
    )
    .addOption(
      new Option(
        '--forget-runner <runner>',
        'run retention restic in a one-shot container or with the local binary',
      )
        .choices(['container', 'local'])
        .default('container'),
    )
    .option('--notify-url <url>', 'POST a JSON summary here on success and failure (retried)')
    .addOption(
      new Option(
        '--progress <mode>',
        'progress display (default: tty on a terminal, else log)',
      ).choices(['tty', 'log', 'none']),
    )
    .addOption(
      new Option('--timeout <duration>', 'deadline of the backup step').argParser(parseDuration),
    )
    .addHelpText(
      'after',
      `
Exit codes: 0 ok, 3 partial failure (a workload, a restart or retention failed), 1 fatal.
A crashed run's stopped containers are started by the next command (journal in --state-dir).

Examples:
  backrest-sidecar backup-once --rcb-env-file /etc/rcb.env
  backrest-sidecar backup-once --engine restic --rcb-env-file /etc/rcb.env --include-project-name
  backrest-sidecar backup-once --engine restic --restic-volume /srv/restic-repo:/repo --no-forget`,
    );
  addOneShotOptions(cmd).action(async (flags: BackupOnceFlags) => {
    process.exitCode = await runBackupOnceCommand(flags).catch(fatal);
  });
  program.addCommand(cmd);
}
