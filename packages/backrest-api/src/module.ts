import { JsonSchema, KeyTrigger, ResourceDefinition, SchemaFormat } from '@dockop/runtime';
import { ContainerModule } from 'inversify';
import { backupWorkloadDefinition } from './backup-workload.js';
import { backupWorkloadSchema } from './backup-workload-schema.js';
import { backupWorkloadFormats } from './formats.js';
import { RepositoryLock } from './repository-lock.js';
import { BackupCompletedTrigger } from './workload-triggers.js';

/**
 * Binds the BackupWorkload kind: its definition (so the Docker source selects and decodes
 * `backrest.enable=true` containers), its JSON Schema and the string formats the schema uses, and
 * the trigger by which backup hands finished workloads to retention (`BackupCompletedTrigger`),
 * and the `RepositoryLock` both take around their restic work.
 */
export const backrestApiModule = new ContainerModule((options) => {
  options.bind<ResourceDefinition>(ResourceDefinition).toConstantValue(backupWorkloadDefinition);
  options
    .bind<JsonSchema>(JsonSchema)
    .toConstantValue(backupWorkloadSchema as unknown as JsonSchema);
  for (const format of backupWorkloadFormats()) {
    options.bind<SchemaFormat>(SchemaFormat).toConstantValue(format);
  }
  options
    .bind<KeyTrigger>(BackupCompletedTrigger)
    .toConstantValue(new KeyTrigger('backup-completed'));
  // One restic writer at a time between the backup and retention controllers.
  options.bind(RepositoryLock).toConstantValue(new RepositoryLock());
});
