import { Command, Option } from 'commander';
import type { ContainerModule } from 'inversify';
import { buildApp } from '../app.js';
import { fatal } from '../exit.js';
import {
  DEFAULTS,
  addReconcileOptions,
  parseDuration,
  resolveSettings,
  type RawOptions,
} from '../options.js';
import { backupSchedulerModule } from '../backup-schedule.js';

export interface DaemonOptions extends RawOptions {
  interval: number;
  withEvents?: boolean;
  orphanGrace: number;
  backupSchedule?: string;
  httpAddr?: string;
  leaderLock?: string;
  rcbImage?: string;
  rcbEnvFile?: string;
}

/** `host:port`, `:port` or `port` → listen options. */
export function parseHttpAddr(value: string): { host: string; port: number } {
  const m = /^(?:(\[[^\]]+\]|[^:]*):)?(\d{1,5})$/.exec(value.trim());
  const port = Number(m?.[2]);
  if (!m || !Number.isInteger(port) || port > 65535) {
    throw new Error(`--http-addr "${value}" is not host:port`);
  }
  const host = (m[1] ?? '').replace(/^\[|\]$/g, '') || '0.0.0.0';
  return { host, port };
}

/**
 * Long-running mode: reconcile on start, on every container event (`--with-events`, debounced
 * so a burst is one write) and every `--interval`; SIGTERM drains, SIGHUP relists.
 */
export async function runDaemon(opts: DaemonOptions): Promise<number> {
  const settings = resolveSettings(opts);
  const modules: ContainerModule[] = [];
  if (opts.backupSchedule)
    modules.push(
      backupSchedulerModule(settings, opts.backupSchedule, {
        ...(opts.rcbImage ? { rcbImage: opts.rcbImage } : {}),
        ...(opts.rcbEnvFile ? { rcbEnvFile: opts.rcbEnvFile } : {}),
      }),
    );
  const manager = await buildApp(settings, {
    mode: 'daemon',
    intervalMs: opts.interval,
    withEvents: opts.withEvents === true,
    orphanGraceMs: opts.orphanGrace,
    logStream: process.stdout,
    modules,
    managerOptions: {
      ...(opts.httpAddr ? { http: parseHttpAddr(opts.httpAddr) } : {}),
      ...(opts.leaderLock ? { leaderElection: { leasePath: opts.leaderLock } } : {}),
    },
  });
  manager.handleSignals();
  await manager.start();
  await manager.done;
  return 0;
}

export function register(program: Command): void {
  const cmd = new Command('daemon')
    .description('reconcile continuously: at start, on Docker events and on an interval')
    .addOption(
      new Option('--interval <duration>', 'full reconcile (and Docker relist) period')
        .argParser(parseDuration)
        .default(DEFAULTS.intervalMs, '60s'),
    )
    .option('--with-events', 'reconcile on Docker container events (debounced)')
    .addOption(
      new Option('--orphan-grace <duration>', 'keep a plan whose container is gone this long')
        .argParser(parseDuration)
        .default(DEFAULTS.orphanGraceMs, '10m'),
    )
    .option('--backup-schedule <cron>', 'also run backup-once on this schedule')
    .option('--rcb-image <image>', 'restic-compose-backup image of scheduled backups')
    .option('--rcb-env-file <path>', 'env file (RESTIC_*) of scheduled backups')
    .option('--http-addr <host:port>', 'serve /healthz, /readyz and /metrics')
    .option('--leader-lock <path>', 'lease file: only one instance per config is active')
    .addHelpText(
      'after',
      `
Examples:
  backrest-sidecar daemon --config /etc/backrest/config.json --with-events --apply
  backrest-sidecar daemon --with-events --apply --http-addr :9090 --leader-lock /etc/backrest/.sidecar.lease`,
    );
  addReconcileOptions(cmd).action(async (opts: DaemonOptions) => {
    process.exitCode = await runDaemon(opts).catch(fatal);
  });
  program.addCommand(cmd);
}
