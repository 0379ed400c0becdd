import {
  BACKUP_WORKLOAD_KIND,
  WorkloadConditions,
  workloadNamesIn,
  workloadNameInCache,
  type BackupReport,
  type BackupWorkloadSpec,
  type RepositoryLock,
  type WorkloadScheduleRecord,
  type WorkloadStatus,
  type WorkloadStatusStore,
  type BackupRetention,
  repoEnvFromBackrestConfig,
} from '@backrest-sidecar/api';
import {
  matchesLabelFilter,
  type ContainerActions,
  type DockerClient,
  type HostContainerChanges,
} from '@dockop/docker';
import {
  makeKey,
  TerminalError,
  type KeyTrigger,
  type ReconcileContext,
  type ReconcileRequest,
  type ReconcileResult,
  type Reconciler,
  type Redactor,
} from '@dockop/runtime';
import type { BackupOnceOptions } from './backup-options.js';
import type { BackupOnceReport } from './backup-result.js';
import type { BackupMetrics } from './backup-metrics.js';
import { applyStale } from './backup-status.js';
import { ONE_SHOT_LABEL } from './backup-options.js';
import {
  listSnapshots,
  recordSnapshotInventory,
  snapshotsByWorkload,
} from './snapshot-inventory.js';
import {
  ContainerResticRunner,
  createResticRunner,
  resolveResticHost,
  type ResticRunner,
} from '@backrest-sidecar/restic';
import type { ContainerStatus } from '@dockop/docker';
import { runBackupOnce } from './run-backup-once.js';
import { StatusFileChanges } from './status-file-changes.js';
import { applyDumpReadiness, type DumpReadiness } from './dump-readiness.js';
import { HostContainers } from './host-containers.js';
import { volumeCoverageOf } from './volume-coverage.js';

/** Kind of the key a schedule tick enqueues: one backup run over every workload. */
export const BACKUP_RUN_KIND = 'BackupRun';
/** Kind of the key that recounts the host's volume coverage (the uncovered-volumes gauge). */
export const VOLUME_COVERAGE_KIND = 'VolumeCoverage';
/** Kind of the key that lists the repository on its own period (Backrest's runs show up there). */
export const REPOSITORY_INVENTORY_KIND = 'RepositoryInventory';
export const REPOSITORY_INVENTORY_KEY = makeKey(REPOSITORY_INVENTORY_KIND, 'repository');
/** Kind of the key that looks for status files another process changed (one `stat` when idle). */
export const STATUS_FILES_KIND = 'WorkloadStatusFiles';

export interface BackupReconcilerDeps {
  /**
   * One-shot (`backup-once`): the run's report is the command's output; no repository listing
   * and no hand-over to the retention controller afterwards (retention ran inline). Default false.
   */
  once?: boolean;
  /** Aborts a running backup besides the reconcile's own signal (the command's SIGTERM). */
  signal?: AbortSignal;
  /** Where each run's report is recorded for the CLI (the API package's token). */
  report?: BackupReport;
  actions: ContainerActions;
  client: DockerClient;
  /** Options of every run (each run gets a fresh run id and the reconcile's abort signal). */
  backup: Omit<BackupOnceOptions, 'signal' | 'runId'>;
  /** Who schedules backups: the Stale window of every workload. */
  schedule: WorkloadScheduleRecord;
  metrics: BackupMetrics;
  status?: WorkloadStatusStore;
  /** Fired with each workload key after a run (retention watches it). */
  completed?: KeyTrigger;
  /** The logger's redactor (learns the env file's secrets). */
  redactor?: Redactor;
  /**
   * The controller's own trigger (`backup-requeue`): refused workloads are handed to it on every
   * coverage pass (the cache lists only valid resources on resync), so each is reconciled, and
   * counted, as an error; so are workloads whose status file another process changed.
   */
  requeue?: KeyTrigger;
  /** Retention after each successful run (the retention controller's), when loaded. */
  retention?: BackupRetention;
  /** Held for each run: the retention controller's forget never overlaps a backup. */
  lock?: RepositoryLock;
  /**
   * Without `backup.rcbEnvFile`: Backrest's config, whose repo entry (`backrestRepo`, default its
   * first) gives the repository's credentials for the periodic listing. Default: none.
   */
  backrestConfig?: string;
  backrestRepo?: string;
  /** Period of the repository listing in ms (besides after each run). Default 15 min. */
  inventoryPeriodMs?: number;
  /** Longest requeue of a workload's status refresh, in ms. Default 1 h. */
  maxRequeueMs?: number;
  /**
   * Changes of any container on the host (the Docker source's events): the coverage is counted
   * again only after one. Default: none (every coverage pass lists the host).
   */
  hostChanges?: HostContainerChanges;
  /** See `BackupControllerOptions.statusStampRacyMs`. */
  statusStampRacyMs?: number;
  /**
   * The dump pre-check of observed workloads (`DumpReadiness`): its result is the workload's
   * `DumpReady` condition and a Warning per unmet requirement. Default: not checked.
   */
  dumpReadiness?: DumpReadiness;
}

/**
 * Three kinds of keys, one queue:
 * - `BackupRun/<schedule>`: runs backup-once (quiesce, snapshots, retention) and records every
 *   workload's outcome in its status, then hands the workloads to retention (`completed`);
 * - `BackupWorkload/<name>`: the workload's status: `Stale` on the controller's clock (requeued
 *   for the moment it would turn Stale), `BackedUp` Unknown before the first backup, gauges;
 *   a workload the cache refused is a TerminalError (counted as an error, never as a success);
 * - `VolumeCoverage/host`: the uncovered-volumes gauge; it also hands every refused workload to
 *   `requeue`, so each is reconciled (as an error) at start and on every resync. It lists the
 *   host only when a container changed since the last count (`hostChanges`);
 * - `WorkloadStatusFiles/<dir>`: hands the workloads whose status file another process changed
 *   to `requeue` (the controller's own trigger), so their gauges follow;
 * - `RepositoryInventory/repository`: lists the repository every `inventoryPeriodMs`.
 * The controller resyncs these aggregate keys only: a workload's own key follows its events, its
 * status file and its Stale deadline (`requeueAfter`), so an idle host costs next to nothing.
 */
export class BackupReconciler implements Reconciler {
  readonly #deps: BackupReconcilerDeps;
  #running = false;
  #last: BackupOnceReport | undefined;
  #runs = 0;
  /** Listing failures already warned about: one line each, not one per period. */
  readonly #warned = new Set<string>();
  readonly #files: StatusFileChanges | undefined;
  /** Every container on the host, for the coverage (kept up to date from events). */
  readonly #host: HostContainers;
  /** Clock time of the next periodic repository listing (a resync before it lists nothing). */
  #inventoryDueAt = 0;
  /** Statuses the store's write listener already followed (the object `update` returns). */
  readonly #followed = new WeakSet<WorkloadStatus>();

  constructor(deps: BackupReconcilerDeps) {
    this.#deps = deps;
    this.#host = new HostContainers(deps.actions, deps.hostChanges);
    this.#files = deps.status
      ? new StatusFileChanges(
          deps.status.dir,
          deps.statusStampRacyMs !== undefined ? { racyMs: deps.statusStampRacyMs } : {},
        )
      : undefined;
    // A write of this process (the retention controller's condition on every workload at start,
    // a run's records) is not another process's change: followed from what was written. The
    // next look used to report each one, and the first resync re-read and re-reconciled them.
    deps.status?.onWritten(async (name, status) => {
      await this.#take(name, status);
      this.#followed.add(status);
    });
  }

  /** A run is going (a tick arriving now is skipped). */
  get busy(): boolean {
    return this.#running;
  }

  get lastReport(): BackupOnceReport | undefined {
    return this.#last;
  }

  /** Runs finished since start. */
  get runs(): number {
    return this.#runs;
  }

  async reconcile(
    request: ReconcileRequest,
    ctx: ReconcileContext,
  ): Promise<ReconcileResult | void> {
    switch (request.kind) {
      case BACKUP_RUN_KIND:
        return this.#run(ctx);
      case VOLUME_COVERAGE_KIND:
        return this.#coverage(ctx);
      case BACKUP_WORKLOAD_KIND:
        return this.#refresh(request, ctx);
      case REPOSITORY_INVENTORY_KIND:
        return this.#periodicInventory(ctx);
      case STATUS_FILES_KIND:
        return this.#statusFiles(ctx);
      default:
        throw new TerminalError(`backup controller: unknown key ${request.key}`, 'UnknownKey');
    }
  }

  async #run(ctx: ReconcileContext): Promise<void> {
    const d = this.#deps;
    this.#running = true;
    let release: (() => void) | undefined;
    try {
      const signal = d.signal ? AbortSignal.any([ctx.signal, d.signal]) : ctx.signal;
      release = await d.lock?.acquire(signal);
      const report = await runBackupOnce(
        { ...d.backup, signal },
        {
          actions: d.actions,
          client: d.client,
          logger: ctx.logger,
          // One-shot: the process ends with the run; each workload's events are kept in its
          // status file, and the log says the rest (as backup-once always did).
          ...(d.once ? {} : { recorder: ctx.recorder }),
          ...(d.redactor ? { redactor: d.redactor } : {}),
          ...(d.status
            ? {
                status: d.status,
                statusSchedule: d.schedule,
                statusGenerations: new Map(
                  ctx.cache
                    .list(BACKUP_WORKLOAD_KIND)
                    .map((r) => [r.metadata.name, r.metadata.generation] as const),
                ),
              }
            : {}),
          ...(d.retention ? { retention: d.retention } : {}),
        },
      );
      this.#last = report;
      this.#runs++;
      d.report?.record(report);
      if (d.once) return;
      await this.#inventory(
        report.workloads.map((w) => w.container),
        report.resticHost,
        ctx,
      );
      for (const w of report.workloads) {
        const key = makeKey(BACKUP_WORKLOAD_KIND, w.container);
        const s = await d.status?.get(w.container).catch(() => undefined);
        if (s) d.metrics.observe(s);
        d.completed?.fire(key);
      }
    } finally {
      release?.();
      this.#running = false;
    }
  }

  /** A runner for the repository: the env file's, else Backrest's repo entry; undefined: none. */
  async #runner(): Promise<ResticRunner | undefined> {
    const d = this.#deps;
    const common = {
      ...(d.backup.resticImage ? { image: d.backup.resticImage } : {}),
      ...(d.backup.resticMounts ? { mounts: d.backup.resticMounts } : {}),
      labels: { ...d.backup.oneShotLabels, [ONE_SHOT_LABEL]: 'true' },
      ...(d.redactor ? { redactor: d.redactor } : {}),
    };
    if (d.backup.rcbEnvFile) {
      return createResticRunner(
        { kind: 'container', envFile: d.backup.rcbEnvFile, ...common },
        d.actions,
      );
    }
    if (!d.backrestConfig) return undefined;
    const { env } = await repoEnvFromBackrestConfig(d.backrestConfig, d.backrestRepo);
    return new ContainerResticRunner(d.actions, { ...common, env });
  }

  /**
   * The repository's own count of each workload's snapshots (ours by tag, Backrest's by
   * `plan:<id>`), and a newer snapshot than we recorded as the last backup (Backrest ran the
   * plan). Best effort: a failure is a warning.
   */
  async #inventory(
    names: readonly string[],
    host: string | undefined,
    ctx: ReconcileContext,
  ): Promise<void> {
    const d = this.#deps;
    if (!d.status || names.length === 0) return;
    try {
      const runner = await this.#runner();
      if (!runner) return;
      const targets = names.map((name) => {
        const status = ctx.cache.get(makeKey(BACKUP_WORKLOAD_KIND, name))?.status as
          ContainerStatus | undefined;
        return { name, ...(status?.compose ? { compose: status.compose } : {}) };
      });
      const snapshots = await listSnapshots(runner, ctx.signal);
      const written = await recordSnapshotInventory(
        d.status,
        snapshotsByWorkload(snapshots, targets, {
          ...(host ? { host } : {}),
          ...(d.backup.planIdPrefix !== undefined ? { planIdPrefix: d.backup.planIdPrefix } : {}),
        }),
      );
      // A status the listing changed was followed when it was written.
      for (const s of written) if (!this.#followed.has(s)) d.metrics.observe(s);
    } catch (err) {
      const raw = (err as Error).message;
      const error = d.redactor ? d.redactor.redactString(raw) : raw;
      if (this.#warned.has(error)) ctx.logger.debug('backup.snapshots_not_listed', { error });
      else {
        this.#warned.add(error);
        ctx.logger.warn('backup.snapshots_not_listed', { error });
      }
    }
  }

  /** Every selected workload, on the inventory period: Backrest's own runs are seen here. */
  async #periodicInventory(ctx: ReconcileContext): Promise<ReconcileResult> {
    const d = this.#deps;
    const period = d.inventoryPeriodMs ?? 15 * 60_000;
    if (this.#running) return { requeueAfter: period }; // the run lists it when it ends
    // The controller's resync hands this key over more often than the period: not due yet.
    const early = this.#inventoryDueAt - ctx.clock.now();
    if (early > 0) return { requeueAfter: early };
    this.#inventoryDueAt = ctx.clock.now() + period;
    const selected = ctx.cache
      .list(BACKUP_WORKLOAD_KIND)
      .filter((r) => matchesLabelFilter(r.metadata.labels, d.backup.selector ?? []));
    // A replicated service is one workload: listed once, by its first replica.
    const names = [...new Set(workloadNamesIn(selected).values())];
    let host: string | undefined;
    try {
      host = await resolveResticHost(d.client, d.backup.resticHost);
    } catch {
      host = undefined; // ours are then matched on tags alone
    }
    // Not while the retention controller forgets and prunes (its exclusive repository lock).
    const release = await d.lock?.acquire(ctx.signal);
    try {
      await this.#inventory(names, host, ctx);
    } finally {
      release?.();
    }
    return { requeueAfter: period };
  }

  async #coverage(ctx: ReconcileContext): Promise<ReconcileResult | void> {
    for (const r of ctx.cache.rejected(BACKUP_WORKLOAD_KIND)) {
      if (matchesLabelFilter(r.labels, this.#deps.backup.selector ?? []))
        this.#deps.requeue?.fire(r.key);
    }
    // No container on the host changed since the last count: the same containers, the same gauge.
    const host = await this.#host.current(ctx.clock.now());
    // Listed right after a change (the daemon's first count follows the events stream's connect):
    // counted again once the list shows it, not at the next resync (a list of the whole host).
    const again = host.lagMs > 0 ? { requeueAfter: host.lagMs } : undefined;
    if (!host.changed) return again;
    const rows = volumeCoverageOf(host.targets, {
      ...(this.#deps.backup.planIdPrefix !== undefined
        ? { planIdPrefix: this.#deps.backup.planIdPrefix }
        : {}),
      excludeBindMounts: this.#deps.backup.excludeBindMounts === true,
      ...(this.#deps.backup.selector ? { selector: this.#deps.backup.selector } : {}),
    });
    const uncovered = rows.filter((r) => r.state === 'Uncovered');
    this.#deps.metrics.uncoveredVolumes.set(uncovered.length);
    if (uncovered.length > 0) {
      ctx.logger.debug('coverage.uncovered', {
        volumes: uncovered.map((r) => `${r.source} (${r.users.map((u) => u.container).join(',')})`),
      });
    }
    return again;
  }

  /** Workloads whose status file changed since the last pass (another process wrote it). */
  async #statusFiles(ctx: ReconcileContext): Promise<void> {
    if (!this.#files) return;
    const selector = this.#deps.backup.selector ?? [];
    const names = ctx.cache
      .list(BACKUP_WORKLOAD_KIND)
      .filter((r) => matchesLabelFilter(r.metadata.labels, selector))
      .map((r) => r.metadata.name);
    for (const name of await this.#files.changed(names)) {
      this.#deps.requeue?.fire(makeKey(BACKUP_WORKLOAD_KIND, name));
    }
  }

  async #refresh(
    request: ReconcileRequest,
    ctx: ReconcileContext,
  ): Promise<ReconcileResult | void> {
    const d = this.#deps;
    const found = ctx.cache.get(request.key);
    // Outside --selector (a resync lists every workload): not ours to report on.
    const resource =
      found && matchesLabelFilter(found.metadata.labels, d.backup.selector ?? [])
        ? found
        : undefined;
    if (found && !resource) {
      d.metrics.forget(request.name);
      return;
    }
    // A replica of a service other than its first: the service is one workload, whose status
    // the first replica's key keeps (a second status would be a second row of `get workloads`).
    if (
      resource &&
      workloadNameInCache(ctx.cache, BACKUP_WORKLOAD_KIND, resource) !== request.name
    ) {
      d.metrics.forget(request.name);
      d.dumpReadiness?.forget(request.name);
      return;
    }
    if (!resource) {
      d.metrics.forget(request.name);
      d.dumpReadiness?.forget(request.name);
      const refused = ctx.cache.rejected(BACKUP_WORKLOAD_KIND).find((r) => r.key === request.key);
      // Not a success: nothing of this workload is backed up until its labels are fixed.
      if (refused && matchesLabelFilter(refused.labels, d.backup.selector ?? [])) {
        throw new TerminalError(refused.message, refused.reason);
      }
      return; // deleted: its status file stays, for history
    }
    // Before any backup: a dump preset's tool and credential, checked in the running container.
    const container = resource.status as ContainerStatus | undefined;
    const dump =
      d.dumpReadiness && container
        ? await d.dumpReadiness.check(
            {
              name: request.name,
              id: container.id,
              state: container.state,
              spec: resource.spec as BackupWorkloadSpec,
            },
            ctx.signal,
          )
        : undefined;
    if (dump?.changed) {
      for (const p of dump.problems) {
        ctx.logger.warn('dump.not_ready', {
          workload: request.name,
          preset: dump.preset,
          error: p,
        });
        ctx.recorder.event(request.key, 'Warning', 'DumpNotReady', p);
      }
    }
    if (!d.status) return;
    const status = await d.status.update(request.name, (s) => {
      if (dump) applyDumpReadiness(d.status!, s, dump);
      s.observedGeneration = resource.metadata.generation;
      s.schedule = d.schedule;
      if (!s.conditions.some((c) => c.type === WorkloadConditions.BackedUp)) {
        d.status!.applyCondition(s, {
          type: WorkloadConditions.BackedUp,
          status: 'Unknown',
          reason: 'NoBackupYet',
          message: 'no backup of this workload has been recorded yet',
        });
      }
      applyStale(d.status!, s);
    });
    // Written: the write listener followed it. Unchanged: its stamp and gauges are taken here.
    if (!this.#followed.has(status)) await this.#take(request.name, status);
    const stale = status.conditions.find((c) => c.type === WorkloadConditions.Stale);
    // Re-evaluated at least this often: its dump pre-check is due again after an hour, and a
    // Stale workload's message tells how long ago its last backup was.
    const longest = d.maxRequeueMs ?? 3_600_000;
    if (stale?.status === 'True') return { requeueAfter: longest };
    // Re-evaluate when it would turn Stale (a backup meanwhile refreshes it anyway).
    const last = status.lastBackup ? Date.parse(status.lastBackup.time) : NaN;
    const since = Number.isFinite(last) ? last : Date.parse(status.firstSeen);
    const due = since + d.schedule.staleAfterMs - ctx.clock.now();
    return { requeueAfter: Math.min(Math.max(due, 0) + 1000, longest) };
  }

  /** A workload's status file as it is now: its stamp recorded (not another process's), followed. */
  async #take(name: string, status: WorkloadStatus): Promise<void> {
    await this.#files?.record(name);
    this.#follow(status);
  }

  /** The gauges follow a workload's status as read or written now. */
  #follow(status: WorkloadStatus): void {
    const d = this.#deps;
    d.metrics.observe(status);
    // Retention removed snapshots since the repository was last listed: the counts are behind.
    if ((d.backup.rcbEnvFile || d.backrestConfig) && removedSinceListing(status)) {
      this.#inventoryDueAt = 0;
      d.requeue?.fire(REPOSITORY_INVENTORY_KEY);
    }
  }
}

/** A retention pass removed snapshots after the repository listing the status counts from. */
function removedSinceListing(s: WorkloadStatus): boolean {
  const r = s.retention;
  if (!r || r.dryRun || r.removed === 0) return false;
  const listed = s.snapshots ? Date.parse(s.snapshots.observedAt) : NaN;
  return !(Date.parse(r.time) <= listed);
}
