import { ownLabels } from '@dockop/runtime';
import {
  ENABLE_LABEL,
  checkWorkloadLabels,
  resolveDump,
  type DumpResolution,
} from '@backrest-sidecar/api';

const DUMP_LABEL = 'backrest.dump';

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
  const checked = checkWorkloadLabels(dumpOnly, container);
  if (!checked.ok) return { ok: false, message: checked.message };
  return resolveDump(checked.spec, container);
}
