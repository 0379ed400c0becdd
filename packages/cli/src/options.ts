/**
 * Option definitions shared by every command, and their resolution into one `Settings` object.
 * Precedence: command-line flag > environment variable > default, except BACKREST_CONFIG, which
 * the seed says overrides `--config`.
 */
import { statSync } from 'node:fs';
import path from 'node:path';
import {
  CronError,
  DEFAULT_PLAN_ID_PREFIX,
  checkPlanIdPrefix,
  parseCron,
} from '@backrest-sidecar/api';
import { instanceIdProblem } from '@backrest-sidecar/config-sink';
import { BACKUP_DEFAULTS } from '@backrest-sidecar/controller-backup';
import type { DockerConnectionOptions } from '@dockop/docker';
import { InvalidArgumentError, Option, type Command } from 'commander';

export interface RawOptions {
  config: string;
  configFormat: 'auto' | 'sidecar' | 'backrest';
  /** Create a missing config directory (else it is a usage error). */
  createConfig?: boolean;
  writeMode: 'atomic' | 'inplace';
  backrestInstance?: string;
  apply?: boolean;
  applyMode?: 'restart' | 'command' | 'api';
  applyCooldown: number;
  applyStable: number;
  applyStopTimeout: number;
  applyMaxDefer: number;
  requireApply?: boolean;
  backrestContainer: string;
  backrestUrl?: string;
  reloadCmd?: string;
  dockerSock?: string;
  dockerRoot: string;
  volumePrefix?: string;
  dumpDir?: string;
  defaultRepo: string;
  defaultSchedule: string;
  defaultRetention: string;
  planIdPrefix: string;
  excludeBindMounts?: boolean;
  includeProjectName?: boolean;
  dryRun?: boolean;
  prune?: boolean;
  trustImageLabels?: boolean;
  plugin: string[];
  selector: string[];
  logLevel: 'error' | 'warn' | 'info' | 'debug';
  logFormat: 'json' | 'pretty' | 'auto';
  /** Where backup-once journals the containers it stopped (repaired by every mode at start). */
  stateDir: string;
}

/** The flags `addRenderOptions` defines (what `get` and `describe` take). */
export type RenderOptions = Omit<
  RawOptions,
  | 'createConfig'
  | 'backrestInstance'
  | 'writeMode'
  | 'apply'
  | 'applyMode'
  | 'applyCooldown'
  | 'applyStable'
  | 'backrestContainer'
  | 'backrestUrl'
  | 'reloadCmd'
  | 'dryRun'
  | 'prune'
  | 'stateDir'
> &
  Partial<RawOptions>;

export const DEFAULTS = {
  config: '/etc/backrest/config.json',
  dockerSock: '/var/run/docker.sock',
  dockerRoot: '/var/lib/docker',
  backrestContainer: 'backrest',
  defaultRepo: 'default',
  defaultSchedule: '0 2 * * *',
  defaultRetention: 'daily=7,weekly=4',
  planIdPrefix: DEFAULT_PLAN_ID_PREFIX,
  applyCooldownMs: 10_000,
  applyStableMs: 5_000,
  applyStopTimeoutMs: 3_000,
  applyMaxDeferMs: 6 * 3_600_000,
  intervalMs: 60_000,
  orphanGraceMs: 600_000,
} as const;

const DURATION_FACTORS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** `500ms`, `10s`, `5m`, `1h`, `7d`, or a bare number of seconds → milliseconds. */
export function parseDuration(value: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(value);
  if (!m) {
    throw new InvalidArgumentError(`"${value}" is not a duration (e.g. 500ms, 10s, 5m, 1h, 7d)`);
  }
  const unit = (m[2] ?? 's') as keyof typeof DURATION_FACTORS;
  return Math.round(Number(m[1]) * DURATION_FACTORS[unit]);
}

/** An http(s) URL (`--notify-url`, `--backrest-url`): checked before anything touches Docker. */
export function parseHttpUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError(`"${value}" is not a URL (e.g. http://backrest:9898)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InvalidArgumentError(`"${value}" is not an http:// or https:// URL`);
  }
  return value;
}

/** Argument parser of a repeatable string flag. */
export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** `--docker-sock`, every command's: a socket path or a DOCKER_HOST-style URL; env DOCKER_HOST. */
export function dockerSockOption(): Option {
  return new Option(
    '--docker-sock <path>',
    `Docker socket or DOCKER_HOST-style URL (default ${DEFAULTS.dockerSock})`,
  ).env('DOCKER_HOST');
}

/** A `--docker-sock` value: a path, `unix://path`, or another scheme's URL (tcp://, ssh://). */
export function dockerConnection(sock: string | undefined): DockerConnectionOptions {
  const s = sock?.trim();
  if (!s) return { socketPath: DEFAULTS.dockerSock };
  if (s.startsWith('unix://')) return { socketPath: s.slice('unix://'.length) };
  if (/^[a-z]+:\/\//.test(s)) return { host: s };
  return { socketPath: s };
}

/** `--log-level` and `--log-format`, every command's. */
export function addLogOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option('--log-level <level>', 'log level')
        .choices(['error', 'warn', 'info', 'debug'])
        .default('info'),
    )
    .addOption(
      new Option(
        '--log-format <format>',
        'logs and errors on stderr: auto (pretty on a terminal, else JSON lines), json or pretty',
      )
        .choices(['json', 'pretty', 'auto'])
        .default('auto'),
    );
}

/**
 * The flags that decide what the labels render to: every command that reads labels takes them,
 * the read-only ones (`get`, `describe`) only these.
 */
export function addRenderOptions(cmd: Command): Command {
  cmd
    .addOption(
      new Option('--config <path>', 'Backrest config file (BACKREST_CONFIG overrides)').default(
        DEFAULTS.config,
      ),
    )
    .addOption(
      new Option('--config-format <format>', 'config file format')
        .choices(['auto', 'sidecar', 'backrest'])
        .default('auto'),
    )
    .addOption(dockerSockOption())
    .option('--docker-root <path>', "Docker's data root", DEFAULTS.dockerRoot)
    .addOption(
      new Option(
        '--volume-prefix <path>',
        'host directory of named volumes (default <docker-root>/volumes)',
      ).env('BACKREST_VOLUME_PREFIX'),
    )
    .addOption(
      new Option(
        '--dump-dir <path>',
        "host directory for backrest.dump dumps, mounted at the same path in Backrest's container (each plan dumps into <path>/<plan id>)",
      ).env('BACKREST_DUMP_DIR'),
    )
    .option('--default-repo <id>', 'repo for workloads without backrest.repo', DEFAULTS.defaultRepo)
    .option(
      '--default-schedule <cron>',
      'schedule for workloads without backrest.schedule',
      DEFAULTS.defaultSchedule,
    )
    .addOption(
      new Option('--default-retention <spec>', 'retention for workloads without backrest.keep')
        .env('BACKREST_DEFAULT_RETENTION')
        .default(DEFAULTS.defaultRetention),
    )
    .addOption(
      new Option('--plan-id-prefix <prefix>', 'prefix of the plan ids we own')
        .env('BACKREST_PLAN_ID_PREFIX')
        .default(DEFAULTS.planIdPrefix),
    )
    .option('--exclude-bind-mounts', 'derive sources from named volumes only')
    .option(
      '--include-project-name',
      'restic paths /volumes/<project>/<service> (rcb INCLUDE_PROJECT_NAME); plan ids always hold the project',
    )
    .option('--trust-image-labels', 'accept hooks/paths labels inherited from images')
    .option(
      '--plugin <path-or-package>',
      'load a plugin module (repeatable)',
      collect,
      [] as string[],
    )
    .option(
      '--selector <key=value>',
      'only containers with this label too (repeatable; pair with its own --plan-id-prefix)',
      collect,
      [] as string[],
    );
  return addLogOptions(cmd);
}

/** The flags that write or apply (`reconcile`, `daemon`): never offered by read-only commands. */
export function addWriteOptions(cmd: Command): Command {
  return cmd
    .option(
      '--create-config',
      "create --config's directory when it does not exist (else a mistyped path is an error)",
    )
    .addOption(
      new Option('--write-mode <mode>', 'atomic rename, or in place for a bind-mounted single file')
        .choices(['atomic', 'inplace'])
        .default('atomic'),
    )
    .addOption(
      new Option(
        '--backrest-instance <id>',
        "instance of a Backrest config file we create (Backrest's native format; default: the Docker engine's host name)",
      ).env('BACKREST_INSTANCE'),
    )
    .option('--apply', 'apply a changed config to Backrest (restart its container by default)')
    .addOption(
      new Option(
        '--apply-mode <mode>',
        'how to apply: restart the container, run --reload-cmd, or Backrest API',
      ).choices(['restart', 'command', 'api']),
    )
    .addOption(
      new Option('--apply-cooldown <duration>', 'minimum time between two restarts')
        .argParser(parseDuration)
        .default(DEFAULTS.applyCooldownMs, '10s'),
    )
    .addOption(
      new Option(
        '--apply-stable <duration>',
        'Backrest must stay up this long after a restart, else rollback',
      )
        .argParser(parseDuration)
        .default(DEFAULTS.applyStableMs, '5s'),
    )
    .addOption(
      new Option(
        '--apply-stop-timeout <duration>',
        'stop grace period of the Backrest restart (Backrest exits on SIGTERM at once)',
      )
        .argParser(parseDuration)
        .default(DEFAULTS.applyStopTimeoutMs, '3s'),
    )
    .addOption(
      new Option(
        '--apply-max-defer <duration>',
        'longest a restart waits for a running Backrest operation (backup) to end',
      )
        .argParser(parseDuration)
        .default(DEFAULTS.applyMaxDeferMs, '6h'),
    )
    .option(
      '--require-apply',
      'one-shot: exit 3 when the config was written but not applied (Backrest not running or busy)',
    )
    .option('--backrest-container <name>', "Backrest's container", DEFAULTS.backrestContainer)
    .addOption(
      new Option(
        '--backrest-url <url>',
        "Backrest's URL for --apply-mode api (GetConfig/SetConfig)",
      ).argParser(parseHttpUrl),
    )
    .option('--reload-cmd <command>', 'run this command (sh -c) instead of a restart')
    .addOption(stateDirOption())
    .option('--dry-run', 'render, log and diff; write nothing (exit 2)')
    .option('--prune', 'remove our plans whose container is gone (one-shot reconcile)');
}

/** The reconcile flags (the seed's list plus ours): what to render, and how to write and apply. */
export function addReconcileOptions(cmd: Command): Command {
  return addWriteOptions(addRenderOptions(cmd));
}

/** The write flags' defaults, for the read-only commands that do not offer them. */
export function withWriteDefaults(raw: RenderOptions): RawOptions {
  return {
    writeMode: 'atomic',
    applyCooldown: DEFAULTS.applyCooldownMs,
    applyStable: DEFAULTS.applyStableMs,
    backrestContainer: DEFAULTS.backrestContainer,
    stateDir: BACKUP_DEFAULTS.stateDir,
    ...raw,
  };
}

/**
 * A mistyped `--config` must not silently become a new directory tree: its directory has to
 * exist unless `--create-config` (the file itself may be missing: the first write creates it).
 */
export function checkConfigDirectory(configPath: string, createConfig: boolean): void {
  if (createConfig) return;
  const dir = path.dirname(configPath);
  let isDir = false;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    // missing: isDir stays false
  }
  if (!isDir) {
    throw new UsageError(
      `--config ${configPath}: directory ${dir} does not exist (check the path, or pass --create-config to create it)`,
    );
  }
}

export type ApplyStrategy = 'none' | 'restart' | 'command' | 'api';

/** Everything a command needs, resolved and checked. */
export interface Settings {
  configPath: string;
  configFormat: RawOptions['configFormat'];
  writeMode: RawOptions['writeMode'];
  /** Undefined: the Docker engine's host name as a Backrest id (see the plan controller). */
  backrestInstance?: string;
  apply: ApplyStrategy;
  applyCooldownMs: number;
  applyStableMs: number;
  applyStopTimeoutMs: number;
  applyMaxDeferMs: number;
  requireApply: boolean;
  backrestContainer: string;
  backrestUrl?: string;
  reloadCmd?: string;
  docker: { socketPath?: string; host?: string; apiVersion?: string };
  dockerRoot: string;
  volumePrefix: string;
  /** `--dump-dir`: where Backrest plans' dump hooks write (`backrest.dump`); '' = none. */
  dumpDir: string;
  defaultRepo: string;
  defaultSchedule: string;
  defaultRetention: string;
  planIdPrefix: string;
  excludeBindMounts: boolean;
  includeProjectName: boolean;
  dryRun: boolean;
  prune: boolean;
  trustImageLabels: boolean;
  plugins: string[];
  selector: Record<string, string>;
  logLevel: RawOptions['logLevel'];
  logFormat: RawOptions['logFormat'];
  stateDir: string;
}

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/**
 * Turns parsed flags (+ env) into Settings; throws UsageError on contradictions. `--docker-sock`
 * takes a path or a DOCKER_HOST-style URL (unix://, tcp://, ssh://).
 */
export function resolveSettings(raw: RawOptions, env: NodeJS.ProcessEnv = process.env): Settings {
  const configPath = path.resolve(env.BACKREST_CONFIG?.trim() || raw.config);
  const dockerRoot = stripTrailingSlash(raw.dockerRoot);
  const volumePrefix = stripTrailingSlash(raw.volumePrefix?.trim() || `${dockerRoot}/volumes`);
  const dumpDir = stripTrailingSlash(raw.dumpDir?.trim() ?? '');
  for (const [flag, value] of [
    ['--docker-root', dockerRoot],
    ['--volume-prefix', volumePrefix],
    ...(dumpDir ? [['--dump-dir', dumpDir] as const] : []),
  ] as const) {
    if (!value.startsWith('/'))
      throw new UsageError(`${flag} must be an absolute path, got "${value}"`);
  }
  checkPlanIdPrefixOption(raw.planIdPrefix);
  checkScheduleOption('--default-schedule', raw.defaultSchedule);
  const backrestInstance = raw.backrestInstance?.trim();
  if (backrestInstance !== undefined) {
    const problem = instanceIdProblem(backrestInstance);
    if (problem) {
      throw new UsageError(
        `--backrest-instance (BACKREST_INSTANCE) "${backrestInstance}" ${problem}`,
      );
    }
  }

  let apply: ApplyStrategy = 'none';
  if (raw.applyMode === 'api') apply = 'api';
  else if (raw.applyMode === 'command' || (raw.reloadCmd && raw.applyMode !== 'restart'))
    apply = 'command';
  else if (raw.apply || raw.applyMode === 'restart') apply = 'restart';
  if (apply === 'command' && !raw.reloadCmd)
    throw new UsageError('--apply-mode command needs --reload-cmd');
  if (apply === 'api' && !raw.backrestUrl)
    throw new UsageError('--apply-mode api needs --backrest-url');

  const docker: Settings['docker'] = dockerConnection(raw.dockerSock);
  if (env.DOCKER_API_VERSION) docker.apiVersion = env.DOCKER_API_VERSION.replace(/^v/, '');

  return {
    configPath,
    configFormat: raw.configFormat,
    writeMode: raw.writeMode,
    ...(backrestInstance !== undefined ? { backrestInstance } : {}),
    apply,
    applyCooldownMs: raw.applyCooldown,
    applyStableMs: raw.applyStable,
    applyStopTimeoutMs: raw.applyStopTimeout ?? DEFAULTS.applyStopTimeoutMs,
    applyMaxDeferMs: raw.applyMaxDefer ?? DEFAULTS.applyMaxDeferMs,
    requireApply: raw.requireApply === true,
    backrestContainer: raw.backrestContainer,
    ...(raw.backrestUrl ? { backrestUrl: raw.backrestUrl } : {}),
    ...(raw.reloadCmd ? { reloadCmd: raw.reloadCmd } : {}),
    docker,
    dockerRoot,
    volumePrefix,
    dumpDir,
    defaultRepo: raw.defaultRepo,
    defaultSchedule: raw.defaultSchedule,
    defaultRetention: raw.defaultRetention,
    planIdPrefix: raw.planIdPrefix,
    excludeBindMounts: raw.excludeBindMounts === true,
    includeProjectName: raw.includeProjectName === true,
    dryRun: raw.dryRun === true,
    prune: raw.prune === true,
    trustImageLabels: raw.trustImageLabels === true,
    plugins: raw.plugin ?? [],
    selector: parseSelector(raw.selector ?? []),
    logLevel: raw.logLevel,
    logFormat: raw.logFormat,
    stateDir: raw.stateDir,
  };
}

/**
 * `--plan-id-prefix` / BACKREST_PLAN_ID_PREFIX: non-empty (the prefix is how we tell our plans
 * from hand-made ones), `[A-Za-z0-9_.-]+`. Checked before anything touches Docker or the config.
 */
export function checkPlanIdPrefixOption(prefix: string): void {
  try {
    checkPlanIdPrefix(prefix);
  } catch (err) {
    throw new UsageError(`--plan-id-prefix (BACKREST_PLAN_ID_PREFIX): ${(err as Error).message}`);
  }
}

/**
 * A schedule flag in Backrest's cron dialect (five fields; `@daily`-style descriptors are
 * translated where the schedule is used, with a note): refused before Docker or the config is
 * touched, instead of every write being refused later.
 */
export function checkScheduleOption(flag: string, value: string): void {
  try {
    parseCron(value);
  } catch (err) {
    if (!(err instanceof CronError)) throw err;
    throw new UsageError(`${flag} "${value}": ${err.message}`);
  }
}

/** `--state-dir`: where the quiesce journal lives. */
export function stateDirOption(): Option {
  return new Option(
    '--state-dir <dir>',
    'where backup-once journals the containers it stopped; every mode repairs a crashed run at start',
  ).default(BACKUP_DEFAULTS.stateDir);
}

function stripTrailingSlash(p: string): string {
  return p.length > 1 && p.endsWith('/') ? p.replace(/\/+$/, '') : p;
}

function parseSelector(pairs: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`--selector "${pair}" is not key=value`);
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}
