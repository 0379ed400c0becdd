import { BACKUP_WORKLOAD_KIND } from '@backrest-sidecar/api';
import {
  makeKey,
  type ControllerContribution,
  type ControllerOptions,
  type Resource,
  type Watch,
} from '@dockop/runtime';
import { inject, injectable } from 'inversify';
import { ApplyState } from './apply-state.js';
import {
  CONFIG_KIND,
  PLAN_CONTROLLER_DEFAULTS,
  PlanControllerOptions,
} from './plan-controller-options.js';
import { PlanReconciler } from './plan-reconciler.js';
import { PlanReport } from './plan-report.js';
import { PlanStore } from './plan-store.js';

/**
 * BackupWorkloads → Backrest plans. Written only against the runtime's public contribution API,
 * exactly as a plugin would be: it watches one kind and maps every event to one aggregate key
 * (a daemon following events; otherwise that key is reconciled at start and on every resync).
 */
@injectable()
export class PlanController implements ControllerContribution {
  readonly name = 'plan';
  readonly watches: Watch[];
  readonly options: ControllerOptions;
  readonly reconciler: PlanReconciler;

  constructor(
    @inject(PlanControllerOptions) options: PlanControllerOptions,
    @inject(PlanStore) store: PlanStore,
    @inject(ApplyState) apply: ApplyState,
    @inject(PlanReport) report: PlanReport,
  ) {
    const key = makeKey(CONFIG_KIND, options.configPath);
    const daemon = (options.mode ?? PLAN_CONTROLLER_DEFAULTS.mode) === 'daemon';
    // One-shot: exactly one reconcile of the synced cache (the initial key). Events arriving
    // meanwhile (other containers on the host, our own Backrest restart) must not start more.
    const events = daemon && options.watchEvents !== false;
    // `--selector` scopes the plans: a container outside it changes nothing in the config, so
    // its events must not re-render every plan (other stacks' churn on a shared host). Same test
    // as the reconciler's; an update counts if either version is selected (labels moved in/out).
    const selector = Object.entries(options.selector ?? {});
    const selected = (r: Resource) => selector.every(([k, v]) => r.metadata.labels?.[k] === v);
    const predicates =
      selector.length > 0
        ? [
            {
              create: selected,
              update: (o: Resource, n: Resource) => selected(o) || selected(n),
              delete: selected,
            },
          ]
        : [];
    // Without events nothing to watch: the initial key (and the resync) reconcile the synced
    // cache. A watch filtering every event would still map each workload to that same key on
    // every pass: a one-shot listed, sorted and mapped its 2,000 workloads for nothing.
    this.watches = events ? [{ kind: BACKUP_WORKLOAD_KIND, map: () => [key], predicates }] : [];
    this.options = {
      maxConcurrentReconciles: 1,
      // Reconciled at start even with no workload, so orphans are seen and --prune works.
      initialKeys: [key],
      ...(daemon ? { debounce: options.debounce ?? { ...PLAN_CONTROLLER_DEFAULTS.debounce } } : {}),
      ...(options.resyncPeriodMs ? { resyncPeriodMs: options.resyncPeriodMs } : {}),
    };
    this.reconciler = new PlanReconciler(options, store, apply, report);
  }
}
