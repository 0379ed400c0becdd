import path from 'node:path';
import {
  JOURNAL_REPAIR_INTERVAL_MS,
  ONE_SHOT_LABEL,
  BackupControllerOptions,
  journalRepairModule,
  registerNotifySecrets,
  verifyModule,
  type BackupOnceOptions,
} from '@backrest-sidecar/controller-backup';
import {
  RETENTION_CONTROLLER_DEFAULTS,
  RetentionControllerOptions,
} from '@backrest-sidecar/controller-retention';
import { Command, Option } from 'commander';
import { ContainerModule } from 'inversify';
import { addBackupOptions, toBackupOnceOptions, type BackupFlags } from '../backup-flags.js';
import { buildApp, type AppOptions } from '../app.js';
import { fatal } from '../exit.js';
import {
  DEFAULTS,
  addReconcileOptions,
  checkConfigDirectory,
  checkScheduleOption,
  parseDuration,
  resolveSettings,
  type RawOptions,
} from '../options.js';
import { repairBeforeCommand } from '../one-shot.js';
import { readDataPartsOption, toVerifyOptions } from './verify.js';
import { ContainerActions } from '@dockop/docker';
import { Logger, Redactor } from '@dockop/runtime';

/** The reconcile flags, the daemon's own, and every backup-once flag (for --backup-schedule). */
export interface DaemonOptions extends RawOptions, Omit<BackupFlags, keyof RawOptions> {
  interval: number;
  withEvents?: boolean;
  orphanGrace: number;
  backupSchedule?: string;
  verifySchedule?: string;
  readDataParts: number;
  /** ms; 0 disables. */
  journalRepairInterval: number;
  /** ms: apply every workload's keep at least this often (besides after its backups). */
  retentionPeriod: number;
  httpAddr?: string;
  leaderLock?: string;
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
 * The retention controller's options in the daemon: the same restic settings, host, naming and
 * selector as the scheduled backups, so it forgets exactly what they made (when a repository is
 * configured here: `--rcb-env-file`, or RESTIC_REPOSITORY in the environment), and Backrest's
 * config, so the snapshots Backrest makes from our plans get the `within` terms its own
 * retention can't express. Undefined (the controller stays inert) with `--no-forget`, and with
 * `--dry-run`: a dry run removes nothing, and restic's own `--dry-run` would still take the
 * repository lock and write status.
 */
export function daemonRetentionOptions(
  opts: DaemonOptions,
  backup: Omit<BackupOnceOptions, 'signal'>,
  env: NodeJS.ProcessEnv = process.env,
):
  | (Omit<RetentionControllerOptions, 'restic'> & {
      restic: Omit<RetentionControllerOptions['restic'], 'redactor'>;
    })
  | undefined {
  if (backup.noForget || opts.dryRun === true) return undefined;
  return {
    mode: 'daemon',
    // Our own snapshots need a repository here; Backrest's plans bring their repo entry.
    ownSnapshots: Boolean(backup.rcbEnvFile || env.RESTIC_REPOSITORY),
    backrest: {
      configPath: path.resolve(env.BACKREST_CONFIG?.trim() || opts.config),
      ...(backup.planIdPrefix ? { planIdPrefix: backup.planIdPrefix } : {}),
    },
    restic: {
      kind: backup.forgetRunner ?? 'container',
      ...(backup.resticImage ? { image: backup.resticImage } : {}),
      ...(backup.rcbEnvFile ? { envFile: backup.rcbEnvFile } : {}),
      ...(backup.resticMounts?.length ? { mounts: backup.resticMounts } : {}),
      labels: { ...backup.oneShotLabels, [ONE_SHOT_LABEL]: 'true' },
    },
    ...(backup.resticHost ? { resticHost: backup.resticHost } : {}),
    includeProjectName: backup.includeProjectName === true,
    ...(backup.prune ? { prune: backup.prune } : {}),
    ...(backup.selector?.length ? { selector: backup.selector } : {}),
    trustImageLabels: backup.trustImageLabels === true,
    periodMs: opts.retentionPeriod ?? RETENTION_CONTROLLER_DEFAULTS.periodMs,
    ...(opts.interval ? { resyncPeriodMs: opts.interval } : {}),
    ...(backup.engine ? { engine: backup.engine } : {}),
  };
}

/**
 * The daemon's extra modules: the periodic quiesce journal repair (every
 * `--journal-repair-interval`, not only at start), the backup controller's options (every
 * workload's status, Stale, gauges and coverage; a workload re-evaluated on its events, its Stale
 * deadline and a change of its status file, looked for every `--interval`; with
 * `--backup-schedule`, backup runs on that schedule with the options `backup-once` would build
 * from the same flags) and the retention controller's options: retention runs in its own
 * controller, after each workload's backup (`BackupCompletedTrigger`) and every
 * `--retention-period`, not inline in the scheduled runs. Both controllers are built-in plugins
 * (builtin-plugins.ts), configured by these options.
 */
export function daemonModules(opts: DaemonOptions): ContainerModule[] {
  const repair = journalRepairModule({
    stateDir: opts.stateDir,
    intervalMs: opts.journalRepairInterval ?? JOURNAL_REPAIR_INTERVAL_MS,
  });
  // With --verify-schedule: restore drills, and the last-verified gauge (seeded from the status files).
  const verify = opts.verifySchedule
    ? [verifyModule({ schedule: opts.verifySchedule, verify: toVerifyOptions(opts) })]
    : [];
  const backup = toBackupOnceOptions(opts);
  const retention = daemonRetentionOptions(opts, backup);
  // --dry-run changes nothing: no scheduled backup (it would stop containers and write snapshots).
  const schedule = opts.dryRun === true ? undefined : opts.backupSchedule;
  return [
    repair,
    // The backup controller itself is a built-in plugin (builtin-plugins.ts): its options here.
    new ContainerModule((o) => {
      o.bind<BackupControllerOptions>(BackupControllerOptions).toConstantValue({
        ...(schedule ? { schedule } : {}),
        // The retention controller applies the policies (or nobody does: --no-forget).
        backup: { ...backup, noForget: true },
        ...(opts.interval ? { resyncPeriodMs: opts.interval } : {}),
        // Without an env file, Backrest's own repo entry lists the snapshots (its runs count).
        ...(opts.rcbEnvFile
          ? {}
          : { backrestConfig: path.resolve(process.env.BACKREST_CONFIG?.trim() || opts.config) }),
      });
    }),
    ...(retention
      ? [
          new ContainerModule((o) => {
            o.bind<RetentionControllerOptions>(RetentionControllerOptions).toDynamicValue(
              (ctx) => ({
                ...retention,
                // The logger's redactor: what the runner learns (env values) is masked in logs.
                restic: { ...retention.restic, redactor: ctx.get<Redactor>(Redactor) },
              }),
            );
          }),
        ]
      : []),
    ...verify,
  ];
}

/** The daemon's app: `--interval`, `--with-events`, `--orphan-grace`, the HTTP server, the lease. */
export function daemonAppOptions(opts: DaemonOptions): AppOptions {
  return {
    mode: 'daemon',
    intervalMs: opts.interval,
    withEvents: opts.withEvents === true,
    orphanGraceMs: opts.orphanGrace,
    logStream: process.stderr,
    modules: daemonModules(opts),
    managerOptions: {
      ...(opts.httpAddr ? { http: parseHttpAddr(opts.httpAddr) } : {}),
      ...(opts.leaderLock ? { leaderElection: { leasePath: opts.leaderLock } } : {}),
    },
  };
}

/**
 * Long-running mode: reconcile on start, every `--interval` and, with `--with-events`, on every
 * container event (debounced so a burst is one write); without it Docker's events stream is not
 * even opened. SIGTERM drains, SIGHUP relists.
 */
export async function runDaemon(opts: DaemonOptions): Promise<number> {
  const settings = resolveSettings(opts);
  checkConfigDirectory(settings.configPath, opts.createConfig === true);
  if (opts.backupSchedule !== undefined)
    checkScheduleOption('--backup-schedule', opts.backupSchedule);
  if (opts.verifySchedule !== undefined)
    checkScheduleOption('--verify-schedule', opts.verifySchedule);
  const manager = await buildApp(settings, daemonAppOptions(opts));
  // Before the first log line: the notify URLs' tokens are masked in logs and events from the start.
  registerNotifySecrets(opts.notifyUrl ?? [], manager.get<Redactor>(Redactor));
  // A backup-once killed mid-run (kill -9) left containers stopped: start them first.
  await repairBeforeCommand(
    manager.get<ContainerActions>(ContainerActions),
    settings.stateDir,
    manager.get<Logger>(Logger),
  );
  if (opts.dryRun === true) {
    manager.get<Logger>(Logger).info('daemon.dry_run', {
      note: 'dry run: plans are rendered and diffed, not written; no scheduled backup and no retention run',
    });
  }
  manager.handleSignals();
  await manager.start();
  await manager.done;
  return 0;
}

/** The `daemon` command, without its program (tests parse it with another action). */
export function daemonCommand(): Command {
  const cmd = new Command('daemon')
    .description('reconcile continuously: at start, on Docker events and on an interval')
    .addOption(
      new Option('--interval <duration>', 'full reconcile (and Docker relist) period')
        .argParser(parseDuration)
        .default(DEFAULTS.intervalMs, '60s'),
    )
    .option(
      '--with-events',
      'listen to Docker events for faster reconcile (debounced); else reconcile on --interval only',
    )
    .addOption(
      new Option('--orphan-grace <duration>', 'keep a plan whose container is gone this long')
        .argParser(parseDuration)
        .default(DEFAULTS.orphanGraceMs, '10m'),
    )
    .option(
      '--backup-schedule <cron>',
      'also run backup-once on this schedule (with every backup-once flag below)',
    )
    .option(
      '--verify-schedule <cron>',
      'also run restore drills (verify --all) on this schedule (Backrest cron dialect)',
    )
    .addOption(readDataPartsOption())
    .addOption(
      new Option(
        '--retention-period <duration>',
        "also apply each workload's backrest.keep this often, besides after each of its backups",
      )
        .argParser(parseDuration)
        .default(RETENTION_CONTROLLER_DEFAULTS.periodMs, '24h'),
    )
    .addOption(
      new Option(
        '--journal-repair-interval <duration>',
        'also repair a crashed backup-once quiesce journal this often (0: only at start)',
      )
        .argParser(parseDuration)
        .default(JOURNAL_REPAIR_INTERVAL_MS, '60s'),
    )
    .option('--http-addr <host:port>', 'serve /healthz, /readyz and /metrics')
    .option('--leader-lock <path>', 'lease file: only one instance per config is active')
    .addHelpText(
      'after',
      `
Examples:
  backrest-sidecar daemon --config /etc/backrest/config.json --with-events --apply
  backrest-sidecar daemon --with-events --apply --http-addr :9090 --leader-lock /etc/backrest/.sidecar.lease`,
    );
  return addBackupOptions(addReconcileOptions(cmd)).action(async (opts: DaemonOptions) => {
    process.exitCode = await runDaemon(opts).catch(fatal);
  });
}

export function register(program: Command): void {
  program.addCommand(daemonCommand());
}
