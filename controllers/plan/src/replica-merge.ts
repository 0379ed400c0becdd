/**
 * Workloads are services, not containers: replicas of one Compose service (`--scale`) or one
 * Swarm service map to the same plan id and share ONE plan, with the union of their sources.
 * Everything else a plan holds (repo, schedule, retention, excludes, hooks) must agree between
 * replicas; when it does not, no replica is written and the message names the field and the
 * containers, because picking one replica's labels would silently drop the other's.
 */
import type { PlanSpec } from '@backrest-sidecar/config-sink';
import { serviceIdentityOf, type ServiceIdentity } from '@backrest-sidecar/api';
import type { BuiltPlan, PlanOutcome, SkippedPlan, WorkloadInput } from './plan-builder.js';

/** One workload and what `buildPlan` made of it. */
export interface WorkloadOutcome {
  workload: WorkloadInput;
  outcome: PlanOutcome;
}

/** `compose service shop/db`, `swarm service shop/db`: how replicas are named to people. */
export function describeService(svc: ServiceIdentity): string {
  return `${svc.source} service ${svc.project ? `${svc.project}/` : ''}${svc.service}`;
}

/**
 * The service every member is a replica of, or undefined when the members are not replicas of
 * one service (a container named `shop_db` and compose service `db` of project `shop`).
 */
export function sharedService(members: readonly WorkloadOutcome[]): ServiceIdentity | undefined {
  const first = members[0] && serviceIdentityOf(members[0].workload.status);
  if (!first) return undefined;
  for (const m of members) {
    const svc = serviceIdentityOf(m.workload.status);
    if (
      !svc ||
      svc.source !== first.source ||
      svc.project !== first.project ||
      svc.service !== first.service
    ) {
      return undefined;
    }
  }
  return first;
}

/** The first field two replicas' plans disagree on, with each container's value. */
function disagreement(
  built: readonly BuiltPlan[],
  members: readonly WorkloadOutcome[],
): string | undefined {
  const fields: { what: string; value: (b: BuiltPlan, w: WorkloadInput) => unknown }[] = [
    { what: 'repo (backrest.repo)', value: (b) => b.plan.repo },
    { what: 'schedule (backrest.schedule)', value: (b) => b.plan.schedule },
    { what: 'retention (backrest.keep)', value: (b) => b.plan.retention },
    { what: 'excludes (backrest.paths.exclude)', value: (b) => b.plan.exclude },
    // Hooks as labeled: `$SELF` expands to each replica's own name, which is not a difference.
    { what: 'hooks (backrest.pre)', value: (_b, w) => w.spec.pre ?? [] },
    { what: 'hooks (backrest.post)', value: (_b, w) => w.spec.post ?? [] },
  ];
  for (const f of fields) {
    const values = built.map((b, i) => JSON.stringify(f.value(b, members[i]!.workload)));
    if (values.every((v) => v === values[0])) continue;
    return `${f.what}: ${built.map((b, i) => `${values[i]} in ${b.container}`).join(', ')}`;
  }
  return undefined;
}

/** Each replica's expanded hooks once when they are equal, else one after another. */
function mergedHooks(lists: readonly string[][]): string[] {
  const first = JSON.stringify(lists[0] ?? []);
  return lists.every((l) => JSON.stringify(l) === first) ? [...(lists[0] ?? [])] : lists.flat();
}

/**
 * Merges the outcomes of the replicas of `service` (sorted by container name) into one plan, or
 * skips them all: a replica refused on its own keeps its reason, the others are skipped as
 * `ReplicaConflict` naming it (a plan from some replicas only would look complete and is not).
 */
export function mergeReplicas(
  service: ServiceIdentity,
  members: readonly WorkloadOutcome[],
  compare: (a: string, b: string) => number,
): { plan?: BuiltPlan; skipped: SkippedPlan[] } {
  const containers = members.map((m) => containerOf(m.outcome));
  const who = `${members.length} replicas of ${describeService(service)} (${containers.join(', ')})`;
  const built: BuiltPlan[] = [];
  const failed: SkippedPlan[] = [];
  // A replica without mounts adds nothing to the union: it is covered by the service's plan.
  for (const m of members) {
    if (m.outcome.ok) built.push(m.outcome.built);
    else if (m.outcome.skipped.reason !== 'NoSources') failed.push(m.outcome.skipped);
  }
  const planId = members[0]!.outcome.ok
    ? members[0]!.outcome.built.plan.id
    : members[0]!.outcome.skipped.planId;
  const conflict = (message: string): { skipped: SkippedPlan[] } => ({
    skipped: containers.map((container) => {
      const own = failed.find((f) => f.container === container);
      return own ?? { container, planId, reason: 'ReplicaConflict', message };
    }),
  });
  if (failed.length > 0) {
    const first = failed[0]!;
    return conflict(
      `plan id "${planId}" belongs to ${who}; none of them is written because ${first.container} can't have one: ${first.message}`,
    );
  }
  if (built.length === 0) {
    return { skipped: members.map((m) => (m.outcome.ok ? undefined : m.outcome.skipped)!) };
  }
  const differ = disagreement(
    built,
    members.filter((m) => m.outcome.ok),
  );
  if (differ !== undefined) {
    return conflict(
      `plan id "${planId}" belongs to ${who}, whose labels disagree on ${differ}; none of them is written: give every replica the same labels`,
    );
  }
  const base = built[0]!.plan;
  const plan: PlanSpec = {
    ...base,
    sources: [...new Set(built.flatMap((b) => b.plan.sources))].sort(compare),
    hooks: {
      pre: mergedHooks(built.map((b) => b.plan.hooks.pre)),
      post: mergedHooks(built.map((b) => b.plan.hooks.post)),
      ...(built.some((b) => b.plan.hooks.dump?.length)
        ? { dump: mergedHooks(built.map((b) => b.plan.hooks.dump ?? [])) }
        : {}),
    },
  };
  const notes = [...new Set(built.flatMap((b) => b.notes ?? []))];
  return {
    plan: {
      container: containers[0]!,
      replicas: containers,
      service: describeService(service),
      plan,
      ...(notes.length ? { notes } : {}),
    },
    skipped: [],
  };
}

function containerOf(o: PlanOutcome): string {
  return o.ok ? o.built.container : o.skipped.container;
}
