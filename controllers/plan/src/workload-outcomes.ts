import { TerminalError, type KeyTrigger, type ResourceKey } from '@dockop/runtime';
import type { PlanEntry } from './plan-report.js';

/** What the last render decided for one workload. */
type Outcome = { planned: true } | { planned: false; reason: string; message: string };

const PLANNED: Outcome = { planned: true };

/**
 * Each workload's own reconcile result. The plan set is rendered under one aggregate key (one
 * config write), so without this a workload the render skipped (id collision, no repo, labels
 * refused) would only ever be part of a *successful* reconcile. After each render, the workloads
 * whose outcome changed are handed to the controller's own trigger; their key's reconcile
 * (`check`) succeeds for a planned workload and fails, as a TerminalError, for a skipped or
 * invalid one: `controller_runtime_reconcile_total{controller="plan",result="error"}` and the
 * run-once summary count it. The render already logged the skip and recorded its event (each
 * problem once), so the error is `reported` (no second log line or event).
 */
export class WorkloadOutcomes {
  readonly #trigger: KeyTrigger | undefined;
  #current = new Map<ResourceKey, Outcome>();
  /** What each key was last handed over with: an unchanged outcome is not counted again. */
  readonly #fired = new Map<ResourceKey, string>();

  constructor(trigger?: KeyTrigger) {
    this.#trigger = trigger;
  }

  /**
   * After a render: every workload's entry (a service's plan: one per replica), on its key
   * (`BackupWorkload/<container>`; an orphan's entry, without a container, has none).
   */
  record(perKey: readonly { e: PlanEntry; container: string; key: ResourceKey }[]): void {
    const next = new Map<ResourceKey, Outcome>();
    // Indexed: a for-of allocates an iterator result per workload in cold code.
    for (let i = 0; i < perKey.length; i++) {
      const { e, container, key } = perKey[i]!;
      if (!container || (e.state !== 'Ready' && e.state !== 'Skipped')) continue;
      next.set(
        key,
        e.state === 'Ready' ? PLANNED : { planned: false, reason: e.reason, message: e.message },
      );
    }
    this.#current = next;
    for (const k of this.#fired.keys()) if (!next.has(k)) this.#fired.delete(k);
    // forEach, not for-of over entries: no [key, value] pair per workload in cold code.
    next.forEach((outcome, key) => {
      // Planned (most of them: no string built), or skipped for this reason with this message.
      const signature = outcome.planned ? '' : JSON.stringify([outcome.reason, outcome.message]);
      if (this.#fired.get(key) === signature) return;
      this.#fired.set(key, signature);
      this.#trigger?.fire(key);
    });
  }

  /** The workload key's reconcile: throws for a workload the last render did not plan. */
  check(key: ResourceKey): void {
    const outcome = this.#current.get(key);
    if (outcome && !outcome.planned) {
      throw new TerminalError(outcome.message, outcome.reason, { reported: true });
    }
  }
}
