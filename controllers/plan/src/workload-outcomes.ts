import { TerminalError, type ReconcileContext, type ResourceKey } from '@dockop/runtime';
import type { PlanEntry } from './plan-report.js';

/**
 * Each workload's own reconcile result. The plan set is rendered under one aggregate key (one
 * config write), so without this a workload the render skipped (id collision, no repo, labels
 * refused) would only ever be part of a *successful* reconcile. After each render, the workloads
 * whose outcome changed are settled on their own key (`ctx.settle`, no queue pass: the render
 * already decided them): a success for a planned workload, a TerminalError for a skipped or
 * invalid one, so `controller_runtime_reconcile_total{controller="plan",result="error"}` and the
 * run-once summary count it. The render already logged the skip and recorded its event (each
 * problem once), so the error is `reported` (no second log line or event).
 */
export class WorkloadOutcomes {
  /**
   * What each key was last settled with ('' planned, else its reason and message): an unchanged
   * outcome is not counted again.
   */
  #settled = new Map<ResourceKey, string>();

  /**
   * After a render: every workload's entry (a service's plan: one per replica), on its key
   * (`BackupWorkload/<container>`; an orphan's entry, without a container, has none).
   */
  record(
    perKey: readonly { e: PlanEntry; container: string; key: ResourceKey }[],
    ctx: Pick<ReconcileContext, 'settle'>,
  ): void {
    const decided = new Map<ResourceKey, PlanEntry>();
    // Indexed: a for-of allocates an iterator result per workload in cold code.
    for (let i = 0; i < perKey.length; i++) {
      const { e, container, key } = perKey[i]!;
      if (container && (e.state === 'Ready' || e.state === 'Skipped')) decided.set(key, e);
    }
    const previous = this.#settled;
    const next = new Map<ResourceKey, string>();
    // forEach, not for-of over entries: no [key, value] pair per workload in cold code.
    decided.forEach((e, key) => {
      // Planned (most of them: no string built), or skipped for this reason with this message.
      const signature = e.state === 'Ready' ? '' : JSON.stringify([e.reason, e.message]);
      next.set(key, signature);
      if (previous.get(key) === signature) return;
      ctx.settle(
        key,
        e.state === 'Ready'
          ? undefined
          : new TerminalError(e.message, e.reason, { reported: true }),
      );
    });
    this.#settled = next;
  }
}
