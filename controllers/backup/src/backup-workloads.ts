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
  /** The workload's first replica (its name names the workload). */
  target: WorkloadTarget;
  /** Every replica (`groupReplicas`, sorted by name) when the workload is a replicated service. */
  replicas?: WorkloadTarget[];
  /** `/volumes[/<project>]/<service>`: the snapshot's only path, the one forget selects. */
  path: string;
  /** Read-only mounts at `<path>/<mount destination>`. */
  mounts: OneShotMount[];
}

export function planWorkloadBackup(
  target: WorkloadTarget,
  options: { includeProjectName: boolean; excludeBindMounts: boolean },
): WorkloadBackupPlan {
  return planServiceBackup([target], options);
}

/**
 * The backup of one workload made of `members` (replicas of one service sorted by name, or one
 * lone container): the union of their mounts in one snapshot. A source an earlier replica already
 * mounts (a named volume they share) is backed up once. A replica's other source at a destination
 * an earlier replica took (each `--scale` replica's own anonymous volume at `/data`) goes to
 * `<path>/<destination>@<container>`, so no replica's data hides another's.
 */
export function planServiceBackup(
  members: readonly WorkloadTarget[],
  options: { includeProjectName: boolean; excludeBindMounts: boolean },
): WorkloadBackupPlan {
  const target = members[0]!;
  const path = targetPath(target, options.includeProjectName);
  const seen = new Set<string>();
  const sources = new Set<string>();
  const mounts: OneShotMount[] = [];
  for (const member of members) {
    const own: string[] = [];
    for (const m of selectMounts(member, options.excludeBindMounts)) {
      const type = m.type === 'volume' ? 'volume' : 'bind';
      const source = m.type === 'volume' ? (m.name ?? m.source) : m.source;
      const sourceKey = `${type}\u0000${source}`;
      if (sources.has(sourceKey)) continue; // an earlier replica's: once is enough
      own.push(sourceKey);
      const dest = m.destination.replace(/^\/+/, '').replace(/\/+$/, '');
      let mountTarget = dest === '' ? path : `${path}/${dest}`;
      if (seen.has(mountTarget) && member !== target && dest !== '') {
        mountTarget = `${path}/${dest}@${member.name}`;
      }
      if (seen.has(mountTarget)) continue;
      seen.add(mountTarget);
      mounts.push({ type, source, target: mountTarget, readOnly: true });
    }
    for (const k of own) sources.add(k);
  }
  return { target, ...(members.length > 1 ? { replicas: [...members] } : {}), path, mounts };
}

/** restic tags naming the workload (restic refuses commas in a tag). */
export function workloadTags(
  target: WorkloadTarget,
  extra: string[] = [],
  replicas: readonly WorkloadTarget[] = [],
): string[] {
  const clean = (s: string): string => s.replace(/[,\s]/g, '_');
  const tags = ['backrest-sidecar', `container:${clean(target.name)}`];
  if (target.compose?.project) tags.push(`project:${clean(target.compose.project)}`);
  if (target.compose?.service) tags.push(`service:${clean(target.compose.service)}`);
  // A replicated service's snapshot is its first replica's (`container:`); each replica whose
  // data it holds is named too, so `restic snapshots --tag replica:<c>` finds it.
  if (replicas.length > 1) tags.push(...replicas.map((r) => `replica:${clean(r.name)}`));
  return [...tags, ...extra.map(clean)];
}
