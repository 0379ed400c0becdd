import type { WorkloadForgetResult } from '@backrest-sidecar/api';
import { registeredGauge, type MetricsRegistry } from '@dockop/runtime';
import type { Gauge } from 'prom-client';

/** Every metric name RetentionMetrics registers (docs/deploy.md lists them; a test checks). */
export const RETENTION_METRIC_NAMES = [
  'backrest_sidecar_workload_retention_satisfied',
  'backrest_sidecar_workload_retention_last_applied_timestamp_seconds',
] as const;

/**
 * The retention controller's per-workload gauges (label `workload`: the container name):
 * whether its last pass brought it to its policy, and when a pass last applied it. Alert on
 * `… _retention_satisfied == 0` (a policy that no longer applies: a failing forget, an invalid
 * or untrusted label, snapshots that match nothing).
 */
export class RetentionMetrics {
  readonly satisfied: Gauge<'workload'>;
  readonly lastApplied: Gauge<'workload'>;

  constructor(registry?: MetricsRegistry) {
    this.satisfied = registeredGauge(registry, {
      name: RETENTION_METRIC_NAMES[0],
      help: 'RetentionSatisfied of the workload: 1 its last retention pass applied its backrest.keep, 0 it could not (absent: unknown, e.g. left to Backrest or rcb)',
      labelNames: ['workload'],
    });
    this.lastApplied = registeredGauge(registry, {
      name: RETENTION_METRIC_NAMES[1],
      help: 'Unix time of the last retention pass that applied the workload’s backrest.keep',
      labelNames: ['workload'],
    });
  }

  /** One pass over `workload` ended at `timeMs` with `result`. */
  observe(workload: string, result: WorkloadForgetResult, dryRun: boolean, timeMs: number): void {
    if (dryRun) return;
    const labels = { workload };
    if (result.status === 'forgotten') {
      this.satisfied.set(labels, 1);
      this.lastApplied.set(labels, timeMs / 1000);
    } else if (
      result.status === 'failed' ||
      result.status === 'invalid' ||
      result.status === 'untrusted' ||
      result.status === 'no-match'
    ) {
      this.satisfied.set(labels, 0);
    } else {
      this.satisfied.remove(labels);
    }
  }
}
