/**
 * Builds the manager every command runs on: the runtime, the Docker module (source + actions),
 * the BackupWorkload kind, and the controllers, which are loaded through the plugin API exactly like
 * a third-party `--plugin` (built-ins from a static list, see builtin-plugins.ts).
 */
import path from 'node:path';
import {
  backrestApiModule,
  workloadStatusModule,
  type ReconcileSummary,
} from '@backrest-sidecar/api';
import {
  PlanControllerOptions,
  PlanReport,
  PlanStore,
  defaultPlanDefaults,
  type PlanControllerOptions as PlanControllerOptionsT,
} from '@backrest-sidecar/controller-plan';
import { ConfigSink } from '@backrest-sidecar/config-sink';
import {
  abandonEarlyContainerList,
  DockerClient,
  dockerModule,
  pingEngine,
  type DockerModuleOptions,
} from '@dockop/docker';
import { createManager, type Manager, type ManagerOptions } from '@dockop/runtime';
import { ContainerModule, type ContainerModule as ContainerModuleT } from 'inversify';
import type { Writable } from 'node:stream';
import { BUILTIN_PLUGINS } from './builtin-plugins.js';
import { checkConfigDirectory, type Settings } from './options.js';
import { shareModulesWithPlugins } from './shared-modules.js';

export interface AppOptions {
  mode: 'once' | 'daemon';
  /** Overrides `settings.dryRun` (get/describe always preview). */
  dryRun?: boolean;
  /** Daemon: full reconcile and Docker relist period. */
  intervalMs?: number;
  /** Daemon: follow Docker's events stream; without it, changes are seen on `intervalMs` only. */
  withEvents?: boolean;
  orphanGraceMs?: number;
  /** Where log lines go. */
  logStream: Writable;
  /** Overrides settings.logLevel. */
  logLevel?: Settings['logLevel'];
  managerOptions?: Partial<ManagerOptions>;
  /** More modules (e.g. the backup scheduler). */
  modules?: ContainerModuleT[];
}

/** Where daemons and one-shot runs leave the apply worker's last status for `describe`. */
export function applyStatusFile(settings: Pick<Settings, 'stateDir'>): string {
  return path.join(settings.stateDir, 'apply-status.json');
}

export function planControllerOptions(settings: Settings, app: AppOptions): PlanControllerOptionsT {
  const dryRun = app.dryRun ?? settings.dryRun;
  return {
    configPath: settings.configPath,
    configFormat: settings.configFormat,
    writeMode: settings.writeMode,
    ...(settings.backrestInstance ? { instance: settings.backrestInstance } : {}),
    defaults: defaultPlanDefaults({
      prefix: settings.planIdPrefix,
      defaultRepo: settings.defaultRepo,
      defaultSchedule: settings.defaultSchedule,
      defaultRetention: settings.defaultRetention,
      excludeBindMounts: settings.excludeBindMounts,
      volumePrefix: settings.volumePrefix,
      ...(settings.dumpDir ? { dumpDir: settings.dumpDir } : {}),
    }),
    mode: app.mode,
    dryRun,
    prune: settings.prune,
    ...(Object.keys(settings.selector).length > 0 ? { selector: settings.selector } : {}),
    ...(app.orphanGraceMs !== undefined ? { orphanGraceMs: app.orphanGraceMs } : {}),
    ...(app.mode === 'daemon' && app.intervalMs ? { resyncPeriodMs: app.intervalMs } : {}),
    ...(app.mode === 'daemon' ? { watchEvents: app.withEvents === true } : {}),
    // For `describe` (another process): what the apply worker is doing (deferred, not running...).
    ...(!dryRun && (settings.apply === 'restart' || settings.apply === 'command')
      ? { applyStatusFile: applyStatusFile(settings) }
      : {}),
    apply: {
      mode: dryRun ? 'none' : settings.apply,
      container: settings.backrestContainer,
      cooldownMs: settings.applyCooldownMs,
      stableMs: settings.applyStableMs,
      stopTimeoutSec: Math.ceil(settings.applyStopTimeoutMs / 1000),
      maxDeferMs: settings.applyMaxDeferMs,
      ...(settings.reloadCmd ? { command: settings.reloadCmd } : {}),
      ...(settings.backrestUrl ? { url: settings.backrestUrl } : {}),
      ...(process.env.BACKREST_API_AUTHORIZATION
        ? { authorization: process.env.BACKREST_API_AUTHORIZATION }
        : {}),
    },
  };
}

/**
 * The Docker module's options. A daemon follows the events stream only with `--with-events`;
 * otherwise its informer relists every `--interval` and nothing else (no stream, no event-driven
 * reconcile). A one-shot command lists once and never opens `/events` (nothing would read it;
 * a socket proxy's read-only allowlist need not include it).
 */
export function dockerModuleOptions(settings: Settings, app: AppOptions): DockerModuleOptions {
  return {
    ...settings.docker,
    trustImageLabels: settings.trustImageLabels,
    ...(app.intervalMs ? { resyncPeriodMs: app.intervalMs } : {}),
    watchEvents: app.mode === 'daemon' && app.withEvents === true,
    // Only the plan controller reads the cache, and it keeps only `--selector`'s containers:
    // let the engine leave the others out of its lists (a shared host's other stacks).
    ...(Object.keys(settings.selector).length > 0 ? { labelSelector: settings.selector } : {}),
  };
}

export async function buildApp(settings: Settings, app: AppOptions): Promise<Manager> {
  const manager = createManager({
    logger: {
      level: app.logLevel ?? settings.logLevel,
      format: settings.logFormat,
      stream: app.logStream,
    },
    ...app.managerOptions,
  });
  const planOptions = planControllerOptions(settings, app);
  manager.load(
    dockerModule(dockerModuleOptions(settings, app)),
    backrestApiModule,
    // Every workload's status in --state-dir, for whichever controller records some.
    workloadStatusModule(settings.stateDir),
    new ContainerModule((o) => {
      o.bind<PlanControllerOptionsT>(PlanControllerOptions).toConstantValue(planOptions);
    }),
    ...(app.modules ?? []),
  );
  for (const builtin of BUILTIN_PLUGINS)
    manager.loadPluginModule(builtin.specifier, builtin.module);
  if (settings.plugins.length > 0) shareModulesWithPlugins();
  for (const plugin of settings.plugins) await manager.loadPlugin(plugin);
  return manager;
}

export function reportOf(manager: Manager): PlanReport {
  return manager.container.get<PlanReport>(PlanReport);
}

/** How long a one-shot command waits for Docker to answer before exiting 1. */
export const DOCKER_PING_TIMEOUT_MS = 10_000;

/**
 * One-shot commands fail fast when Docker does not answer, instead of waiting for the manager's
 * cache-sync timeout (2 min): one `GET /_ping`, bounded.
 */
export async function pingDocker(
  manager: Manager,
  settings: Pick<Settings, 'docker'>,
): Promise<void> {
  const client = manager.get<DockerClient>(DockerClient);
  const where = settings.docker.host ?? settings.docker.socketPath ?? 'the default socket';
  // Aborted, not just raced: an engine that accepts and never answers would otherwise keep the
  // request (and the process) alive until the 30 s request timeout.
  const deadline = new AbortController();
  const timer = setTimeout(
    () => deadline.abort(new Error(`no answer within ${DOCKER_PING_TIMEOUT_MS} ms`)),
    DOCKER_PING_TIMEOUT_MS,
  );
  try {
    await pingEngine(client, 'ping', deadline.signal);
  } catch (err) {
    const why = deadline.signal.aborted ? (deadline.signal.reason as Error) : (err as Error);
    throw new Error(`Docker is unreachable at ${where}: ${why.message}`, { cause: err });
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Runs a one-shot command's set-up (ping, repair) while the sources' first list is under way
 * (`Manager.prefetch`, unless `listEarly` is false): the engine builds its answer meanwhile. A
 * failed set-up stops the manager, which abandons that list.
 */
export async function setUpWhileListing(
  manager: Manager,
  listEarly: boolean,
  setUp: () => Promise<void>,
): Promise<void> {
  if (listEarly) manager.prefetch();
  // The launcher's list (bin/, early-list.cts), if prefetch did not take it: a repair first, or
  // another engine or selector than the launcher read from the command line.
  abandonEarlyContainerList();
  if (listEarly) await requestsSent();
  const reading = listEarly ? readConfigEarly(manager) : undefined;
  try {
    await setUp();
  } catch (err) {
    await manager.stop('set-up failed');
    throw err;
  } finally {
    await reading;
  }
}

/**
 * Resolves once the requests begun now are on their sockets: a Docker request is built in a
 * microtask (docker-modem), and its socket connects and writes it in the event loop's poll phase.
 * Until then the engine has nothing to work on, so the set-up's own synchronous work (resolving
 * the config store, reading the config, building the ping) waits for this instead of delaying the
 * list (~3 ms of a dry run). Two immediates: the first may come before the next poll when this is
 * called from an I/O callback (in the poll phase), the second always comes after one.
 */
function requestsSent(): Promise<void> {
  return new Promise((resolve) => setImmediate(() => setImmediate(resolve)));
}

/**
 * Reads the config file while the engine lists: the plan render loads it right after the list,
 * and the sink keeps what it parsed, so that load finds the same bytes and parses nothing (a file
 * changed in between is read again). Not Backrest's API (`--apply-mode api`), which keeps
 * nothing: it would be asked twice. A failed read is the render's to report, with the same error.
 */
async function readConfigEarly(manager: Manager): Promise<void> {
  const store = manager.get<PlanStore>(PlanStore);
  if (store instanceof ConfigSink) await store.load().catch(() => undefined);
}

/**
 * `get`/`describe`: one preview pass (nothing written, nothing applied). Their output shows every
 * problem (status, message, conditions), so logs go to stderr at `error` unless `--log-level` was
 * given: a refused label is reported once, in the output. Throws when the pass could not run.
 */
export async function previewRun(
  settings: Settings,
  logLevelGiven: boolean,
): Promise<{ manager: Manager; summary: ReconcileSummary }> {
  checkConfigDirectory(settings.configPath, false);
  const manager = await buildApp(settings, {
    mode: 'once',
    dryRun: true,
    logStream: process.stderr,
    logLevel: logLevelGiven ? settings.logLevel : 'error',
  });
  await setUpWhileListing(manager, true, () => pingDocker(manager, settings));
  await manager.runOnce();
  const summary = reportOf(manager).last;
  if (!summary || summary.fatal) throw new Error(summary?.fatal?.message ?? 'no reconcile ran');
  return { manager, summary };
}
