import type { ContainerActions, OneShotMount } from '@dockop/docker';
import { labelListOrSplit } from '@dockop/runtime';
import { Labels } from '@backrest-sidecar/api';
import {
  listOptedInWorkloads,
  targetPath,
  type WorkloadMount,
  type WorkloadTarget,
} from '@backrest-sidecar/api';

/** The label list grammar (CSV with quotes, or a JSON array), as the schema registry reads it. */
function csv(v: string | undefined): string[] {
  return labelListOrSplit(v);
}

/**
 * Containers the restic engine backs up: every opted-in one (`listOptedInWorkloads`: the label
 * schema's rule for `backrest.enable` and `restic-compose-backup.volumes`), by name.
 */
export async function listBackupWorkloads(
  actions: Pick<ContainerActions, 'list'>,
  selector: string[] = [],
): Promise<WorkloadTarget[]> {
  return listOptedInWorkloads(actions, selector);
}

/**
 * The mounts to back up, with restic-compose-backup's rules: only bind and volume mounts; bind
 * mounts dropped with `excludeBindMounts`; then `restic-compose-backup.volumes.include` (keep a
 * mount whose source contains any pattern) or else `.exclude` (drop one whose source contains
 * any pattern). Include wins when both are set, as in rcb.
 */
export function selectMounts(target: WorkloadTarget, excludeBindMounts: boolean): WorkloadMount[] {
  const include = csv(target.labels[Labels.rcbVolumesInclude]);
  const exclude = csv(target.labels[Labels.rcbVolumesExclude]);
  const mounts = target.mounts.filter(
    (m) => m.type === 'volume' || (m.type === 'bind' && !excludeBindMounts),
  );
  if (include.length > 0) return mounts.filter((m) => include.some((p) => m.source.includes(p)));
  if (exclude.length > 0) return mounts.filter((m) => !exclude.some((p) => m.source.includes(p)));
  return mounts;
}

/** One workload's backup: where its data goes in the snapshot and how it is mounted there. */
export interface WorkloadBackupPlan {
  target: WorkloadTarget;
  /** `/volumes[/<project>]/<service>`: the snapshot's only path, the one forget selects. */
  path: string;
  /** Read-only mounts at `<path>/<mount destination>`. */
  mounts: OneShotMount[];
}

export function planWorkloadBackup(
  target: WorkloadTarget,
  options: { includeProjectName: boolean; excludeBindMounts: boolean },
): WorkloadBackupPlan {
  const path = targetPath(target, options.includeProjectName);
  const seen = new Set<string>();
  const mounts: OneShotMount[] = [];
  for (const m of selectMounts(target, options.excludeBindMounts)) {
    const dest = m.destination.replace(/^\/+/, '').replace(/\/+$/, '');
    const mountTarget = dest === '' ? path : `${path}/${dest}`;
    if (seen.has(mountTarget)) continue;
    seen.add(mountTarget);
    mounts.push({
      type: m.type === 'volume' ? 'volume' : 'bind',
      source: m.type === 'volume' ? (m.name ?? m.source) : m.source,
      target: mountTarget,
      readOnly: true,
    });
  }
  return { target, path, mounts };
}

/** restic tags naming the workload (restic refuses commas in a tag). */
export function workloadTags(target: WorkloadTarget, extra: string[] = []): string[] {
  const clean = (s: string): string => s.replace(/[,\s]/g, '_');
  const tags = ['backrest-sidecar', `container:${clean(target.name)}`];
  if (target.compose?.project) tags.push(`project:${clean(target.compose.project)}`);
  if (target.compose?.service) tags.push(`service:${clean(target.compose.service)}`);
  return [...tags, ...extra.map(clean)];
}
