import { BACKUP_WORKLOAD_KIND } from '@backrest-sidecar/api';
import { CacheReasons, makeKey, type ReconcileContext } from '@dockop/runtime';
import type { PlanEntry } from './plan-report.js';
import type { CommitResult } from './plan-store.js';

/** One entry on one workload's key: a service's plan reports on every replica's key. */
export interface KeyedEntry {
  e: PlanEntry;
  /** The container ('' for an orphan: reported on the config's key). */
  container: string;
  /**
   * `BackupWorkload/<container>`, or `configKey` for an orphan. Made once: the report's maps and
   * the outcomes' trigger all look it up (a new key string is hashed again on every first use).
   */
  key: string;
}

export function entriesByKey(entries: readonly PlanEntry[], configKey: string): KeyedEntry[] {
  const out: KeyedEntry[] = [];
  const keyed = (e: PlanEntry, container: string): KeyedEntry => ({
    e,
    container,
    key: container ? makeKey(BACKUP_WORKLOAD_KIND, container) : configKey,
  });
  // Indexed: a for-of allocates an iterator result per entry in cold code.
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    // Most entries have one container: no one-element array (and its iterator) per entry.
    if (e.replicas) for (const container of e.replicas) out.push(keyed(e, container));
    else out.push(keyed(e, e.container));
  }
  return out;
}

export interface PlanReportingOptions {
  daemon: boolean;
  configPath: string;
  configKey: string;
}

type Ctx = Pick<ReconcileContext, 'logger' | 'recorder' | 'conditions' | 'cache'>;

/**
 * Step 5, report: per plan, its log line (`plan.rendered` / `plan.skipped` / `plan.orphaned` /
 * `plan.removed`), its conditions (`Ready`, `Skipped`) and events on the workload's key; then the
 * sink's warnings and the reconcile's own line (`dry-run.complete` / `config.written` /
 * `config.unchanged`).
 *
 * Daemon: it remembers the reason and message each workload was last skipped for. The same skip
 * again (every resync re-renders a refused workload) is logged at debug: a problem is a warning
 * once, and again only when it changes or comes back.
 */
export class PlanReporting {
  readonly #opts: PlanReportingOptions;
  readonly #skipsLogged = new Map<string, string>();

  constructor(options: PlanReportingOptions) {
    this.#opts = options;
  }

  /** Logs, conditions and events of every entry (on its workload's key, or the config's). */
  entries(perKey: readonly KeyedEntry[], result: CommitResult, ctx: Ctx): void {
    const { daemon, configPath, configKey } = this.#opts;
    const log = ctx.logger;
    // A workload gone from the entries (removed, or no longer selected): forget its last skip.
    // (None remembered, as in every one-shot run: no set of 2,000 keys to build.)
    if (this.#skipsLogged.size > 0) {
      const present = new Set(perKey.map((k) => k.key));
      for (const k of this.#skipsLogged.keys()) if (!present.has(k)) this.#skipsLogged.delete(k);
    }
    // Conditions only on a workload the cache still has (or refused): a container destroyed
    // while this render was written already had its conditions cleared by the cache, and setting
    // them again would keep them for good (one entry per destroyed container, under churn).
    let rejected: Set<string> | undefined;
    const known = (key: string): boolean => {
      if (key === configKey || ctx.cache.get(key) !== undefined) return true;
      rejected ??= new Set(ctx.cache.rejected(BACKUP_WORKLOAD_KIND).map((r) => r.key));
      return rejected.has(key);
    };
    /** `Ready` and `Skipped` of a workload the render planned or skipped, when the cache knows it. */
    const setOutcome = (key: string, planned: boolean, reason: string, message: string): void => {
      if (!known(key)) return;
      ctx.conditions.set(key, {
        type: 'Ready',
        status: planned ? 'True' : 'False',
        reason,
        message,
      });
      ctx.conditions.set(
        key,
        planned
          ? { type: 'Skipped', status: 'False', reason: 'PlanRendered', message: '' }
          : { type: 'Skipped', status: 'True', reason, message },
      );
    };
    // Indexed (and the notes only when there are some): a for-of allocates an iterator, and a
    // result per step, in cold code; a first render reports thousands of entries.
    for (let i = 0; i < perKey.length; i++) {
      const { e, container, key } = perKey[i]!;
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
        setOutcome(key, true, e.reason, e.message);
        // e.g. `@daily` written as five fields: repeated every reconcile, aggregated by the recorder.
        const notes = e.notes;
        if (notes) {
          for (const note of notes) {
            log.info('plan.note', { plan_id: e.planId, container, note });
            ctx.recorder.event(key, 'Normal', 'ScheduleTranslated', note);
          }
        }
        if (e.changed && result.written) {
          ctx.recorder.event(
            key,
            'Normal',
            'PlanWritten',
            `plan ${e.planId} written to ${configPath}`,
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
        setOutcome(key, false, e.reason, e.message);
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
  }

  /** The sink's warnings (events only when written), then the reconcile's own line. */
  outcome(
    result: CommitResult,
    counts: { dryRun: boolean; seen: number; skipped: number; plans: number; removed: number },
    entries: readonly PlanEntry[],
    ctx: Ctx,
  ): void {
    const { configPath, configKey } = this.#opts;
    const log = ctx.logger;
    for (const w of result.warnings) {
      log.warn('config.warning', { config: configPath, warning: w });
      if (result.written) ctx.recorder.event(configKey, 'Warning', 'ConfigWarning', w);
    }
    if (counts.dryRun) {
      log.info('dry-run.complete', {
        plans_seen: counts.seen,
        plans_changed: entries.filter((e) => e.changed).length,
        plans_skipped: counts.skipped,
        config: configPath,
        changed: result.changed,
      });
    } else if (result.written) {
      log.info('config.written', {
        config: configPath,
        changed: true,
        plans: counts.plans,
        removed: counts.removed,
        merged: result.merged,
        backup: result.backupPath,
      });
      ctx.recorder.event(configKey, 'Normal', 'ConfigWritten', `wrote ${configPath}`);
    } else {
      log.info('config.unchanged', {
        config: configPath,
        changed: false,
        plans: counts.plans,
      });
    }
  }
}
