import { Command, Option } from 'commander';
import { readEnvFile, type ResticRunnerKind } from '@backrest-sidecar/restic';
import {
  RetentionReport,
  backrestApiModule,
  workloadStatusModule,
  type ForgetReport,
  type PruneMode,
} from '@backrest-sidecar/api';
import {
  RetentionControllerOptions,
  type RetentionControllerOptions as RetentionControllerOptionsT,
} from '@backrest-sidecar/controller-retention';
import { ContainerActions, dockerModule, type OneShotMount } from '@dockop/docker';
import { Redactor, SecretRedactor, createManager } from '@dockop/runtime';
import { ContainerModule } from 'inversify';
import { pingDocker } from '../app.js';
import { BUILTIN_PLUGINS } from '../builtin-plugins.js';
import { fatal } from '../exit.js';
import { dockerConnection } from '../options.js';
import {
  addOneShotOptions,
  oneShotLogger,
  pruneModeOption,
  rcbEnvFileOption,
  repairBeforeCommand,
  resticHostOption,
  resticImageOption,
  resticVolumeOption,
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

/** The retention controller's options for one `forget` pass (`RetentionRun/all`). */
export function forgetControllerOptions(
  flags: ForgetFlags,
  redactor: Redactor,
): RetentionControllerOptionsT {
  return {
    mode: 'once',
    restic: {
      kind: flags.resticRunner,
      image: flags.resticImage,
      ...(flags.rcbEnvFile ? { envFile: flags.rcbEnvFile } : {}),
      ...(flags.resticBinary ? { binary: flags.resticBinary } : {}),
      ...(flags.resticVolume.length ? { mounts: flags.resticVolume } : {}),
      redactor,
    },
    ...(flags.resticHost !== undefined ? { resticHost: flags.resticHost } : {}),
    includeProjectName: flags.includeProjectName === true,
    dryRun: flags.dryRun === true,
    prune: flags.pruneMode,
    ...(flags.selector.length ? { selector: flags.selector } : {}),
    trustImageLabels: flags.trustImageLabels === true,
  };
}

/**
 * `forget`: `manager.runOnce` over the retention controller alone (loaded like any plugin), with
 * the Docker module and the workloads' status store; the report comes back through the API
 * package's `RetentionReport`. The env file is read first only to teach the logger its values.
 */
export async function runForgetCommand(flags: ForgetFlags): Promise<number> {
  const secrets = flags.rcbEnvFile ? await readEnvFile(flags.rcbEnvFile) : {};
  const redactor = new SecretRedactor();
  const logger = oneShotLogger(flags, secrets, redactor);
  const docker = dockerConnection(flags.dockerSock);
  const manager = createManager({ logger });
  manager.load(
    dockerModule({
      ...docker,
      watchEvents: false,
      trustImageLabels: flags.trustImageLabels === true,
    }),
    backrestApiModule,
    workloadStatusModule(flags.stateDir),
    new ContainerModule((o) => {
      o.bind<Redactor>(Redactor).toConstantValue(redactor);
      o.bind<RetentionControllerOptionsT>(RetentionControllerOptions).toConstantValue(
        forgetControllerOptions(flags, redactor),
      );
    }),
  );
  const retention = BUILTIN_PLUGINS.find(
    (b) => b.specifier === '@backrest-sidecar/controller-retention',
  )!;
  manager.loadPluginModule(retention.specifier, retention.module);
  await pingDocker(manager, { docker });
  await repairBeforeCommand(
    manager.get<ContainerActions>(ContainerActions),
    flags.stateDir,
    logger,
  );
  await manager.runOnce({ controllers: ['retention'] });
  const report: ForgetReport = manager.get<RetentionReport>(RetentionReport).last ?? {
    dryRun: flags.dryRun === true,
    workloads: [],
    fatal: 'the retention pass did not run',
    exitCode: 1,
  };
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
