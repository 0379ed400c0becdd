import { registeredGauge, type MetricsRegistry } from '@dockop/runtime';
import type { Gauge } from 'prom-client';

/** Name of the last-verified gauge (docs/deploy.md lists it). */
export const LAST_VERIFIED_METRIC = 'backrest_sidecar_last_verified_timestamp_seconds';

/**
 * `backrest_sidecar_last_verified_timestamp_seconds{workload}`: Unix time of the workload's last
 * passed restore drill. Alert on `time() - … > 8 * 86400` with a weekly `--verify-schedule`.
 */
export class VerifyMetrics {
  readonly lastVerified: Gauge<'workload'>;

  constructor(registry?: MetricsRegistry) {
    this.lastVerified = registeredGauge(registry, {
      name: LAST_VERIFIED_METRIC,
      help: 'Unix time of the last passed restore drill (verify) of the workload',
      labelNames: ['workload'],
    });
  }

  verified(workload: string, unixSeconds: number): void {
    this.lastVerified.set({ workload }, unixSeconds);
  }
}
