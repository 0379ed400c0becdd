import type { ControllerContribution, ControllerOptions, Watch } from '@dockop/runtime';
import type { ConfigApplier } from './apply.js';
import { ApplyReconciler } from './apply-reconciler.js';
import type { ApplyState } from './apply-state.js';
import type { PlanReport } from './plan-report.js';

export interface ApplyControllerOptions {
  /**
   * Merge writes into one apply: quiet period and upper bound (ms) from the first write of a
   * burst. Default 5000 / 60000: a burst of container starts (a hundred `docker run` take tens of
   * seconds on a busy host) gets one restart; the plans are on disk long before it.
   */
  debounce?: { quietMs: number; maxWaitMs: number };
}

export const APPLY_CONTROLLER_DEFAULTS = {
  debounce: { quietMs: 5_000, maxWaitMs: 60_000 },
} as const;

/**
 * `backrest-apply`: the apply worker as a controller, so its queue depth, retries and reconcile
 * times show in the same metrics as every controller. It watches no resource kind: the plan
 * controller fires its key (`BackrestTarget/<target>`) after each write.
 */
export class ApplyController implements ControllerContribution {
  readonly name = 'backrest-apply';
  readonly watches: Watch[] = [];
  readonly triggers;
  readonly options: ControllerOptions;
  readonly reconciler: ApplyReconciler;

  constructor(
    applier: ConfigApplier,
    state: ApplyState,
    report: PlanReport,
    eventKey: string,
    options: ApplyControllerOptions = {},
  ) {
    this.triggers = [state.trigger];
    this.options = {
      maxConcurrentReconciles: 1,
      debounce: { ...(options.debounce ?? APPLY_CONTROLLER_DEFAULTS.debounce) },
    };
    this.reconciler = new ApplyReconciler(applier, state, report, eventKey);
  }
}
