import { Command } from 'commander';
import { runRestore, type RestoreReport } from '@backrest-sidecar/controller-backup';
import { WorkloadStatusStore } from '@backrest-sidecar/api';
import { fatal } from '../exit.js';
import { DEFAULTS, UsageError, checkPlanIdPrefixOption } from '../options.js';
import { abortOnSignals, setUpOneShot, stopTimeoutOption } from '../one-shot.js';
import {
  addRepositoryOptions,
  toRepositoryOptions,
  type RepositoryFlags,
} from '../repository-flags.js';

export interface RestoreFlags extends RepositoryFlags {
  snapshot: string;
  to?: string;
  inPlace?: boolean;
  dryRun?: boolean;
  /** ms. */
  stopTimeout: number;
  backrestContainer: string;
}

/** What `--dry-run` prints on stdout: the snapshot, and what goes where. */
export function renderRestorePlan(report: RestoreReport): string {
  const s = report.snapshot;
  const out: string[] = [];
  out.push(`Workload:  ${report.workload}`);
  if (s) {
    out.push(`Snapshot:  ${s.shortId} (${s.time}, host ${s.host || '-'})`);
    out.push(`Paths:     ${s.paths.join(', ')}`);
  }
  out.push(`Mode:      ${report.mode}`);
  if (report.stopSet) {
    out.push(
      report.stopSet.length
        ? `Stop:      ${report.stopSet.join(', ')} (started again after)`
        : 'Stop:      nothing',
    );
  }
  out.push('Restore:');
  for (const i of report.items) {
    const dest = `${i.destination.type} ${i.destination.source}${i.subPath ? `/${i.subPath}` : ''}`;
    const replace = report.mode === 'in-place' ? ' (contents replaced)' : '';
    out.push(
      `  ${i.snapshotPath} -> ${dest}${i.containerPath ? ` (${i.containerPath} in the container)` : ''}${replace}`,
    );
  }
  for (const p of report.unmatched) out.push(`  ${p} -> (not restored: nothing mounts it)`);
  if (report.dump) {
    out.push(
      `  ${report.dump.file} -> backrest.dump=${report.dump.preset} restore script ${report.dump.into === 'running' ? 'in the running server (docker exec)' : 'with the server stopped (one-shot from its image)'}`,
    );
  }
  return `${out.join('\n')}\n`;
}

export async function runRestoreCommand(workload: string, flags: RestoreFlags): Promise<number> {
  checkPlanIdPrefixOption(flags.planIdPrefix);
  if ((flags.to === undefined) === (flags.inPlace !== true)) {
    throw new UsageError('restore needs exactly one of --to DIR and --in-place');
  }
  const { logger, actions, client, redactor } = await setUpOneShot(flags, flags.rcbEnvFile);
  const controller = new AbortController();
  const release = abortOnSignals(controller, logger);
  try {
    const report = await runRestore(
      {
        ...toRepositoryOptions(flags),
        workload,
        snapshot: flags.snapshot,
        ...(flags.to !== undefined ? { to: flags.to } : {}),
        inPlace: flags.inPlace === true,
        dryRun: flags.dryRun === true,
        stopTimeoutSec: Math.max(0, Math.round(flags.stopTimeout / 1000)),
        stateDir: flags.stateDir,
        backrestContainer: flags.backrestContainer,
        signal: controller.signal,
      },
      {
        actions,
        client,
        logger,
        redactor,
        status: new WorkloadStatusStore({ stateDir: flags.stateDir, logger, redactor }),
      },
    );
    if (report.dryRun && report.exitCode === 2) process.stdout.write(renderRestorePlan(report));
    return report.exitCode;
  } finally {
    release();
  }
}

export function restoreCommand(): Command {
  const cmd = new Command('restore')
    .argument('<workload>', 'container name or plan id')
    .description("restore a workload's snapshot into a directory or in place into its volumes")
    .option('--snapshot <id>', 'latest, or a snapshot id (prefix) of this workload', 'latest')
    .option('--to <dir>', 'restore into this directory on the Docker host (new or empty)')
    .option(
      '--in-place',
      "replace the contents of the workload's volumes (stops it and its dependents, starts them again)",
    )
    .option('--dry-run', 'print what would be restored where; change nothing (exit 2)')
    .addOption(stopTimeoutOption('grace period of each stop (--in-place)'))
    .option(
      '--backrest-container <name>',
      "Backrest's container: never stopped as a dependent",
      DEFAULTS.backrestContainer,
    )
    .addHelpText(
      'after',
      `
In place, the snapshot is first restored into a scratch volume while the workload runs; only
then are the workload and the containers depending on it stopped (dependents first, journaled in
--state-dir like backup-once), the volumes' contents replaced and everything started again, also
after an error or SIGTERM. A snapshot made by Backrest from our plan (tag plan:<id>) is mapped to
the volumes and bind mounts by their host paths.
Exit codes: 0 restored, 2 dry run, 3 restored but a container did not start again, 1 failed
(nothing was replaced when the download failed).

Examples:
  backrest-sidecar restore db --to /srv/restore/db --rcb-env-file /etc/rcb.env
  backrest-sidecar restore db --in-place --snapshot 1a2b3c4d --dry-run --rcb-env-file /etc/rcb.env
  backrest-sidecar restore backrest_sidecar_stack_db --in-place --restic-volume /srv/restic-repo:/repo`,
    );
  return addRepositoryOptions(cmd).action(async (workload: string, flags: RestoreFlags) => {
    process.exitCode = await runRestoreCommand(workload, flags).catch(fatal);
  });
}

export function register(program: Command): void {
  program.addCommand(restoreCommand());
}
