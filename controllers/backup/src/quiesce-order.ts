import type { WorkloadTarget } from '@backrest-sidecar/api';

/**
 * Stop order for quiesced containers: dependents before their dependencies (compose's
 * `com.docker.compose.depends_on`, within one project), so an app is stopped before its
 * database. Start order is the reverse. Cycles and unknown services fall back to name order;
 * the result is deterministic.
 */
export function stopOrder(targets: WorkloadTarget[]): WorkloadTarget[] {
  const sorted = [...targets].sort((a, b) => a.name.localeCompare(b.name));
  const key = (project: string | undefined, service: string): string =>
    `${project ?? ''}\u0000${service}`;
  const byService = new Map<string, WorkloadTarget[]>();
  for (const t of sorted) {
    if (!t.compose?.service) continue;
    const k = key(t.compose.project, t.compose.service);
    byService.set(k, [...(byService.get(k) ?? []), t]);
  }
  // edges: dependent -> its dependencies (dependency must come later in stop order)
  const deps = new Map<WorkloadTarget, WorkloadTarget[]>();
  for (const t of sorted) {
    const list = (t.compose?.dependsOn ?? []).flatMap(
      (s) => byService.get(key(t.compose?.project, s)) ?? [],
    );
    deps.set(
      t,
      list.filter((d) => d !== t),
    );
  }
  // Kahn on the reversed graph: emit a container once every container depending on it is emitted.
  const dependents = new Map<WorkloadTarget, number>(sorted.map((t) => [t, 0]));
  for (const list of deps.values())
    for (const d of list) dependents.set(d, (dependents.get(d) ?? 0) + 1);
  const out: WorkloadTarget[] = [];
  const done = new Set<WorkloadTarget>();
  while (out.length < sorted.length) {
    let next = sorted.find((t) => !done.has(t) && dependents.get(t) === 0);
    // A cycle: break it at the first remaining container by name.
    next ??= sorted.find((t) => !done.has(t))!;
    done.add(next);
    out.push(next);
    for (const d of deps.get(next) ?? []) dependents.set(d, (dependents.get(d) ?? 0) - 1);
  }
  return out;
}
