import { BackupRetention } from '@backrest-sidecar/api';
import { ContainerModule } from 'inversify';
import { ForgetRetention } from './forget-retention.js';

/**
 * The retention controller's module: binds BackupRetention (what backup-once runs after a
 * backup) to the per-workload forget loop. Needs ContainerActions and DockerClient bound (the
 * docker module).
 */
export function retentionModule(): ContainerModule {
  return new ContainerModule((o) => {
    o.bind(ForgetRetention).toSelf().inSingletonScope();
    o.bind<BackupRetention>(BackupRetention).toService(ForgetRetention);
  });
}

/** The package's default export: loaded like any plugin (`manager.loadPluginModule`). */
export default retentionModule();
