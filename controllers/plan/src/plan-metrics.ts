import { CacheReasons, registeredGauge, type MetricsRegistry } from '@dockop/runtime';
import type { Gauge } from 'prom-client';
import type { ReconcileSummary } from './plan-report.js';

/** The states `backrest_sidecar_plans` counts. */
export const PLAN_METRIC_STATES = ['managed', 'skipped', 'invalid', 'orphaned'] as const;

/**
 * `backrest_sidecar_plans{state}`: the plans of the last reconcile, by state: `managed` (rendered
 * into the config), `skipped` (a workload the controller could not plan: id collision, unusable
 * paths...), `invalid` (labels the schema refused), `orphaned` (ours, container gone). A skipped
 * or invalid workload is counted here, never as a managed plan.
 */
export class PlanMetrics {
  readonly plans: Gauge<'state'>;

  constructor(registry?: MetricsRegistry) {
    this.plans = registeredGauge(registry, {
      name: 'backrest_sidecar_plans',
      help: 'Plans of the last reconcile by state (managed, skipped, invalid, orphaned)',
      labelNames: ['state'],
    });
  }

  observe(summary: ReconcileSummary): void {
    if (summary.fatal) return; // nothing was decided: keep the last counts
    const counts: Record<(typeof PLAN_METRIC_STATES)[number], number> = {
      managed: 0,
      skipped: 0,
      invalid: 0,
      orphaned: 0,
    };
    for (const e of summary.entries) {
      if (e.state === 'Ready') counts.managed++;
      else if (e.state === 'Orphaned') counts.orphaned++;
      else if (e.state === 'Skipped') {
        if (e.reason === CacheReasons.InvalidSpec) counts.invalid++;
        else counts.skipped++;
      }
    }
    for (const state of PLAN_METRIC_STATES) this.plans.set({ state }, counts[state]);
  }
}
