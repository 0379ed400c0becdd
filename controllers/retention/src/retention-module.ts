import { BackupRetention, RetentionReport } from '@backrest-sidecar/api';
import { ControllerContribution } from '@dockop/runtime';
import { ContainerModule } from 'inversify';
import { ForgetRetention } from './forget-retention.js';
import { RetentionController } from './retention-controller.js';

/**
 * The retention controller's module, loaded like any plugin (`manager.loadPluginModule`):
 * - the `retention` ControllerContribution, configured by `RetentionControllerOptions` when the
 *   command binds them (the daemon: per workload, after backups and daily; `forget`: one pass),
 *   inert otherwise;
 * - `RetentionReport`, the last full pass, which the one-shot `forget` reads;
 * - `BackupRetention` (what backup-once runs right after its own backup) over the same loop.
 * Needs ContainerActions and DockerClient bound (the docker module).
 */
export function retentionModule(): ContainerModule {
  return new ContainerModule((o) => {
    o.bind(RetentionReport).toSelf().inSingletonScope();
    o.bind(RetentionController).toSelf().inSingletonScope();
    o.bind<ControllerContribution>(ControllerContribution).toService(RetentionController);
    o.bind(ForgetRetention).toSelf().inSingletonScope();
    o.bind<BackupRetention>(BackupRetention).toService(ForgetRetention);
  });
}

/** The package's default export: loaded like any plugin (`manager.loadPluginModule`). */
export default retentionModule();
