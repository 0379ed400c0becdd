import { LifecycleHook } from '@dockop/runtime';
import { ContainerModule } from 'inversify';
import { BackupScheduler, BackupSchedulerOptions } from './backup-scheduler.js';

/**
 * The daemon's backup module: binds BackupScheduler as a LifecycleHook (multi-injected by the
 * manager) when `options.schedule` is set. Needs ContainerActions and DockerClient bound (the docker module).
 */
export function backupModule(options: BackupSchedulerOptions): ContainerModule {
  return new ContainerModule((o) => {
    o.bind<BackupSchedulerOptions>(BackupSchedulerOptions).toConstantValue(options);
    o.bind(BackupScheduler).toSelf().inSingletonScope();
    if (options.schedule) o.bind<LifecycleHook>(LifecycleHook).toService(BackupScheduler);
  });
}
