import { BackupReport } from '@backrest-sidecar/api';
import { ControllerContribution, LifecycleHook } from '@dockop/runtime';
import { ContainerModule, type ContainerModuleLoadOptions } from 'inversify';
import { BackupController, BackupControllerOptions } from './backup-controller.js';

/**
 * One `BackupController` bound both as a ControllerContribution (its queue: runs, workload status,
 * coverage) and as a LifecycleHook (the `--backup-schedule` timer), and `BackupReport`, its last
 * run, which the one-shot `backup-once` reads. Needs ContainerActions and DockerClient bound (the
 * docker module); uses the WorkloadStatusStore, MetricsRegistry, BackupCompletedTrigger and
 * BackupRetention when bound.
 */
function bindBackupController(o: ContainerModuleLoadOptions): void {
  o.bind(BackupReport).toSelf().inSingletonScope();
  o.bind(BackupController).toSelf().inSingletonScope();
  o.bind<ControllerContribution>(ControllerContribution).toService(BackupController);
  o.bind<LifecycleHook>(LifecycleHook).toService(BackupController);
}

/**
 * The backup controller's module, loaded like any plugin (`manager.loadPluginModule`): configured
 * by the `BackupControllerOptions` the command binds (the daemon: scheduled runs and status;
 * `backup-once`: `mode: 'once'`, one run), inert when none are bound.
 */
export function backupControllerModule(): ContainerModule {
  return new ContainerModule(bindBackupController);
}

/** The controller and its options in one module (embedders and tests that load no plugin). */
export function backupModule(options: BackupControllerOptions): ContainerModule {
  return new ContainerModule((o) => {
    o.bind<BackupControllerOptions>(BackupControllerOptions).toConstantValue(options);
    bindBackupController(o);
  });
}

/** The package's default export: loaded like any plugin (`manager.loadPluginModule`). */
export default backupControllerModule();
