import {
  planIdFor,
  readBackrestPlanEntry,
  repoEnvFromBackrestConfig,
  type PruneMode,
  type WorkloadForgetResult,
  type WorkloadIdentity,
} from '@backrest-sidecar/api';
import { ContainerResticRunner, type ResticRunner } from '@backrest-sidecar/restic';
import type { ContainerActions, OneShotMount } from '@dockop/docker';
import type { Logger, Redactor } from '@dockop/runtime';
import { forgetBackrestPlan } from './backrest-plan-forget.js';

export interface BackrestPlanPassOptions {
  /** Backrest's config (`--config`), where the plan controller writes our plans. */
  configPath: string;
  /** The plan id prefix (`--plan-id-prefix`). Default: the API package's. */
  planIdPrefix?: string;
  /** How restic runs against the plan's repository (its env comes from the repo entry). */
  image?: string;
  mounts?: OneShotMount[];
  labels?: Record<string, string>;
  redactor?: Redactor;
  prune: PruneMode;
}

/**
 * The snapshots Backrest made from the workload's plan (`plan:<id>`, `created-by:<instance>`,
 * the plan's host paths) brought to `keep` where Backrest can't (`forgetBackrestPlan`: a `within`
 * term; otherwise Backrest's own plan retention applies, and an active repository
 * `forgetPolicy` makes us step aside). Undefined when Backrest's config has no plan for the
 * workload. The repository's credentials come from its repo entry, read only when restic runs.
 */
export async function backrestPlanPass(
  workload: WorkloadIdentity,
  keep: string,
  options: BackrestPlanPassOptions,
  actions: ContainerActions,
  logger: Logger,
  signal?: AbortSignal,
): Promise<WorkloadForgetResult | undefined> {
  const planId = planIdFor(
    workload,
    options.planIdPrefix !== undefined ? { prefix: options.planIdPrefix } : {},
  );
  const entry = await readBackrestPlanEntry(options.configPath, planId);
  if (!entry) return undefined;
  let runner: ResticRunner | undefined;
  const lazy: ResticRunner = {
    description: `container ${options.image ?? 'restic'} (Backrest repo ${entry.repoId})`,
    run: async (args, opts) => {
      if (!runner) {
        const { env } = await repoEnvFromBackrestConfig(options.configPath, entry.repoId);
        runner = new ContainerResticRunner(actions, {
          ...(options.image ? { image: options.image } : {}),
          env,
          ...(options.mounts ? { mounts: options.mounts } : {}),
          ...(options.labels ? { labels: options.labels } : {}),
          ...(options.redactor ? { redactor: options.redactor } : {}),
        });
      }
      return runner.run(args, opts);
    },
  };
  const res = await forgetBackrestPlan(
    { planId, instance: entry.instance, paths: entry.paths, keep },
    entry.repo,
    lazy,
    {
      prune: options.prune !== 'never',
      logger,
      ...(signal ? { signal } : {}),
    },
  );
  const r: WorkloadForgetResult = {
    containers: [workload.name],
    path: entry.paths.join(', '),
    keep,
    flags: res.flags,
    status: res.status,
    kept: res.kept,
    removed: res.removed,
    warnings: [],
  };
  if (res.status === 'invalid' || res.status === 'failed') {
    r.error = `Backrest plan ${planId}: ${res.message ?? res.status}`;
  } else if (res.message) r.warnings.push(res.message);
  return r;
}
