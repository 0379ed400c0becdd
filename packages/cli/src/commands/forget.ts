import { Command, Option } from 'commander';
import {
  createResticRunner,
  resolveResticHost,
  type ResticRunnerKind,
} from '@backrest-sidecar/restic';
import { ImageWorkloadLabelTrust, type PruneMode } from '@backrest-sidecar/api';
import { runForget } from '@backrest-sidecar/controller-retention';
import { ImageLabelTrust, type OneShotMount } from '@dockop/docker';
import { fatal } from '../exit.js';
import {
  addOneShotOptions,
  pruneModeOption,
  rcbEnvFileOption,
  resticHostOption,
  resticImageOption,
  resticVolumeOption,
  setUpOneShot,
  type OneShotFlags,
} from '../one-shot.js';

export interface ForgetFlags extends OneShotFlags {
  dryRun?: boolean;
  rcbEnvFile?: string;
  resticRunner: ResticRunnerKind;
  resticImage: string;
  resticBinary?: string;
  resticVolume: OneShotMount[];
  pruneMode: PruneMode;
  resticHost?: string;
}

export async function runForgetCommand(flags: ForgetFlags): Promise<number> {
  const { logger, actions, client, redactor } = await setUpOneShot(flags, flags.rcbEnvFile);
  const host = await resolveResticHost(client, flags.resticHost);
  const restic = await createResticRunner(
    {
      kind: flags.resticRunner,
      image: flags.resticImage,
      ...(flags.rcbEnvFile ? { envFile: flags.rcbEnvFile } : {}),
      ...(flags.resticBinary ? { binary: flags.resticBinary } : {}),
      ...(flags.resticVolume.length ? { mounts: flags.resticVolume } : {}),
      redactor,
    },
    actions,
  );
  const report = await runForget(
    {
      includeProjectName: flags.includeProjectName === true,
      dryRun: flags.dryRun === true,
      prune: flags.pruneMode,
      host,
      ...(flags.selector.length ? { selector: flags.selector } : {}),
    },
    {
      containers: actions,
      restic,
      logger,
      trust: new ImageWorkloadLabelTrust(
        new ImageLabelTrust(client, logger),
        flags.trustImageLabels === true,
      ),
    },
  );
  for (const w of report.workloads) {
    logger.info('retention.result', {
      path: w.path,
      containers: w.containers,
      status: w.status,
      keep: w.keep,
      kept: w.kept.length,
      [report.dryRun ? 'wouldRemove' : 'removed']: w.removed,
      ...(w.error ? { error: w.error } : {}),
    });
  }
  return report.exitCode;
}

export function register(program: Command): void {
  const cmd = new Command('forget')
    .description(
      "apply each workload's backrest.keep with restic forget --path /volumes[/<project>]/<service>",
    )
    .option('--dry-run', "restic's --dry-run: report what would be removed, remove nothing")
    .addOption(rcbEnvFileOption('Docker env file with RESTIC_* (else the process env)'))
    .addOption(
      new Option(
        '--restic-runner <runner>',
        'the local restic binary or a one-shot restic container',
      )
        .choices(['local', 'container'])
        .default('local'),
    )
    .option('--restic-binary <path>', 'local runner: restic binary', 'restic')
    .addOption(resticImageOption('container runner: restic image'))
    .addOption(
      resticVolumeOption('container runner: extra mount, e.g. a local repository (repeatable)'),
    )
    .addOption(pruneModeOption())
    .addOption(resticHostOption())
    .addHelpText(
      'after',
      `
Only running containers with backrest.enable=true and a backrest.keep set on the container (not
inherited from its image, unless --trust-image-labels) are selected. Only snapshots of
--restic-host (default: the Docker engine's name, as backup-once records it) whose path list is
exactly the workload's path are forgotten: another host's snapshots in a shared repository are
never touched. Two workloads mapping to one path are refused. A Warning explains when a workload
matches nothing (e.g. restic-compose-backup snapshotted all of /volumes at once).
Exit codes: 0 ok, 3 a workload failed or has an invalid backrest.keep, 1 fatal (repository unreachable).

Examples:
  backrest-sidecar forget --dry-run --rcb-env-file /etc/rcb.env --include-project-name
  backrest-sidecar forget --restic-runner container --restic-volume /srv/repo:/repo --rcb-env-file ./repo.env`,
    );
  addOneShotOptions(cmd).action(async (flags: ForgetFlags) => {
    process.exitCode = await runForgetCommand(flags).catch(fatal);
  });
  program.addCommand(cmd);
}
