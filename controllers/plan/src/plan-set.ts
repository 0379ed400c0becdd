import type { RejectedResource } from '@dockop/runtime';
import {
  buildPlan,
  buildPlans,
  type BuildResult,
  type PlanDefaults,
  type WorkloadInput,
} from './plan-builder.js';
import { wouldBePlanId, workloadInputOf, type PlanInputs } from './plan-inputs.js';
import type { PlanMemo } from './plan-memo.js';

/** A workload the cache refused, with the plan id it would have had. */
export type InvalidWorkload = RejectedResource & { planId: string };

/**
 * Step 2, build: the desired plan set, pure. Valid workloads go through `buildPlans` (which
 * merges a service's replicas into one plan and skips what can't be planned); refused ones never
 * do, but keep their would-be ids.
 */
export interface PlanSet {
  workloads: WorkloadInput[];
  built: BuildResult;
  invalid: InvalidWorkload[];
  /**
   * Every id a current workload maps to, built, skipped or refused: an existing plan under one of
   * them is kept, never treated as an orphan.
   */
  ids: Set<string>;
}

/** `memo` (daemon): unchanged workloads' inputs and outcomes are the previous reconcile's. */
export function buildPlanSet(
  inputs: PlanInputs,
  defaults: PlanDefaults,
  repoIds: string[],
  memo?: PlanMemo,
): PlanSet {
  const workloads: WorkloadInput[] = inputs.selected.map((r) =>
    memo ? memo.input(r) : workloadInputOf(r),
  );
  const facts = { repoIds };
  const remembered = memo?.outcomes(repoIds);
  const built = remembered
    ? buildPlans(workloads, defaults, facts, (w) =>
        remembered(w, () => buildPlan(w, defaults, facts)),
      )
    : buildPlans(workloads, defaults, facts);
  // Workloads the cache refused (labels that fail the schema) never reach buildPlans: counted as
  // skipped, so a dry run exits 3 and `get plans` lists them.
  const invalid = inputs.rejected.map((r) => ({
    ...r,
    planId: wouldBePlanId(r, defaults.prefix),
  }));
  const ids = new Set(built.ids);
  for (const r of invalid) ids.add(r.planId);
  return { workloads, built, invalid, ids };
}
