import { replicaKey } from './service-replicas.js';
import { targetPath, type WorkloadTarget } from './workload-target.js';

/** Two or more different workloads whose data would land at (or be forgotten under) one path. */
export interface PathCollision {
  path: string;
  /** Every container mapping to `path`, by name. */
  containers: string[];
  /** Names the containers and, when it separates them, `--include-project-name`. */
  message: string;
}

/**
 * The paths two different workloads map to under the `/volumes[/<project>]/<service>` layout
 * (`prod/db` and `zz/db` both at `/volumes/db` without `includeProjectName`). Both engines and the
 * retention loop refuse such a path: one workload's forget would delete the other's snapshots, and
 * their backups would interleave as parents of each other.
 */
export function findPathCollisions(
  targets: readonly WorkloadTarget[],
  includeProjectName: boolean,
): Map<string, PathCollision> {
  const byPath = new Map<string, WorkloadTarget[]>();
  for (const t of targets) {
    const p = targetPath(t, includeProjectName);
    byPath.set(p, [...(byPath.get(p) ?? []), t]);
  }
  const out = new Map<string, PathCollision>();
  for (const [path, ts] of byPath) {
    // Replicas of one compose or Swarm service are one workload: they share the path on
    // purpose. Anything else sharing a path is two workloads.
    if (new Set(ts.map(replicaKey)).size < 2) continue;
    const containers = ts.map((t) => t.name).sort();
    const separated =
      !includeProjectName && new Set(ts.map((t) => targetPath(t, true))).size === ts.length;
    const described = ts
      .map((t) =>
        t.compose?.service
          ? `${t.name} (project ${JSON.stringify(t.compose.project ?? '')}, service ${JSON.stringify(t.compose.service)})`
          : `${t.name} (no compose service)`,
      )
      .sort();
    out.set(path, {
      path,
      containers,
      message:
        `containers ${described.join(' and ')} both map to ${path}; refusing both, one would ` +
        `overwrite or forget the other's snapshots. ` +
        (separated
          ? 'Use --include-project-name (paths /volumes/<project>/<service>) to separate them.'
          : 'Rename a compose service or container so each workload has its own path.'),
    });
  }
  return out;
}
