import type { Logger } from '@dockop/runtime';
import {
  KeepSpecError,
  keepSpecToResticFlags,
  parseKeepSpec,
} from '@backrest-sidecar/backrest-model';
import { parseForgetOutput, runResticChecked, type ResticRunner } from '@backrest-sidecar/restic';

/** One of our plans as Backrest runs it: whose snapshots this forget may remove. */
export interface BackrestPlanForgetTarget {
  /** The plan id (`backrest_sidecar_<project>_<service>`): Backrest tags snapshots `plan:<id>`. */
  planId: string;
  /** Backrest's `instance`: it tags snapshots `created-by:<instance>`. */
  instance: string;
  /** The plan's host paths (not `/volumes/...`): a snapshot must hold every one of them. */
  paths: readonly string[];
  /** The workload's `backrest.keep` as written (only its `within` terms are why we run). */
  keep: string;
}

/** The repository entry of Backrest's config the plan writes to (own properties read only). */
export interface BackrestRepoEntry {
  id?: unknown;
  forgetPolicy?: unknown;
}

export type BackrestPlanForgetStatus =
  /** forget ran (or would, in a dry run). */
  | 'forgotten'
  /** The keep spec has no `within` term: Backrest's own plan retention applies it. */
  | 'backrest-owned'
  /** The repository has an active `forgetPolicy`: it overrides plan retention in Backrest. */
  | 'repo-policy'
  /**
   * Backrest's config has no `instance`: Backrest runs no repository operation without one, so
   * it made no snapshot of the plan (there is nothing of its own to forget).
   */
  | 'no-snapshots'
  | 'invalid'
  | 'failed';

export interface BackrestPlanForgetResult {
  planId: string;
  status: BackrestPlanForgetStatus;
  flags: string[];
  kept: string[];
  removed: string[];
  /** Why nothing ran (step-aside) or what failed. */
  message?: string;
}

/**
 * A repository `forgetPolicy` is active unless it is absent or its schedule is `disabled`: then
 * Backrest forgets the whole repository with it, and a second policy of ours would fight it.
 */
export function repoForgetPolicyActive(repo: BackrestRepoEntry | undefined): boolean {
  if (!repo || typeof repo !== 'object' || !Object.hasOwn(repo, 'forgetPolicy')) return false;
  const policy = repo.forgetPolicy as { schedule?: { disabled?: unknown } } | null | undefined;
  if (!policy || typeof policy !== 'object') return false;
  const schedule = Object.hasOwn(policy, 'schedule') ? policy.schedule : undefined;
  return !(schedule && typeof schedule === 'object' && schedule.disabled === true);
}

const TAG_VALUE = /^[A-Za-z0-9_.:-]{1,200}$/;

/**
 * Brings the snapshots Backrest made from one of our plans to the workload's `backrest.keep`,
 * the way Backrest forgets its own: `restic forget --tag plan:<id>,created-by:<instance>
 * --group-by '' <keep flags> --json`, narrowed further to snapshots holding the plan's paths.
 *
 * Runs only for what Backrest can't do itself: a keep spec with a `within` term (Backrest's
 * retention has no keep-within, so the plan carries `policyKeepAll`). A spec without one is left
 * to Backrest (`backrest-owned`), and so is everything when the repository has an active
 * `forgetPolicy` (`repo-policy`: it overrides plan retention in Backrest; we step aside and say why).
 */
export async function forgetBackrestPlan(
  target: BackrestPlanForgetTarget,
  repo: BackrestRepoEntry | undefined,
  restic: ResticRunner,
  options: { dryRun?: boolean; prune?: boolean; logger?: Logger; signal?: AbortSignal } = {},
): Promise<BackrestPlanForgetResult> {
  const result: BackrestPlanForgetResult = {
    planId: target.planId,
    status: 'invalid',
    flags: [],
    kept: [],
    removed: [],
  };
  const log = options.logger?.child({ component: 'retention', plan: target.planId });
  if (repoForgetPolicyActive(repo)) {
    result.status = 'repo-policy';
    result.message =
      `repository ${JSON.stringify(String(repo?.id ?? ''))} has an active forgetPolicy, which ` +
      `overrides plan retention in Backrest: its snapshots of plan ${target.planId} are left to it`;
    log?.warn('retention.repo_policy', { message: result.message });
    return result;
  }
  if (target.instance === '') {
    result.status = 'no-snapshots';
    result.message =
      `Backrest's config has no instance: Backrest runs no repository operation without one, ` +
      `so it made no snapshot of plan ${target.planId}`;
    return result;
  }
  for (const [what, v] of [
    ['plan id', target.planId],
    ['instance', target.instance],
  ] as const) {
    if (!TAG_VALUE.test(v)) {
      result.message = `Backrest ${what} ${JSON.stringify(v.slice(0, 80))} can't be a restic tag`;
      return result;
    }
  }
  if (target.paths.length === 0 || target.paths.some((p) => !p.startsWith('/'))) {
    result.message = `plan ${target.planId} has no absolute paths to scope forget to`;
    return result;
  }
  let flags: string[];
  try {
    const spec = parseKeepSpec(target.keep);
    if (!spec.rules.some((r) => r.kind.startsWith('within'))) {
      result.status = 'backrest-owned';
      result.message = `no within term: Backrest applies plan ${target.planId}'s retention itself`;
      return result;
    }
    flags = keepSpecToResticFlags(spec);
  } catch (err) {
    if (!(err instanceof KeepSpecError)) throw err;
    result.message = `backrest.keep=${JSON.stringify(target.keep)}: ${err.message}`;
    return result;
  }
  result.flags = flags;
  const args = [
    'forget',
    '--tag',
    `plan:${target.planId},created-by:${target.instance}`,
    '--group-by',
    '',
    ...target.paths.flatMap((p) => ['--path', p]),
    ...flags,
    ...(options.dryRun ? ['--dry-run'] : options.prune ? ['--prune'] : []),
    '--json',
  ];
  try {
    const out = await runResticChecked(
      restic,
      args,
      options.signal ? { signal: options.signal } : {},
    );
    for (const g of parseForgetOutput(out.stdout)) {
      result.kept.push(...(g.keep ?? []).map((s) => s.short_id));
      result.removed.push(...(g.remove ?? []).map((s) => s.short_id));
    }
    result.status = 'forgotten';
    log?.info('retention.backrest_plan', {
      flags,
      kept: result.kept.length,
      [options.dryRun ? 'wouldRemove' : 'removed']: result.removed,
    });
  } catch (err) {
    result.status = 'failed';
    result.message = (err as Error).message;
    log?.error('retention.backrest_plan_failed', { error: result.message });
  }
  return result;
}
