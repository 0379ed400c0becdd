/**
 * Reconciles the whole plan set in one go: every BackupWorkload event maps to the single
 * aggregate key `BackrestConfig/<config path>`, so a burst of container events (debounced by the
 * runtime) becomes one read-merge-write of the config and at most one Backrest restart.
 *
 * Steps, one file each: collect the inputs (plan-inputs.ts; a daemon skips a reconcile whose
 * inputs and config are what its last settled one saw) → load the config → build the plan set
 * (plan-set.ts: buildPlans merges a service's replicas, refused workloads keep their ids) →
 * decide orphans and one entry per plan (plan-entries.ts) → write or preview (plan-write.ts) →
 * report: logs, conditions, events (plan-reporting.ts), the summary, each workload's own outcome
 * (workload-outcomes.ts) → hand the write to the apply worker.
 */
import { ConfigError, type PlanChanges } from '@backrest-sidecar/config-sink';
import {
  TerminalError,
  makeKey,
  type ReconcileContext,
  type ReconcileRequest,
  type ReconcileResult,
  type Reconciler,
} from '@dockop/runtime';
import { checkPlanIdPrefix } from '@backrest-sidecar/api';
import type { ApplyState } from './apply-state.js';
import { OrphanTracker, type OrphanDecision } from './orphan-tracker.js';
import {
  CONFIG_KIND,
  PLAN_CONTROLLER_DEFAULTS,
  type PlanControllerOptions,
} from './plan-controller-options.js';
import { planEntries } from './plan-entries.js';
import { collectPlanInputs, inputsFingerprint } from './plan-inputs.js';
import type { PlanReport, ReconcileSummary } from './plan-report.js';
import { PlanReporting, entriesByKey } from './plan-reporting.js';
import { PlanMemo } from './plan-memo.js';
import { buildPlanSet } from './plan-set.js';
import type { PlanStore } from './plan-store.js';
import { writePlans } from './plan-write.js';
import { WorkloadOutcomes } from './workload-outcomes.js';

// Moved to plan-entries.ts; still part of this module's API.
export { samePlan } from './plan-entries.js';

export class PlanReconciler implements Reconciler {
  readonly #opts: PlanControllerOptions;
  readonly #store: PlanStore;
  /** Hands each write to the apply worker; holds the bytes a rollback refused. */
  readonly #apply: ApplyState;
  readonly #report: PlanReport;
  readonly #orphans: OrphanTracker;
  /**
   * Daemon: what the last complete reconcile saw (workload versions + the store's revision after
   * it), recorded only when nothing was left pending (no orphan waiting, nothing refused). The
   * same again (a periodic resync of an idle host) renders nothing: re-rendering 500 plans a
   * minute was most of an idle daemon's CPU.
   */
  #settled: string | undefined;
  /** Step 5's logs, conditions and events (and its memory of each workload's last skip). */
  readonly #reporting: PlanReporting;
  /** Each workload's own result (a skipped or invalid one is an error, not a success). */
  readonly #outcomes: WorkloadOutcomes;
  /** Daemon: unchanged workloads' inputs, plans and comparisons, from earlier reconciles. */
  readonly #memo: PlanMemo | undefined;

  constructor(
    options: PlanControllerOptions,
    store: PlanStore,
    apply: ApplyState,
    report: PlanReport,
  ) {
    // An empty prefix would make every hand-made plan ours (pruned, overwritten): refuse early.
    checkPlanIdPrefix(options.defaults.prefix);
    this.#opts = options;
    this.#store = store;
    this.#apply = apply;
    this.#report = report;
    const daemon = (options.mode ?? PLAN_CONTROLLER_DEFAULTS.mode) === 'daemon';
    const grace = daemon ? (options.orphanGraceMs ?? PLAN_CONTROLLER_DEFAULTS.orphanGraceMs) : 0;
    this.#orphans = new OrphanTracker(grace);
    this.#outcomes = new WorkloadOutcomes();
    // One-shot: a single reconcile, nothing to remember.
    this.#memo = daemon ? new PlanMemo() : undefined;
    this.#reporting = new PlanReporting({
      daemon,
      configPath: options.configPath,
      configKey: this.configKey,
    });
  }

  get configKey(): string {
    return makeKey(CONFIG_KIND, this.#opts.configPath);
  }

  /** Every key is the aggregate one (the workloads' own outcomes are settled by the render). */
  reconcile(_request: ReconcileRequest, ctx: ReconcileContext): Promise<ReconcileResult | void> {
    return this.#render(ctx);
  }

  /** The aggregate key: the whole plan set in one read-merge-write. */
  async #render(ctx: ReconcileContext): Promise<ReconcileResult | void> {
    const opts = this.#opts;
    const dryRun = opts.dryRun ?? PLAN_CONTROLLER_DEFAULTS.dryRun;
    const daemon = (opts.mode ?? PLAN_CONTROLLER_DEFAULTS.mode) === 'daemon';
    const log = ctx.logger;
    const summaryBase = { config: opts.configPath, dryRun, seen: 0 };

    // 1. Collect. Same workloads, same config as the last settled reconcile: nothing to do.
    const inputs = collectPlanInputs(ctx.cache, opts.selector);
    const memo = this.#memo;
    const fingerprint = memo ? inputsFingerprint(inputs, (r) => memo.part(r)) : undefined;
    if (await this.#stillSettled(fingerprint)) {
      log.debug('config.unchanged', { config: opts.configPath, changed: false, skipped: true });
      return;
    }

    let loaded;
    try {
      loaded = await this.#store.load();
    } catch (err) {
      return this.#fail(err, summaryBase, ctx);
    }

    // 2. Build the desired plan set (pure).
    const set = buildPlanSet(inputs, opts.defaults, loaded.repoIds, memo);

    // 3. Decide: orphans, and one entry per plan.
    const pruneNow = daemon || (opts.prune ?? PLAN_CONTROLLER_DEFAULTS.prune);
    const orphans = this.#orphans.observe(
      loaded.planIds,
      set.ids,
      opts.defaults.prefix,
      ctx.clock.now(),
    );
    const remove = pruneNow ? orphans.remove : [];
    const changes: PlanChanges = { upsert: set.built.plans.map((b) => b.plan), remove };
    const existing = new Map(loaded.plans.map((p) => [p.id, p]));
    const entries = planEntries(set, existing, orphans, {
      dryRun,
      daemon,
      remove,
      ...(memo ? { same: (a, b) => memo.samePlan(a, b) } : {}),
    });

    // 4. Write (or preview).
    let result;
    try {
      result = await writePlans(
        this.#store,
        this.#apply,
        changes,
        { dryRun, configPath: opts.configPath, configKey: this.configKey },
        ctx,
      );
    } catch (err) {
      return this.#fail(err, summaryBase, ctx);
    }

    // 5. Report: per plan (a service's plan on every replica's key), then the config's outcome.
    const perKey = entriesByKey(entries, this.configKey);
    this.#reporting.entries(perKey, result, ctx);
    if (result.written) this.#orphans.removed(remove);
    const seen = set.workloads.length + set.invalid.length;
    this.#reporting.outcome(
      result,
      {
        dryRun,
        seen,
        skipped: set.built.skipped.length + set.invalid.length,
        plans: set.built.plans.length,
        removed: remove.length,
      },
      entries,
      ctx,
    );
    const summary: ReconcileSummary = {
      ...summaryBase,
      seen,
      entries,
      changed: result.changed,
      written: result.written,
      diff: result.diff,
      after: result.after,
      finishedAt: new Date(ctx.clock.now()).toISOString(),
    };
    // Only the CLI's dry-run diff reads them: passed on unread, for the store to work out when
    // read (a daemon's render never does).
    if ('secretValues' in result) {
      Object.defineProperty(summary, 'secretValues', {
        enumerable: true,
        configurable: true,
        get: () => result.secretValues,
      });
    }
    this.#report.record(summary);
    this.#outcomes.record(perKey, ctx);

    // 6. The apply worker (controller `backrest-apply`) takes it from here; a write never waits
    // for a restart. One-shot: it runs after this controller, before the CLI reads the report.
    if (result.written) this.#apply.written(result.before, result.after);

    if (daemon && orphans.nextInMs !== undefined) {
      return { requeueAfter: orphans.nextInMs };
    }
    await this.#settle(fingerprint, orphans);
  }

  /**
   * Daemon: true when the inputs and the store's revision are what the last settled reconcile saw
   * (and nothing was refused meanwhile). Clears the record otherwise: only a reconcile that
   * settles again sets it.
   */
  async #stillSettled(fingerprint: string | undefined): Promise<boolean> {
    const settled = this.#settled;
    this.#settled = undefined;
    if (fingerprint === undefined || settled === undefined || this.#apply.refused !== undefined) {
      return false;
    }
    let revision;
    try {
      revision = await this.#store.revision?.();
    } catch {
      revision = undefined; // load() reports what is wrong with the file
    }
    if (revision === undefined || `${fingerprint}\n${revision}` !== settled) return false;
    this.#settled = settled;
    return true;
  }

  /**
   * Settled: the next reconcile with the same inputs and an untouched store can be skipped. Not
   * when something is pending (an orphan removal a dry run or a failure did not write, a refusal).
   */
  async #settle(fingerprint: string | undefined, orphans: OrphanDecision): Promise<void> {
    if (
      fingerprint === undefined ||
      orphans.remove.length !== 0 ||
      this.#apply.refused !== undefined
    ) {
      return;
    }
    const revision = await this.#store.revision?.().catch(() => undefined);
    if (revision !== undefined) this.#settled = `${fingerprint}\n${revision}`;
  }

  /** A config that can't be read or written: logged, a Warning, a fatal summary, then thrown. */
  #fail(
    err: unknown,
    summaryBase: Pick<ReconcileSummary, 'config' | 'dryRun' | 'seen'>,
    ctx: ReconcileContext,
  ): never {
    const code = err instanceof ConfigError ? err.code : 'Error';
    const message = (err as Error).message;
    ctx.logger.error('config.error', { code, error: message, config: this.#opts.configPath });
    ctx.recorder.event(this.configKey, 'Warning', code, message);
    this.#report.record({
      ...summaryBase,
      entries: [],
      changed: false,
      written: false,
      diff: '',
      after: '',
      fatal: { code, message },
      finishedAt: new Date(ctx.clock.now()).toISOString(),
    });
    // A broken config file is not fixed by retrying in 5 ms: wait for the next event/resync.
    if (err instanceof ConfigError && err.code !== 'LockFailed' && err.code !== 'WriteFailed') {
      throw new TerminalError(message, code, { cause: err });
    }
    throw err;
  }
}
