/**
 * `backrest-sidecar run --plugin <path>`: the generic host. It runs plugins on the framework alone
 * (runtime + the Docker source and actions), without the Backrest controllers and without a
 * Backrest config: nothing reads or creates `/etc/backrest/config.json`.
 *
 * Why a command of this binary and not a separate `dockop` binary: the bundle is the one artifact
 * we ship (image, bin, the module-sharing hook that gives plugins the host's copy of
 * `@dockop/runtime` and `inversify`, see shared-modules.ts and docs/adr/0005). A second binary
 * would be a second bundle and a second hook to keep in step with this one.
 */
import { dockerModule, type DockerModuleOptions } from '@dockop/docker';
import {
  ControllerContribution,
  createManager,
  type Manager,
  type RunOnceSummary,
} from '@dockop/runtime';
import { Command, Option } from 'commander';
import { statSync } from 'node:fs';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { fatal } from '../exit.js';
import {
  DEFAULTS,
  UsageError,
  addLogOptions,
  collect,
  dockerConnection,
  dockerSockOption,
  parseDuration,
} from '../options.js';
import { shareModulesWithPlugins } from '../shared-modules.js';
import { parseHttpAddr } from './daemon.js';

export interface RunOptions {
  plugin: string[];
  dockerSock?: string;
  /** ms: Docker relist period (and the only way changes are seen with `events: false`). */
  interval: number;
  /** Follow Docker's events stream. Default true (`--no-events` turns it off). */
  events: boolean;
  trustImageLabels?: boolean;
  httpAddr?: string;
  leaderLock?: string;
  /** Reconcile every key once, then exit (cron, CI, tests). */
  once?: boolean;
  logLevel: 'error' | 'warn' | 'info' | 'debug';
  logFormat: 'json' | 'pretty' | 'auto';
}

/** Exit codes of `run --once`: 0 every reconcile succeeded, 3 some failed, 1 fatal. */
export const RUN_EXIT = { ok: 0, fatal: 1, failed: 3 } as const;

/**
 * `--plugin dist/index.js` naming a file here means that file, not a package called `dist`
 * (Node's bare-specifier rule would say the latter and fail with "Cannot find package").
 */
export function pluginSpecifier(p: string): string {
  if (p.startsWith('.') || p.startsWith('@') || path.isAbsolute(p)) return p;
  const isFile = statSync(path.resolve(p), { throwIfNoEntry: false })?.isFile() === true;
  return isFile ? `./${p}` : p;
}

/** The host's manager: runtime, Docker, and the plugins, nothing else. */
export async function buildPluginHost(
  opts: RunOptions,
  logStream: Writable = process.stderr,
): Promise<Manager> {
  if (opts.plugin.length === 0) {
    throw new UsageError('run needs at least one --plugin <path-or-package>');
  }
  const connection = dockerConnection(opts.dockerSock);
  const apiVersion = process.env.DOCKER_API_VERSION?.replace(/^v/, '');
  const docker: DockerModuleOptions = {
    ...connection,
    ...(apiVersion ? { apiVersion } : {}),
    trustImageLabels: opts.trustImageLabels === true,
    resyncPeriodMs: opts.interval,
    // One pass lists once; nothing would read the stream.
    watchEvents: opts.once !== true && opts.events,
  };
  const manager = createManager({
    logger: { level: opts.logLevel, format: opts.logFormat, stream: logStream },
    ...(opts.httpAddr ? { http: parseHttpAddr(opts.httpAddr) } : {}),
    ...(opts.leaderLock ? { leaderElection: { leasePath: opts.leaderLock } } : {}),
  });
  manager.load(dockerModule(docker));
  shareModulesWithPlugins();
  for (const plugin of opts.plugin) await manager.loadPlugin(pluginSpecifier(plugin));
  const controllers = manager.getAll<ControllerContribution>(ControllerContribution);
  if (controllers.length === 0) {
    throw new UsageError(
      `no controller to run: the plugin(s) ${opts.plugin.join(', ')} bind no ControllerContribution`,
    );
  }
  return manager;
}

function exitCodeOf(summaries: readonly RunOnceSummary[]): number {
  return summaries.some((s) => s.failed > 0) ? RUN_EXIT.failed : RUN_EXIT.ok;
}

export async function runPluginHost(opts: RunOptions): Promise<number> {
  const manager = await buildPluginHost(opts);
  if (opts.once) return exitCodeOf(await manager.runOnce());
  manager.handleSignals();
  await manager.start();
  await manager.done;
  return RUN_EXIT.ok;
}

export function runCommand(): Command {
  const cmd = new Command('run')
    .description(
      'run plugins on the framework alone: the Docker source and your controllers, no Backrest controllers, no --config',
    )
    .option('--plugin <path-or-package>', 'plugin module to load (repeatable)', collect, [])
    .addOption(dockerSockOption())
    .addOption(
      new Option('--interval <duration>', 'Docker relist period')
        .argParser(parseDuration)
        .default(DEFAULTS.intervalMs, '60s'),
    )
    .option('--no-events', "don't follow Docker's events stream: see changes on --interval only")
    .option('--trust-image-labels', 'accept sensitive labels inherited from images')
    .option('--http-addr <host:port>', 'serve /healthz, /readyz and /metrics')
    .option('--leader-lock <path>', 'lease file: only one instance runs the controllers')
    .option('--once', 'reconcile every key once, then exit (0 ok, 3 a reconcile failed)')
    .addHelpText(
      'after',
      `
Examples:
  backrest-sidecar run --plugin ./dist/index.js
  backrest-sidecar run --plugin @acme/dockop-plugin --plugin ./other.js --http-addr :9090`,
    );
  return addLogOptions(cmd).action(async (opts: RunOptions) => {
    process.exitCode = await runPluginHost(opts).catch(fatal);
  });
}

export function register(program: Command): void {
  program.addCommand(runCommand());
}
