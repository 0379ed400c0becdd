import { Command, Option } from 'commander';
import { WorkloadStatusStore } from '@backrest-sidecar/api';
import { runBackupOnce } from '@backrest-sidecar/controller-backup';
import { ForgetRetention } from '@backrest-sidecar/controller-retention';
import { addBackupOptions, toBackupOnceOptions, type BackupFlags } from '../backup-flags.js';
import { fatal } from '../exit.js';
import { DEFAULTS, checkPlanIdPrefixOption, parseHttpUrl } from '../options.js';
import {
  abortOnSignals,
  addOneShotOptions,
  planIdPrefixOption,
  setUpOneShot,
  type OneShotFlags,
} from '../one-shot.js';

export type BackupOnceFlags = OneShotFlags & BackupFlags;

export async function runBackupOnceCommand(flags: BackupOnceFlags): Promise<number> {
  checkPlanIdPrefixOption(flags.planIdPrefix);
  const { logger, actions, client, redactor } = await setUpOneShot(flags, flags.rcbEnvFile);
  const controller = new AbortController();
  const release = abortOnSignals(controller, logger);
  try {
    const options = { ...toBackupOnceOptions(flags), signal: controller.signal };
    const retention = new ForgetRetention(actions, client, logger);
    // Each workload's outcome lands in its status (`get workloads`, `describe workload`).
    const status = new WorkloadStatusStore({ stateDir: flags.stateDir, logger, redactor });
    const report = await runBackupOnce(options, {
      actions,
      client,
      logger,
      redactor,
      status,
      retention,
    });
    return report.exitCode;
  } finally {
    release();
  }
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
