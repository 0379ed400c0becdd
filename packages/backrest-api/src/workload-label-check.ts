import { decodeLabels } from '@dockop/docker';
import {
  AjvSchemaRegistry,
  CacheReasons,
  describeInvalidSpec,
  type JsonSchema,
} from '@dockop/runtime';
import {
  BACKUP_WORKLOAD_KIND,
  backupWorkloadDefinition,
  type BackupWorkloadSpec,
} from './backup-workload.js';
import { backupWorkloadSchema } from './backup-workload-schema.js';
import { backupWorkloadFormats } from './formats.js';

/** A container's labels as a BackupWorkload spec, or why the Docker source would refuse them. */
export type WorkloadLabelCheck =
  | { ok: true; spec: BackupWorkloadSpec }
  /**
   * `reason`: the decoder's (`LabelTooLong`, `InvalidLabelKey`...) or `InvalidSpec` (the schema);
   * `message`: the cache's text, naming the container, each label and its value, and the rule.
   */
  | { ok: false; reason: string; message: string };

let registry: AjvSchemaRegistry | undefined;

/** Compiled on first use: the one-shot commands that never check labels don't pay for ajv. */
function schemaRegistry(): AjvSchemaRegistry {
  if (!registry) {
    registry = new AjvSchemaRegistry();
    for (const f of backupWorkloadFormats()) registry.addFormat(f);
    registry.add(backupWorkloadSchema as JsonSchema);
  }
  return registry;
}

/**
 * Decodes and validates a container's labels exactly as the Docker source and the cache do (same
 * decoder, same schema, same messages), for the commands that list containers without a cache
 * (`get workloads`, `describe workload`): a label the daemon refuses is refused here with the
 * same words. Labels are hostile input: the decoder reads own properties only.
 */
export function checkWorkloadLabels(
  labels: Record<string, string>,
  container: string,
): WorkloadLabelCheck {
  const selector = backupWorkloadDefinition.selector;
  const decoded = decodeLabels(selector, labels, { containerName: container });
  if (!decoded.ok) return { ok: false, reason: decoded.reason, message: decoded.message };
  const result = schemaRegistry().validate<BackupWorkloadSpec>(
    backupWorkloadDefinition.schemaId,
    decoded.spec,
  );
  if (result.valid) return { ok: true, spec: result.value };
  return {
    ok: false,
    reason: CacheReasons.InvalidSpec,
    message: describeInvalidSpec(
      {
        kind: BACKUP_WORKLOAD_KIND,
        metadata: {
          name: container,
          labels,
          uid: container,
          annotations: {},
          generation: 1,
          resourceVersion: '1',
          creationTimestamp: '',
        },
      },
      result.errors,
      selector,
    ),
  };
}
