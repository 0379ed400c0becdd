/**
 * What the one-shot commands (`backup-once`, `forget`) share: their common flags and their setup
 * (a logger that knows the env file's secrets, Docker actions, the quiesce journal repaired).
 */
import { existsSync } from 'node:fs';
import {
  BACKUP_DEFAULTS,
  journalPath,
  repairQuiesceJournal,
} from '@backrest-sidecar/controller-backup';
import { RESTIC_HOST_ENV, readEnvFile, resticRedactor } from '@backrest-sidecar/restic';
import {
  DockerContainerActions,
  DockerodeClient,
  type ContainerActions,
  type OneShotMount,
} from '@dockop/docker';
import {
  SecretRedactor,
  type Redactor,
  createLogger,
  type LogFormat,
  type LogLevel,
  type Logger,
} from '@dockop/runtime';
import { InvalidArgumentError, Option, type Command } from 'commander';
import {
  DEFAULTS,
  addLogOptions,
  collect,
  dockerConnection,
  dockerSockOption,
  parseDuration,
  stateDirOption,
} from './options.js';

/** Flags backup-once and forget share. */
export interface OneShotFlags {
  dockerSock?: string;
  trustImageLabels?: boolean;
  includeProjectName?: boolean;
  stateDir: string;
  selector: string[];
  logLevel: LogLevel;
  logFormat: LogFormat;
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

/** `--restic-volume <src:dst[:ro]>`, repeatable (default none). */
export function resticVolumeOption(description: string): Option {
  return new Option('--restic-volume <src:dst[:ro]>', description)
    .argParser((v: string, prev: OneShotMount[] | undefined) => [
      ...(prev ?? []),
      parseResticVolume(v),
    ])
    .default([] as OneShotMount[]);
}

/** `--rcb-env-file <path>` (env RCB_ENV_FILE): the Docker env file with RESTIC_*. */
export function rcbEnvFileOption(description: string): Option {
  return new Option('--rcb-env-file <path>', description).env('RCB_ENV_FILE');
}

/**
 * `--restic-host <name>` (env BACKREST_SIDECAR_RESTIC_HOST): restic `--host` of the snapshots
 * backup-once makes and of the ones forget may remove. Default: the Docker engine's name.
 */
export function resticHostOption(): Option {
  return new Option(
    '--restic-host <name>',
    "restic --host of backups and of forget (default: the Docker engine's name, docker info)",
  ).env(RESTIC_HOST_ENV);
}

/** `--restic-image <image>`: the restic image of every restic one-shot. */
export function resticImageOption(description: string): Option {
  return new Option('--restic-image <image>', description).default(BACKUP_DEFAULTS.resticImage);
}

/** `--plan-id-prefix` (env BACKREST_PLAN_ID_PREFIX): the prefix of the plan ids we own. */
export function planIdPrefixOption(description: string): Option {
  return new Option('--plan-id-prefix <prefix>', description)
    .env('BACKREST_PLAN_ID_PREFIX')
    .default(DEFAULTS.planIdPrefix);
}

/** `--stop-timeout <duration>`: grace period of each quiesce stop (ms; default 10s). */
export function stopTimeoutOption(description: string): Option {
  return new Option('--stop-timeout <duration>', description)
    .argParser(parseDuration)
    .default(BACKUP_DEFAULTS.stopTimeoutSec * 1000, '10s');
}

/** `--prune-mode`: after each workload (default), once at the end, or never. */
export function pruneModeOption(): Option {
  return new Option('--prune-mode <mode>', 'prune after each workload, once at the end, or never')
    .choices(['per-workload', 'once', 'never'])
    .default('per-workload');
}

export function addOneShotOptions(cmd: Command): Command {
  cmd
    .addOption(dockerSockOption())
    .option(
      '--include-project-name',
      'workload paths /volumes/<project>/<service> (rcb INCLUDE_PROJECT_NAME)',
    )
    .addOption(stateDirOption())
    .option(
      '--trust-image-labels',
      'accept backrest.keep (and hooks/paths labels) inherited from images',
    )
    .option(
      '--selector <key[=value]>',
      'only containers carrying this label (repeatable)',
      collect,
      [] as string[],
    );
  return addLogOptions(cmd);
}

/** Logger on stderr (stdout is for command output) whose redactor knows the env file's secrets. */
export function oneShotLogger(
  flags: OneShotFlags,
  secrets: Record<string, string> = {},
  redactor: Redactor = new SecretRedactor(),
): Logger {
  resticRedactor(secrets, redactor);
  return createLogger({
    level: flags.logLevel,
    format: flags.logFormat,
    stream: process.stderr,
    redactor,
  });
}

/**
 * Starts the containers a killed backup-once left stopped. Every command calls this first
 * (cheap when there is no journal; leaves a live run's journal alone).
 */
export async function repairBeforeCommand(
  actions: Pick<ContainerActions, 'start' | 'removeLeftovers' | 'inspect'>,
  stateDir: string,
  logger: Logger,
): Promise<void> {
  try {
    await repairQuiesceJournal({ stateDir, actions, logger });
  } catch (err) {
    logger.error('quiesce.repair_failed', { stateDir, error: (err as Error).message });
  }
}

/**
 * Whether a quiesce journal exists, i.e. `repairBeforeCommand` may start or remove containers. A
 * journal written after this check belongs to a run that is still alive, which the repair leaves
 * alone: a container list taken meanwhile stays true.
 */
export function repairMayChangeContainers(stateDir: string): boolean {
  return existsSync(journalPath(stateDir));
}

export interface OneShotSetup {
  logger: Logger;
  actions: DockerContainerActions;
  /** The same connection as `actions`: `docker info` (restic host) and image labels (trust). */
  client: DockerodeClient;
  /** The logger's redactor: give it to runners so what they learn is masked in logs too. */
  redactor: Redactor;
}

/**
 * The start of every one-shot command: reads `envFile` once, only to teach the logger its values
 * (never printed), connects the Docker actions, and repairs a crashed run's quiesce journal.
 */
export async function setUpOneShot(
  flags: OneShotFlags,
  envFile: string | undefined,
): Promise<OneShotSetup> {
  const secrets = envFile ? await readEnvFile(envFile) : {};
  const redactor = new SecretRedactor();
  const logger = oneShotLogger(flags, secrets, redactor);
  const client = new DockerodeClient(dockerConnection(flags.dockerSock));
  const actions = new DockerContainerActions(client, undefined, logger);
  await repairBeforeCommand(actions, flags.stateDir, logger);
  return { logger, actions, client, redactor };
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
