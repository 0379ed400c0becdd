import { Command, Option } from 'commander';
import { BackupReport, workloadStatusModule } from '@backrest-sidecar/api';
import {
  BackupControllerOptions,
  type BackupControllerOptions as BackupControllerOptionsT,
} from '@backrest-sidecar/controller-backup';
import { readEnvFile } from '@backrest-sidecar/restic';
import { ContainerActions, dockerModule } from '@dockop/docker';
import { Redactor, SecretRedactor, createManager } from '@dockop/runtime';
import { ContainerModule } from 'inversify';
import { pingDocker } from '../app.js';
import { addBackupOptions, toBackupOnceOptions, type BackupFlags } from '../backup-flags.js';
import { builtinPlugin } from '../builtin-plugins.js';
import { fatal } from '../exit.js';
import { DEFAULTS, checkPlanIdPrefixOption, dockerConnection, parseHttpUrl } from '../options.js';
import {
  abortOnSignals,
  addOneShotOptions,
  oneShotLogger,
  planIdPrefixOption,
  repairBeforeCommand,
  type OneShotFlags,
} from '../one-shot.js';

export type BackupOnceFlags = OneShotFlags & BackupFlags;

/**
 * `backup-once`: `manager.runOnce` over the backup controller (`mode: 'once'`, one run), loaded
 * like any plugin with the retention controller's module (its `BackupRetention` applies each
 * workload's keep right after the backup; the retention controller itself stays inert), the
 * Docker module and the workloads' status store. The report comes back through the API package's
 * `BackupReport`. The env file is read first only to teach the logger its values.
 */
export async function runBackupOnceCommand(flags: BackupOnceFlags): Promise<number> {
  checkPlanIdPrefixOption(flags.planIdPrefix);
  const secrets = flags.rcbEnvFile ? await readEnvFile(flags.rcbEnvFile) : {};
  const redactor = new SecretRedactor();
  const logger = oneShotLogger(flags, secrets, redactor);
  const docker = dockerConnection(flags.dockerSock);
  // SIGINT/SIGTERM abort the run, which still starts the quiesced containers again.
  const abort = new AbortController();
  const options: BackupControllerOptionsT = {
    mode: 'once',
    backup: toBackupOnceOptions(flags),
    signal: abort.signal,
  };
  const manager = createManager({ logger });
  manager.load(
    // The run lists containers itself: no events stream, and no kind for the cache to decode.
    dockerModule({ ...docker, watchEvents: false }),
    // Each workload's outcome lands in its status (`get workloads`, `describe workload`).
    workloadStatusModule(flags.stateDir),
    new ContainerModule((o) => {
      o.bind<Redactor>(Redactor).toConstantValue(redactor);
      o.bind<BackupControllerOptionsT>(BackupControllerOptions).toConstantValue(options);
    }),
  );
  for (const specifier of [
    '@backrest-sidecar/controller-retention',
    '@backrest-sidecar/controller-backup',
  ]) {
    const plugin = builtinPlugin(specifier);
    manager.loadPluginModule(plugin.specifier, plugin.module);
  }
  await pingDocker(manager, { docker });
  await repairBeforeCommand(
    manager.get<ContainerActions>(ContainerActions),
    flags.stateDir,
    logger,
  );
  const release = abortOnSignals(abort, logger);
  try {
    await manager.runOnce({ controllers: ['backup'] });
  } finally {
    release();
  }
  const report = manager.get<BackupReport>(BackupReport).last;
  if (!report) {
    logger.error('backup.fatal', { error: 'the backup run did not run' });
    return 1;
  }
  return report.exitCode;
}

/** The `backup-once` command, without its program (tests parse it with another action). */
export function backupOnceCommand(): Command {
  const cmd = new Command('backup-once').description(
    'stop quiesced containers, run one backup, start them again, apply per-workload retention',
  );
  addBackupOptions(cmd)
    .addOption(
      new Option(
        '--backrest-url <url>',
        "Backrest's URL for --engine backrest (auth: BACKREST_API_AUTHORIZATION)",
      ).argParser(parseHttpUrl),
    )
    .addOption(planIdPrefixOption('plan id prefix (backrest engine)'))
    .option('--exclude-bind-mounts', 'back up named volumes only (rcb EXCLUDE_BIND_MOUNTS)')
    .option(
      '--backrest-container <name>',
      "Backrest's container: never stopped by quiesce (nor ours, nor a socket proxy)",
      DEFAULTS.backrestContainer,
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
  return addOneShotOptions(cmd).action(async (flags: BackupOnceFlags) => {
    process.exitCode = await runBackupOnceCommand(flags).catch(fatal);
  });
}

export function register(program: Command): void {
  program.addCommand(backupOnceCommand());
}
