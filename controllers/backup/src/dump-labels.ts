import { decodeLabels } from '@dockop/docker';
import {
  AjvSchemaRegistry,
  describeInvalidSpec,
  ownLabels,
  type JsonSchema,
} from '@dockop/runtime';
import {
  BACKUP_WORKLOAD_KIND,
  ENABLE_LABEL,
  backupWorkloadDefinition,
  backupWorkloadFormats,
  backupWorkloadSchema,
  resolveDump,
  type BackupWorkloadSpec,
  type DumpResolution,
} from '@backrest-sidecar/api';

const DUMP_LABEL = 'backrest.dump';

let registry: AjvSchemaRegistry | undefined;

function schemaRegistry(): AjvSchemaRegistry {
  if (!registry) {
    registry = new AjvSchemaRegistry();
    for (const f of backupWorkloadFormats()) registry.addFormat(f);
    registry.add(backupWorkloadSchema as JsonSchema);
  }
  return registry;
}

/**
 * A container's `backrest.dump*` labels as DumpSettings, decoded and validated exactly as the
 * Docker source does (same decoder, same schema, same messages naming container, label and
 * value), so `backup-once` and the daemon refuse the same values. Only the dump labels are read:
 * another label's bad value is reported where that label is used.
 */
export function dumpFromLabels(labels: Record<string, string>, container: string): DumpResolution {
  const own = ownLabels(labels);
  const dumpOnly: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const k of Object.keys(own)) {
    if (k === DUMP_LABEL || k.startsWith(`${DUMP_LABEL}.`)) dumpOnly[k] = own[k]!;
  }
  if (Object.keys(dumpOnly).length === 0) return { ok: true, settings: undefined };
  dumpOnly[ENABLE_LABEL] = 'true';
  const selector = backupWorkloadDefinition.selector;
  const decoded = decodeLabels(selector, dumpOnly, { containerName: container });
  if (!decoded.ok) return { ok: false, message: decoded.message };
  const result = schemaRegistry().validate<BackupWorkloadSpec>(
    backupWorkloadDefinition.schemaId,
    decoded.spec,
  );
  if (!result.valid) {
    return {
      ok: false,
      message: describeInvalidSpec(
        {
          kind: BACKUP_WORKLOAD_KIND,
          metadata: {
            name: container,
            labels: dumpOnly,
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
  return resolveDump(result.value, container);
}
