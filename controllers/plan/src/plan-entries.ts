import type { PlanSpec } from '@backrest-sidecar/config-sink';
import { CacheReasons } from '@dockop/runtime';
import { compare } from './plan-builder.js';
import type { OrphanDecision } from './orphan-tracker.js';
import type { PlanEntry } from './plan-report.js';
import type { PlanSet } from './plan-set.js';

export interface PlanEntryOptions {
  dryRun: boolean;
  daemon: boolean;
  /** Orphans removed by this reconcile (the decision's `remove`, when pruning now). */
  remove: readonly string[];
  /** The comparison of a built plan with the config's (default `samePlan`; the daemon's memo). */
  same?: (existing: PlanSpec | undefined, built: PlanSpec) => boolean;
}

/**
 * Step 3, decide: one entry per plan, what this reconcile does with it and why: Ready (rendered;
 * changed or in sync against `existing`, the config's plans), Skipped (buildPlans could not plan
 * it, or the cache refused its labels), Removed or Orphaned (ours, no workload maps to it).
 */
export function planEntries(
  set: PlanSet,
  existing: ReadonlyMap<string, PlanSpec>,
  orphans: OrphanDecision,
  opts: PlanEntryOptions,
): PlanEntry[] {
  const { dryRun, daemon, remove, same = samePlan } = opts;
  const entries: PlanEntry[] = [];
  // Indexed: a for-of allocates an iterator result per step in cold code (2,000 plans).
  const built = set.built.plans;
  for (let i = 0; i < built.length; i++) {
    const b = built[i]!;
    const changed = !same(existing.get(b.plan.id), b.plan);
    // Filled field by field in the order the fields are listed in (a report's JSON shows it),
    // not with `...(x ? { x } : {})`: each such spread is a runtime call, two per plan, and a
    // first render makes thousands of entries in cold code.
    const entry: PlanEntry = { planId: b.plan.id, container: b.container } as PlanEntry;
    if (b.replicas) entry.replicas = b.replicas;
    entry.state = 'Ready';
    entry.reason = changed ? (dryRun ? 'WouldChange' : 'PlanWritten') : 'UpToDate';
    entry.message = changed
      ? `plan ${b.plan.id} rendered from ${b.replicas ? `${b.replicas.length} replicas of ${b.service} (${b.replicas.join(', ')})` : `container ${b.container}`}`
      : 'in sync';
    entry.plan = b.plan;
    entry.changed = changed;
    if (b.notes) entry.notes = b.notes;
    entries.push(entry);
  }
  for (const s of set.built.skipped) {
    entries.push({
      planId: s.planId,
      container: s.container,
      state: 'Skipped',
      reason: s.reason,
      message: s.message,
      changed: false,
    });
  }
  for (const r of set.invalid) {
    entries.push({
      planId: r.planId,
      container: r.name,
      state: 'Skipped',
      reason: CacheReasons.InvalidSpec,
      message: r.message,
      changed: false,
    });
  }
  const orphanIds = [...orphans.remove, ...orphans.waiting];
  for (const id of orphanIds.sort(compare)) {
    const removing = remove.includes(id);
    entries.push({
      planId: id,
      container: '',
      state: removing ? 'Removed' : 'Orphaned',
      reason: removing ? 'ContainerGone' : daemon ? 'GracePeriod' : 'PruneNotRequested',
      message: removing
        ? `no container maps to plan ${id}: removed`
        : daemon
          ? `no container maps to plan ${id}: removed after the grace period unless it comes back`
          : `no container maps to plan ${id}: kept (pass --prune to remove it)`,
      plan: existing.get(id),
      changed: removing,
    });
  }
  return entries;
}

/**
 * Field-by-field comparison, insensitive to array order where Backrest sorts. A `defaulted`
 * retention in `b` is not compared: the sink keeps the file's retention for an existing plan.
 */
export function samePlan(a: PlanSpec | undefined, b: PlanSpec): boolean {
  if (!a) return false;
  const ignoreRetention = b.retention?.defaulted === true;
  const norm = (p: PlanSpec) =>
    JSON.stringify([
      p.id,
      p.repo,
      p.schedule,
      [...p.sources].sort(compare),
      [...(p.exclude ?? [])].sort(compare),
      p.hooks?.pre ?? [],
      p.hooks?.post ?? [],
      p.hooks?.dump ?? [],
      ignoreRetention ? '' : (p.retention?.spec ?? ''),
    ]);
  return norm(a) === norm(b);
}
