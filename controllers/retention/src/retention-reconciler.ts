import {
  BACKUP_WORKLOAD_KIND,
  ImageWorkloadLabelTrust,
  Labels,
  WorkloadConditions,
  applyRetentionResult,
  workloadNameIn,
  workloadNameInCache,
  type BackupWorkloadSpec,
  type ForgetReport,
  type RepositoryLock,
  type RetentionReport,
  type WorkloadForgetResult,
  type WorkloadIdentity,
  type WorkloadStatusStore,
} from '@backrest-sidecar/api';
import { createResticRunner, resolveResticHost } from '@backrest-sidecar/restic';
import {
  ImageLabelTrust,
  matchesLabelFilter,
  type ContainerActions,
  type DockerClient,
} from '@dockop/docker';
import {
  TerminalError,
  makeKey,
  type ReconcileContext,
  type ReconcileRequest,
  type ReconcileResult,
  type Reconciler,
} from '@dockop/runtime';
import {
  RETENTION_CONTROLLER_DEFAULTS,
  type RetentionControllerOptions,
} from './retention-controller-options.js';
import { backrestPlanPass } from './backrest-plan-pass.js';
import { retentionDue } from './retention-due.js';
import type { RetentionMetrics } from './retention-metrics.js';
import { runForget } from './run-forget.js';

/** Kind of the one key of a one-shot pass over every workload (`forget`). */
export const RETENTION_RUN_KIND = 'RetentionRun';

/** What rcb's snapshots are left to, said once in the log and in each workload's condition. */
export const RCB_GLOBAL_POLICY_MESSAGE =
  "restic-compose-backup makes one snapshot of all of /volumes, which can't be split per " +
  "workload: its snapshots are left to rcb's own global policy (its RESTIC_KEEP_* settings), " +
  'and backrest.keep is not applied to them';

export interface RetentionReconcilerDeps {
  options: RetentionControllerOptions;
  actions: ContainerActions;
  client: DockerClient;
  report: RetentionReport;
  status?: WorkloadStatusStore;
  /** Held around each pass: a forget never overlaps the backup controller's run. */
  lock?: RepositoryLock;
  /** The per-workload gauges. Default: none. */
  metrics?: RetentionMetrics;
}

/**
 * Two kinds of keys:
 * - `BackupWorkload/<name>` (daemon): when due (`retentionDue`: after a new snapshot, on a policy
 *   change, after a failure, every `periodMs`), `runForget` for that workload only, scoped as the
 *   `forget` command scopes it; the result lands in the workload's status. A failed pass is an
 *   error (retried with backoff); otherwise the key comes back when the periodic pass is due.
 * - `RetentionRun/all` (once): `runForget` over every workload, the report kept for the CLI and
 *   every result recorded (not in a dry run).
 */
export class RetentionReconciler implements Reconciler {
  readonly #deps: RetentionReconcilerDeps;
  #host: string | undefined;
  #rcbSaid = false;

  constructor(deps: RetentionReconcilerDeps) {
    this.#deps = deps;
  }

  async reconcile(
    request: ReconcileRequest,
    ctx: ReconcileContext,
  ): Promise<ReconcileResult | void> {
    switch (request.kind) {
      case RETENTION_RUN_KIND:
        return this.#runAll(ctx);
      case BACKUP_WORKLOAD_KIND:
        return this.#workload(request, ctx);
      default:
        throw new TerminalError(`retention controller: unknown key ${request.key}`, 'UnknownKey');
    }
  }

  async #forget(ctx: ReconcileContext, only?: string[]): Promise<ForgetReport> {
    const o = this.#deps.options;
    // Outside the try: a stop while waiting is not a failed pass.
    const release = await this.#deps.lock?.acquire(ctx.signal);
    try {
      this.#host ??= await resolveResticHost(this.#deps.client, o.resticHost);
      const restic = await createResticRunner(o.restic, this.#deps.actions);
      return await runForget(
        {
          includeProjectName:
            o.includeProjectName ?? RETENTION_CONTROLLER_DEFAULTS.includeProjectName,
          dryRun: o.mode === 'once' && o.dryRun === true,
          prune: o.prune ?? RETENTION_CONTROLLER_DEFAULTS.prune,
          host: this.#host,
          signal: ctx.signal,
          ...(o.selector?.length ? { selector: o.selector } : {}),
          ...(only ? { only } : {}),
        },
        {
          containers: this.#deps.actions,
          restic,
          trust: new ImageWorkloadLabelTrust(
            new ImageLabelTrust(this.#deps.client, ctx.logger),
            o.trustImageLabels === true,
          ),
          logger: ctx.logger,
          recorder: ctx.recorder,
        },
      );
    } catch (err) {
      // Could not start (bad env file, Docker unreachable): the report's fatal, redacted.
      const raw = (err as Error).message;
      const fatal = o.restic.redactor ? o.restic.redactor.redactString(raw) : raw;
      ctx.logger.error('retention.fatal', { error: fatal });
      return { dryRun: false, workloads: [], fatal, exitCode: 1 };
    } finally {
      release?.();
    }
  }

  async #runAll(ctx: ReconcileContext): Promise<void> {
    const report = await this.#forget(ctx);
    this.#deps.report.record(report);
    if (report.dryRun) return;
    // A path group of a service's replicas is one workload: recorded on its first replica.
    for (const f of report.workloads) {
      const members = f.containers.flatMap((c) => {
        const r = ctx.cache.get(makeKey(BACKUP_WORKLOAD_KIND, c));
        return r ? [r] : [];
      });
      const names = new Set(f.containers.map((c) => workloadNameIn(c, members)));
      for (const name of names) await this.#record(name, f, report, ctx);
    }
  }

  async #workload(
    request: ReconcileRequest,
    ctx: ReconcileContext,
  ): Promise<ReconcileResult | void> {
    const d = this.#deps;
    const o = d.options;
    const resource = ctx.cache.get(request.key);
    // Gone, refused by the cache, or outside --selector: nothing of ours to bring to a policy.
    if (!resource || !matchesLabelFilter(resource.metadata.labels, o.selector ?? [])) return;
    const name = request.name;
    // Another replica of a service: its retention is the service's, on the first replica's key.
    if (workloadNameInCache(ctx.cache, BACKUP_WORKLOAD_KIND, resource) !== name) return;
    const keep = resource.metadata.labels[Labels.keep] ?? '';
    if ((o.engine ?? RETENTION_CONTROLLER_DEFAULTS.engine) === 'rcb') {
      if (!this.#rcbSaid) {
        this.#rcbSaid = true;
        ctx.logger.info('retention.left_to_rcb', { note: RCB_GLOBAL_POLICY_MESSAGE });
      }
      await d.status?.update(name, (s) =>
        d.status!.applyCondition(s, {
          type: WorkloadConditions.RetentionSatisfied,
          status: 'Unknown',
          reason: 'LeftToRcbPolicy',
          message: RCB_GLOBAL_POLICY_MESSAGE,
        }),
      );
      return;
    }
    if (!keep) return; // no policy: every snapshot is kept, nothing to satisfy
    const period = o.periodMs ?? RETENTION_CONTROLLER_DEFAULTS.periodMs;
    const current = await d.status?.get(name);
    const due = retentionDue(current, keep, ctx.clock.now(), period);
    if (!due.due) return { requeueAfter: due.inMs };
    ctx.logger.debug('retention.due', { workload: name, reason: due.reason });
    const own = o.ownSnapshots ?? RETENTION_CONTROLLER_DEFAULTS.ownSnapshots;
    const report: ForgetReport = own
      ? await this.#forget(ctx, [name])
      : { dryRun: false, workloads: [], exitCode: 0 };
    // The cache's spec: `keep` only when the container itself sets it (or image labels are
    // trusted), checked by the schema, as the plan controller wrote it into Backrest's plan.
    const specKeep = (resource.spec as BackupWorkloadSpec | undefined)?.keep;
    const plan =
      o.backrest && specKeep
        ? await this.#backrestPlan(resource.status, name, specKeep, ctx)
        : undefined;
    const result = combine(
      report.workloads.find((w) => w.containers.includes(name)),
      plan,
    );
    if (report.fatal && !(plan && plan.status !== 'failed')) {
      const failed = failedResult(name, keep, report.fatal);
      await this.#record(name, failed, report, ctx);
      throw new Error(`retention of ${name}: ${report.fatal}`);
    }
    // Not selected by the pass (stopped, not opted in): nothing was applied, nothing to record.
    if (!result) return { requeueAfter: period };
    await this.#record(name, result, report, ctx);
    if (result.status === 'failed') {
      throw new Error(`retention of ${name}: ${result.error ?? 'restic forget failed'}`);
    }
    return { requeueAfter: period };
  }

  /** Backrest's snapshots of the workload's plan (a failure is the result's, never thrown). */
  async #backrestPlan(
    status: unknown,
    name: string,
    keep: string,
    ctx: ReconcileContext,
  ): Promise<WorkloadForgetResult | undefined> {
    const o = this.#deps.options;
    const identity = { ...(isObject(status) ? status : {}), name } as WorkloadIdentity;
    const release = await this.#deps.lock?.acquire(ctx.signal);
    try {
      return await backrestPlanPass(
        identity,
        keep,
        {
          configPath: o.backrest!.configPath,
          ...(o.backrest!.planIdPrefix !== undefined
            ? { planIdPrefix: o.backrest!.planIdPrefix }
            : {}),
          ...(o.restic.image ? { image: o.restic.image } : {}),
          ...(o.restic.mounts ? { mounts: o.restic.mounts } : {}),
          ...(o.restic.labels ? { labels: o.restic.labels } : {}),
          ...(o.restic.redactor ? { redactor: o.restic.redactor } : {}),
          prune: o.prune ?? RETENTION_CONTROLLER_DEFAULTS.prune,
        },
        this.#deps.actions,
        ctx.logger,
        ctx.signal,
      );
    } catch (err) {
      const raw = (err as Error).message;
      return failedResult(
        name,
        keep,
        o.restic.redactor ? o.restic.redactor.redactString(raw) : raw,
      );
    } finally {
      release?.();
    }
  }

  async #record(
    name: string,
    f: WorkloadForgetResult,
    report: ForgetReport,
    ctx: ReconcileContext,
  ): Promise<void> {
    const d = this.#deps;
    d.metrics?.observe(name, f, report.dryRun, ctx.clock.now());
    if (!d.status) return;
    try {
      d.status.fileOf(name);
    } catch {
      return; // not a container name: nothing to file it under
    }
    await d.status.update(name, (s) => applyRetentionResult(d.status!, s, f, report));
  }
}

/** A pass that failed before restic said anything about the workload's snapshots. */
function failedResult(name: string, keep: string, error: string): WorkloadForgetResult {
  return {
    containers: [name],
    path: '',
    keep,
    flags: [],
    status: 'failed',
    kept: [],
    removed: [],
    warnings: [],
    error,
  };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * One workload's result from its two passes: ours (its own snapshots) and Backrest's plan's.
 * When Backrest runs the plan, "nothing of ours at the path" is expected and not reported; a
 * failure of either is the combined failure; ids and messages are put together.
 */
export function combine(
  own: WorkloadForgetResult | undefined,
  plan: WorkloadForgetResult | undefined,
): WorkloadForgetResult | undefined {
  if (!plan) return own;
  if (!own || own.status === 'no-match' || own.status === 'no-snapshots') return plan;
  const rank = (s: WorkloadForgetResult['status']): number =>
    [
      'failed',
      'invalid',
      'untrusted',
      'no-match',
      'forgotten',
      'repo-policy',
      'backrest-owned',
      'no-snapshots',
    ].indexOf(s);
  const status = rank(own.status) <= rank(plan.status) ? own.status : plan.status;
  const errors = [own.error, plan.error].filter((e): e is string => e !== undefined);
  return {
    containers: own.containers,
    path: [own.path, plan.path].filter(Boolean).join(', '),
    keep: own.keep,
    flags: own.flags,
    status,
    kept: [...own.kept, ...plan.kept],
    removed: [...own.removed, ...plan.removed],
    warnings: [...own.warnings, ...plan.warnings],
    ...(errors.length ? { error: errors.join('; ') } : {}),
  };
}
