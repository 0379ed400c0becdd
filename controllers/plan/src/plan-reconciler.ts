/**
 * Reconciles the whole plan set in one go: every BackupWorkload event maps to the single
 * aggregate key `BackrestConfig/<config path>`, so a burst of container events (debounced by the
 * runtime) becomes one read-merge-write of the config and at most one Backrest restart.
 *
 * Steps: load config → build plans (pure) → decide orphans → preview (dry run) or commit →
 * conditions, events, logs per plan → apply when the bytes changed.
 */
import { ConfigError, type PlanChanges, type PlanSpec } from '@backrest-sidecar/config-sink';
import {
  CacheReasons,
  TerminalError,
  type KeyTrigger,
  makeKey,
  type ReconcileContext,
  type ReconcileRequest,
  type ReconcileResult,
  type Reconciler,
  type RejectedResource,
  type Resource,
} from '@dockop/runtime';
import {
  BACKUP_WORKLOAD_KIND,
  checkPlanIdPrefix,
  planIdFor,
  type BackupWorkloadSpec,
  type WorkloadIdentity,
} from '@backrest-sidecar/api';
import type { ApplyState } from './apply-state.js';
import { OrphanTracker } from './orphan-tracker.js';
import { buildPlans, compare, type WorkloadInput, type WorkloadStatus } from './plan-builder.js';
import {
  CONFIG_KIND,
  PLAN_CONTROLLER_DEFAULTS,
  type PlanControllerOptions,
} from './plan-controller-options.js';
import type { PlanEntry, PlanReport, ReconcileSummary } from './plan-report.js';
import type { PlanStore } from './plan-store.js';
import { WorkloadOutcomes } from './workload-outcomes.js';

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
  /**
   * Daemon: the reason and message each workload was last skipped for. The same skip again (every
   * resync re-renders a refused workload) is logged at debug: a problem is a warning once, and
   * again only when it changes or comes back.
   */
  readonly #skipsLogged = new Map<string, string>();
  /** Each workload's own result (a skipped or invalid one is an error, not a success). */
  readonly #outcomes: WorkloadOutcomes;

  constructor(
    options: PlanControllerOptions,
    store: PlanStore,
    apply: ApplyState,
    report: PlanReport,
    /** Where workloads whose outcome changed are handed back as their own keys. Default: none. */
    outcomes?: KeyTrigger,
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
    this.#outcomes = new WorkloadOutcomes(outcomes);
  }

  get configKey(): string {
    return makeKey(CONFIG_KIND, this.#opts.configPath);
  }

  async reconcile(
    request: ReconcileRequest,
    ctx: ReconcileContext,
  ): Promise<ReconcileResult | void> {
    // A workload's own key (handed back after a render): its outcome in that render.
    if (request.kind === BACKUP_WORKLOAD_KIND) return this.#outcomes.check(request.key);
    const opts = this.#opts;
    const dryRun = opts.dryRun ?? PLAN_CONTROLLER_DEFAULTS.dryRun;
    const daemon = (opts.mode ?? PLAN_CONTROLLER_DEFAULTS.mode) === 'daemon';
    const log = ctx.logger;
    const summaryBase = { config: opts.configPath, dryRun, seen: 0 };

    const fail = (err: unknown): never => {
      const code = err instanceof ConfigError ? err.code : 'Error';
      const message = (err as Error).message;
      log.error('config.error', { code, error: message, config: opts.configPath });
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
    };

    const resources =
      ctx.cache.list<Resource<BackupWorkloadSpec, WorkloadStatus>>(BACKUP_WORKLOAD_KIND);
    const selector = Object.entries(opts.selector ?? {});
    const selectedResources = resources
      .filter((r) => r.status !== undefined)
      .filter((r) => selector.every(([k, v]) => r.metadata.labels[k] === v));
    const rejected = ctx.cache
      .rejected(BACKUP_WORKLOAD_KIND)
      .filter((r) => selector.every(([k, v]) => r.labels?.[k] === v));

    // Same workloads, same config as the last settled reconcile: nothing to render or write.
    const inputs = daemon ? inputsFingerprint(selectedResources, rejected) : undefined;
    const settled = this.#settled;
    this.#settled = undefined;
    if (inputs !== undefined && settled !== undefined && this.#apply.refused === undefined) {
      let revision;
      try {
        revision = await this.#store.revision?.();
      } catch {
        revision = undefined; // load() below reports what is wrong with the file
      }
      if (revision !== undefined && `${inputs}\n${revision}` === settled) {
        this.#settled = settled;
        log.debug('config.unchanged', { config: opts.configPath, changed: false, skipped: true });
        return;
      }
    }

    let loaded;
    try {
      loaded = await this.#store.load();
    } catch (err) {
      return fail(err);
    }

    const workloads: WorkloadInput[] = selectedResources.map((r) => ({
      name: r.metadata.name,
      spec: r.spec,
      status: r.status as WorkloadStatus,
    }));
    const built = buildPlans(workloads, opts.defaults, { repoIds: loaded.repoIds });
    // Workloads the cache refused (labels that fail the schema) never reach buildPlans: count
    // them as skipped, so a dry run exits 3 and `get plans` lists them. Their would-be ids count
    // as current, like any skip's: an existing plan is kept, never treated as an orphan.
    const invalid = rejected.map((r) => ({
      ...r,
      planId: wouldBePlanId(r, opts.defaults.prefix),
    }));
    const ids = new Set([...built.ids, ...invalid.map((r) => r.planId)]);

    const prefix = opts.defaults.prefix;
    const pruneNow = daemon || (opts.prune ?? PLAN_CONTROLLER_DEFAULTS.prune);
    const orphanDecision = this.#orphans.observe(loaded.planIds, ids, prefix, ctx.clock.now());
    const remove = pruneNow ? orphanDecision.remove : [];
    const changes: PlanChanges = { upsert: built.plans.map((b) => b.plan), remove };

    const existing = new Map(loaded.plans.map((p) => [p.id, p]));
    const entries: PlanEntry[] = [];
    for (const b of built.plans) {
      const changed = !samePlan(existing.get(b.plan.id), b.plan);
      entries.push({
        planId: b.plan.id,
        container: b.container,
        ...(b.replicas ? { replicas: b.replicas } : {}),
        state: 'Ready',
        reason: changed ? (dryRun ? 'WouldChange' : 'PlanWritten') : 'UpToDate',
        message: changed
          ? `plan ${b.plan.id} rendered from ${b.replicas ? `${b.replicas.length} replicas of ${b.service} (${b.replicas.join(', ')})` : `container ${b.container}`}`
          : 'in sync',
        plan: b.plan,
        changed,
        ...(b.notes ? { notes: b.notes } : {}),
      });
    }
    for (const s of built.skipped) {
      entries.push({
        planId: s.planId,
        container: s.container,
        state: 'Skipped',
        reason: s.reason,
        message: s.message,
        changed: false,
      });
    }
    for (const r of invalid) {
      entries.push({
        planId: r.planId,
        container: r.name,
        state: 'Skipped',
        reason: CacheReasons.InvalidSpec,
        message: r.message,
        changed: false,
      });
    }
    const orphanIds = [...orphanDecision.remove, ...orphanDecision.waiting];
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

    let result;
    try {
      if (dryRun) {
        result = await this.#store.preview(changes);
      } else {
        // Bytes that took Backrest down once are not written again until the desired config
        // changes; any other config is written normally.
        const refused = this.#apply.refused;
        if (refused !== undefined) {
          const preview = await this.#store.preview(changes);
          if (preview.after === refused) {
            const message =
              'not writing the config again: the same content took Backrest down and was rolled back; change the labels to retry';
            log.warn('config.refused', { config: opts.configPath });
            ctx.recorder.event(this.configKey, 'Warning', 'ApplyRefused', message);
            result = { ...preview, changed: false, written: false, diff: '' };
          } else {
            this.#apply.clearRefused();
          }
        }
        result ??= await this.#store.commit(changes);
      }
    } catch (err) {
      return fail(err);
    }

    // Per-plan logs, conditions and events (on the workload's key).
    // A service's plan reports on every replica's key.
    const perKey = entries.flatMap((e) =>
      (e.replicas ?? [e.container]).map((container) => ({ e, container })),
    );
    // A workload gone from the entries (removed, or no longer selected): forget its last skip.
    const present = new Set(
      perKey.map(({ container }) =>
        container ? makeKey(BACKUP_WORKLOAD_KIND, container) : this.configKey,
      ),
    );
    for (const k of this.#skipsLogged.keys()) if (!present.has(k)) this.#skipsLogged.delete(k);
    for (const { e, container } of perKey) {
      const key = container ? makeKey(BACKUP_WORKLOAD_KIND, container) : this.configKey;
      if (e.state !== 'Skipped') this.#skipsLogged.delete(key);
      if (e.state === 'Ready' && e.plan) {
        // The daemon re-renders every plan on each resync and on any labeled container's event:
        // an unchanged plan at info would be one line per plan per minute (2,000 lines of noise
        // and most of an idle daemon's CPU). One-shot runs and dry runs list every plan.
        log[daemon && !e.changed ? 'debug' : 'info']('plan.rendered', {
          plan_id: e.planId,
          container,
          changed: e.changed,
          repo: e.plan.repo,
          schedule: e.plan.schedule,
          sources: e.plan.sources,
          exclude: e.plan.exclude,
          // Counts only: hook commands carry tokens and passwords (curl -H, pg_dump URIs).
          hooks: { pre: e.plan.hooks.pre.length, post: e.plan.hooks.post.length },
          retention: e.plan.retention,
        });
        ctx.conditions.set(key, {
          type: 'Ready',
          status: 'True',
          reason: e.reason,
          message: e.message,
        });
        ctx.conditions.set(key, {
          type: 'Skipped',
          status: 'False',
          reason: 'PlanRendered',
          message: '',
        });
        // e.g. `@daily` written as five fields: repeated every reconcile, aggregated by the recorder.
        for (const note of e.notes ?? []) {
          log.info('plan.note', { plan_id: e.planId, container, note });
          ctx.recorder.event(key, 'Normal', 'ScheduleTranslated', note);
        }
        if (e.changed && result.written) {
          ctx.recorder.event(
            key,
            'Normal',
            'PlanWritten',
            `plan ${e.planId} written to ${opts.configPath}`,
          );
        }
      } else if (e.state === 'Skipped') {
        // A refused workload's message (container, label, value, rule) is already the cache's
        // Warning event line: point at it rather than log the same problem twice.
        const refused = e.reason === CacheReasons.InvalidSpec;
        const skip = `${e.reason}\n${e.message}`;
        const repeated = daemon && this.#skipsLogged.get(key) === skip;
        this.#skipsLogged.set(key, skip);
        log[repeated ? 'debug' : 'warn']('plan.skipped', {
          plan_id: e.planId,
          container,
          reason: e.reason,
          ...(refused ? { see: `event ${key}` } : { error: e.message }),
          changed: false,
        });
        ctx.conditions.set(key, {
          type: 'Ready',
          status: 'False',
          reason: e.reason,
          message: e.message,
        });
        ctx.conditions.set(key, {
          type: 'Skipped',
          status: 'True',
          reason: e.reason,
          message: e.message,
        });
        // The cache already recorded the InvalidSpec Warning (same message): not twice.
        if (e.reason !== CacheReasons.InvalidSpec) {
          ctx.recorder.event(key, 'Warning', e.reason, e.message);
        }
      } else {
        log.info(e.state === 'Removed' ? 'plan.removed' : 'plan.orphaned', {
          plan_id: e.planId,
          reason: e.reason,
          changed: e.changed,
        });
        if (e.state === 'Removed' && result.written) {
          ctx.recorder.event(key, 'Normal', 'PlanRemoved', e.message);
        }
      }
    }
    if (result.written) this.#orphans.removed(remove);
    for (const w of result.warnings) {
      log.warn('config.warning', { config: opts.configPath, warning: w });
      if (result.written) ctx.recorder.event(this.configKey, 'Warning', 'ConfigWarning', w);
    }

    const summary: ReconcileSummary = {
      ...summaryBase,
      seen: workloads.length + invalid.length,
      entries,
      changed: result.changed,
      written: result.written,
      diff: result.diff,
      after: result.after,
      finishedAt: new Date(ctx.clock.now()).toISOString(),
    };
    if (dryRun) {
      log.info('dry-run.complete', {
        plans_seen: workloads.length + invalid.length,
        plans_changed: entries.filter((e) => e.changed).length,
        plans_skipped: built.skipped.length + invalid.length,
        config: opts.configPath,
        changed: result.changed,
      });
    } else if (result.written) {
      log.info('config.written', {
        config: opts.configPath,
        changed: true,
        plans: built.plans.length,
        removed: remove.length,
        merged: result.merged,
        backup: result.backupPath,
      });
      ctx.recorder.event(this.configKey, 'Normal', 'ConfigWritten', `wrote ${opts.configPath}`);
    } else {
      log.info('config.unchanged', {
        config: opts.configPath,
        changed: false,
        plans: built.plans.length,
      });
    }
    this.#report.record(summary);
    this.#outcomes.record(perKey);

    // The apply worker (controller `backrest-apply`) takes it from here; a write never waits
    // for a restart. One-shot: it runs after this controller, before the CLI reads the report.
    if (result.written) this.#apply.written(result.before, result.after);

    if (daemon && orphanDecision.nextInMs !== undefined) {
      return { requeueAfter: orphanDecision.nextInMs };
    }
    // Settled: the next reconcile with the same inputs and an untouched store can be skipped.
    // Not when something is pending (an orphan removal a dry run or a failure did not write).
    if (
      inputs !== undefined &&
      orphanDecision.remove.length === 0 &&
      this.#apply.refused === undefined
    ) {
      const revision = await this.#store.revision?.().catch(() => undefined);
      if (revision !== undefined) this.#settled = `${inputs}\n${revision}`;
    }
  }
}

/**
 * What a plan reconcile reads from the cache, compactly: each selected workload's name, uid and
 * resourceVersion (its source bumps the version whenever anything in it changes) and each refused
 * one's content. Equal fingerprints, equal plans.
 */
function inputsFingerprint(
  resources: readonly Resource[],
  rejected: readonly RejectedResource[],
): string {
  const parts = resources.map(
    (r) => `${r.metadata.name}\0${r.metadata.uid}\0${r.metadata.resourceVersion}`,
  );
  parts.sort();
  for (const r of rejected) {
    parts.push(JSON.stringify([r.key, r.reason, r.message, r.labels ?? null, r.status ?? null]));
  }
  return parts.join('\n');
}

/**
 * The id a refused workload would have had (`planIdFor` on the status its source delivered), or
 * its container name when there is no usable status (a source refused it before decoding).
 */
function wouldBePlanId(r: RejectedResource, prefix: string): string {
  const status = r.status as Partial<WorkloadIdentity> | undefined;
  if (status && typeof status.name === 'string') {
    try {
      return planIdFor(status as WorkloadIdentity, { prefix });
    } catch {
      // malformed compose info: fall back to the name
    }
  }
  return r.name;
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
