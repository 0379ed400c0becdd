/**
 * The apply worker: one key per Backrest target, fired by every config write. The work queue
 * gives coalescing for free: a key is queued once however many writes fire it, and one fired
 * while its apply runs is re-queued once after it. The reconciler adds the cooldown between two
 * restarts (`requeueAfter`) and polls a busy Backrest until it is idle.
 */
import type {
  Clock,
  ReconcileContext,
  ReconcileRequest,
  ReconcileResult,
  Reconciler,
} from '@dockop/runtime';
import type { ApplyOutcome, ConfigApplier } from './apply.js';
import type { ApplyState } from './apply-state.js';
import type { PlanReport } from './plan-report.js';

export class ApplyReconciler implements Reconciler {
  readonly #applier: ConfigApplier;
  readonly #state: ApplyState;
  readonly #report: PlanReport;
  /** Event key (the aggregate config key, where the plan controller's events are). */
  readonly #eventKey: string;
  #lastApplyAt: number | undefined;

  constructor(applier: ConfigApplier, state: ApplyState, report: PlanReport, eventKey: string) {
    this.#applier = applier;
    this.#state = state;
    this.#report = report;
    this.#eventKey = eventKey;
  }

  async reconcile(_req: ReconcileRequest, ctx: ReconcileContext): Promise<ReconcileResult | void> {
    const pending = this.#state.pending();
    if (!pending) return;
    const wait = this.#cooldownLeft(ctx.clock);
    if (wait > 0) return { requeueAfter: wait };
    const started = ctx.clock.now();
    let outcome: ApplyOutcome;
    try {
      outcome = await this.#applier.apply(
        { logger: ctx.logger, recorder: ctx.recorder, key: this.#eventKey, signal: ctx.signal },
        {
          written: pending.written,
          ...(pending.good !== undefined ? { good: pending.good } : {}),
          onRollback: () => this.#state.refuse(pending.written),
        },
      );
    } catch (err) {
      const message = (err as Error).message;
      ctx.logger.error('apply.error', { error: message });
      outcome = { status: 'failed', rolledBack: false, message };
    }
    if (restarted(outcome)) this.#lastApplyAt = started;
    this.#state.settled(pending.seq, pending.written, outcome);
    this.#report.setApply(outcome);
    if (outcome.status === 'deferred') return { requeueAfter: outcome.retryAfterMs };
    // Written meanwhile: the trailing apply waits for the cooldown (the queue re-added the key).
    const left = this.#state.pending() ? this.#cooldownLeft(ctx.clock) : 0;
    if (left > 0) return { requeueAfter: left };
  }

  #cooldownLeft(clock: Clock): number {
    const cooldown = this.#applier.cooldownMs ?? 0;
    if (this.#lastApplyAt === undefined || cooldown <= 0) return 0;
    return Math.max(0, this.#lastApplyAt + cooldown - clock.now());
  }
}

function restarted(o: ApplyOutcome): boolean {
  return (o.status === 'applied' && o.restarts > 0) || o.status === 'failed';
}
