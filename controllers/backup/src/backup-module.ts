import { ControllerContribution, LifecycleHook } from '@dockop/runtime';
import { ContainerModule } from 'inversify';
import { BackupController, BackupControllerOptions } from './backup-controller.js';

/**
 * The daemon's backup controller: one `BackupController` bound both as a ControllerContribution
 * (its queue: scheduled runs, workload status, coverage) and as a LifecycleHook (the
 * `--backup-schedule` timer). Needs ContainerActions and DockerClient bound (the docker module);
 * uses the WorkloadStatusStore, MetricsRegistry and BackupCompletedTrigger when bound.
 */
export function backupModule(options: BackupControllerOptions): ContainerModule {
  return new ContainerModule((o) => {
    o.bind<BackupControllerOptions>(BackupControllerOptions).toConstantValue(options);
    o.bind(BackupController).toSelf().inSingletonScope();
    o.bind<ControllerContribution>(ControllerContribution).toService(BackupController);
    o.bind<LifecycleHook>(LifecycleHook).toService(BackupController);
  });
}
