import type { Cache } from '@dockop/runtime';
import { serviceIdentityOf, type WorkloadIdentity } from './plan-id.js';

/**
 * Workloads are services, not containers: the replicas of one Compose service (`--scale`) or one
 * Swarm service are ONE workload (one plan, one snapshot per run, one status). It is named after
 * its first replica by byte order (the plan controller's `mergeReplicas` names its plan's
 * container the same way), so every per-container key (status file, `container:` tag, daemon
 * cache key) of a lone container keeps working for a service, and `--scale` down (which removes
 * the highest numbers) keeps the name.
 */
export interface ServiceReplicas<T extends WorkloadIdentity> {
  /** The workload's name: its first replica's container name. */
  name: string;
  /** Every replica, sorted by name (byte order); one member for a lone container. */
  members: T[];
}

/** The key replicas share (a lone container's is its own name). */
export function replicaKey(t: WorkloadIdentity): string {
  const svc = serviceIdentityOf(t);
  if (svc) return `${svc.source}\u0000${svc.project ?? ''}\u0000${svc.service}`;
  return `container\u0000${t.name}`;
}

function byteOrder(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** `targets` as workloads, in the order each workload's first replica appears in `targets`. */
export function groupReplicas<T extends WorkloadIdentity>(
  targets: readonly T[],
): ServiceReplicas<T>[] {
  const groups = new Map<string, T[]>();
  for (const t of targets) {
    const k = replicaKey(t);
    groups.set(k, [...(groups.get(k) ?? []), t]);
  }
  return [...groups.values()].map((members) => {
    const sorted = [...members].sort((a, b) => byteOrder(a.name, b.name));
    return { name: sorted[0]!.name, members: sorted };
  });
}

/**
 * Each container's workload name (`groupReplicas`): itself for a lone container and a service's
 * first replica, the first replica's name for the others.
 */
export function workloadNames(targets: readonly WorkloadIdentity[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const g of groupReplicas(targets)) for (const m of g.members) out.set(m.name, g.name);
  return out;
}

/**
 * What a reconciler keyed by container reads from its cache (resources whose status is the
 * container's): each resource's workload name (`workloadNames`).
 */
export function workloadNamesIn(
  resources: readonly { metadata: { name: string }; status?: unknown }[],
): Map<string, string> {
  return workloadNames(
    resources.map((r): WorkloadIdentity => {
      const s = r.status as Partial<WorkloadIdentity> | undefined;
      return {
        name: r.metadata.name,
        ...(s?.compose ? { compose: s.compose } : {}),
        ...(s?.swarm ? { swarm: s.swarm } : {}),
      };
    }),
  );
}

/** `name`'s workload name among `resources` (itself when it is not among them). */
export function workloadNameIn(
  name: string,
  resources: readonly { metadata: { name: string }; status?: unknown }[],
): string {
  return workloadNamesIn(resources).get(name) ?? name;
}

/**
 * `r`'s workload name among the resources of `kind` in `cache` (a reconciler keyed by container,
 * whose resources' status is the container's): only the containers carrying `r`'s service label
 * value are looked at (the cache's label index), so a refresh costs the replicas, not the host.
 */
export function workloadNameInCache(
  cache: Pick<Cache, 'byLabel'>,
  kind: string,
  r: { metadata: { name: string; labels: Record<string, string> }; status?: unknown },
): string {
  const s = r.status as Partial<WorkloadIdentity> | undefined;
  const svc = serviceIdentityOf({ name: r.metadata.name, compose: s?.compose, swarm: s?.swarm });
  const value =
    svc && Object.hasOwn(r.metadata.labels, svc.serviceLabel)
      ? r.metadata.labels[svc.serviceLabel]
      : undefined;
  if (value === undefined) return r.metadata.name;
  return workloadNameIn(r.metadata.name, cache.byLabel(kind, svc!.serviceLabel, value));
}
