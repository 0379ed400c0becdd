import {
  BACKUP_WORKLOAD_KIND,
  BackupCompletedTrigger,
  Labels,
  RepositoryLock,
  RetentionReport,
  WorkloadStatusStore,
} from '@backrest-sidecar/api';
import { ContainerActions, DockerClient, matchesLabelFilter } from '@dockop/docker';
import {
  MetricsRegistry,
  makeKey,
  type KeyTrigger,
  type ControllerContribution,
  type ControllerOptions,
  type Resource,
  type Watch,
} from '@dockop/runtime';
import { inject, injectable, optional } from 'inversify';
import {
  RETENTION_CONTROLLER_DEFAULTS,
  RetentionControllerOptions,
} from './retention-controller-options.js';
import { RetentionMetrics } from './retention-metrics.js';
import { RETENTION_RUN_KIND, RetentionReconciler } from './retention-reconciler.js';

/**
 * The retention controller: brings every workload's snapshots to its `backrest.keep`.
 *
 * - Daemon mode: watches the BackupWorkload resources of the shared cache (a changed keep label
 *   is reconciled at once) and the backup controller's `BackupCompletedTrigger` (each workload
 *   right after its backup); each key's reconcile decides from the persisted status whether a
 *   pass is due (at least every `periodMs`, daily by default) and requeues itself for the next.
 * - Once mode (`forget`): one key, `RetentionRun/all`, one pass over every workload.
 * - No options bound: inert (no watches, no keys), so loading the module everywhere costs nothing.
 *
 * One worker: restic's forget takes the repository's exclusive lock, two at once would fail.
 */
@injectable()
export class RetentionController implements ControllerContribution {
  readonly name = 'retention';
  readonly watches: Watch[];
  readonly triggers: KeyTrigger[];
  readonly options: ControllerOptions;
  readonly reconciler: RetentionReconciler;

  constructor(
    @inject(ContainerActions) actions: ContainerActions,
    @inject(DockerClient) client: DockerClient,
    @inject(RetentionReport) report: RetentionReport,
    @inject(RetentionControllerOptions) @optional() options?: RetentionControllerOptions,
    @inject(WorkloadStatusStore) @optional() status?: WorkloadStatusStore,
    @inject(BackupCompletedTrigger) @optional() completed?: KeyTrigger,
    @inject(RepositoryLock) @optional() lock?: RepositoryLock,
    @inject(MetricsRegistry) @optional() registry?: MetricsRegistry,
  ) {
    const opts: RetentionControllerOptions = options ?? { restic: {} };
    this.reconciler = new RetentionReconciler({
      options: opts,
      actions,
      client,
      report,
      ...(status ? { status } : {}),
      ...(lock ? { lock } : {}),
      // Only when configured: an inert controller registers no series.
      ...(options ? { metrics: new RetentionMetrics(registry) } : {}),
    });
    const mode = opts.mode ?? RETENTION_CONTROLLER_DEFAULTS.mode;
    if (!options) {
      this.watches = [];
      this.triggers = [];
      this.options = {};
    } else if (mode === 'once') {
      this.watches = [];
      this.triggers = [];
      this.options = { initialKeys: [makeKey(RETENTION_RUN_KIND, 'all')] };
    } else {
      const selector = opts.selector ?? [];
      const ours = (r: Resource) => matchesLabelFilter(r.metadata.labels, selector);
      this.watches = [
        {
          kind: BACKUP_WORKLOAD_KIND,
          predicates: [
            {
              create: ours,
              // A container's every state change is an update: only a new policy matters here.
              update: (o, n) =>
                (ours(o) || ours(n)) &&
                o.metadata.labels[Labels.keep] !== n.metadata.labels[Labels.keep],
              delete: () => false,
            },
          ],
        },
      ];
      this.triggers = completed ? [completed] : [];
      this.options = {
        maxConcurrentReconciles: 1,
        resyncPeriodMs: opts.resyncPeriodMs ?? RETENTION_CONTROLLER_DEFAULTS.resyncPeriodMs,
        // Each key requeues itself for its next due pass and the backup trigger brings the rest:
        // re-enqueuing every workload each resync cost the idle daemon a status read per
        // workload per minute (0.9 % of a core with 500 containers).
        resyncKeys: 'initial',
      };
    }
  }
}
