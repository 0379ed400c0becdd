import type { WorkloadStatus } from '@backrest-sidecar/api';
import { registeredGauge, type MetricsRegistry } from '@dockop/runtime';
import type { Gauge } from 'prom-client';

/** Every metric name BackupMetrics registers (docs/deploy.md lists them; a test checks). */
export const BACKUP_METRIC_NAMES = [
  'backrest_sidecar_workload_last_success_timestamp_seconds',
  'backrest_sidecar_workload_snapshots',
  'backrest_sidecar_workload_stale',
  'backrest_sidecar_uncovered_volumes',
] as const;

/**
 * The backup controller's per-workload gauges (label `workload`: the container name) and the
 * host's coverage. Series of a workload that went away are removed (`forget`).
 */
export class BackupMetrics {
  readonly lastSuccess: Gauge<'workload'>;
  readonly snapshots: Gauge<'workload'>;
  readonly stale: Gauge<'workload'>;
  readonly uncoveredVolumes: Gauge;

  constructor(registry?: MetricsRegistry) {
    this.lastSuccess = registeredGauge(registry, {
      name: 'backrest_sidecar_workload_last_success_timestamp_seconds',
      help: 'Unix time of the workload’s last successful snapshot (absent before the first)',
      labelNames: ['workload'],
    });
    this.snapshots = registeredGauge(registry, {
      name: 'backrest_sidecar_workload_snapshots',
      help: 'Snapshots of the workload in the repository (ours and Backrest’s from its plan), as last listed',
      labelNames: ['workload'],
    });
    this.stale = registeredGauge(registry, {
      name: 'backrest_sidecar_workload_stale',
      help: '1 when the workload had no successful backup within its window (2 × schedule period, or 26 h under Backrest)',
      labelNames: ['workload'],
    });
    this.uncoveredVolumes = registeredGauge(registry, {
      name: 'backrest_sidecar_uncovered_volumes',
      help: 'Volumes and bind mounts of running containers that no plan covers (get volumes lists them)',
    });
  }

  /** Sets the workload's series from its status. */
  observe(status: WorkloadStatus): void {
    const labels = { workload: status.name };
    const last = status.lastBackup ? Date.parse(status.lastBackup.time) : NaN;
    if (Number.isFinite(last)) this.lastSuccess.set(labels, last / 1000);
    if (status.snapshots) this.snapshots.set(labels, status.snapshots.count);
    const stale = status.conditions.find((c) => c.type === 'Stale');
    if (stale) this.stale.set(labels, stale.status === 'True' ? 1 : 0);
  }

  forget(name: string): void {
    for (const g of [this.lastSuccess, this.snapshots, this.stale]) g.remove({ workload: name });
  }
}
