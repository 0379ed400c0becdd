import {
  BACKUP_WORKLOAD_KIND,
  BackupCompletedTrigger,
  BackupReport,
  BackupRetention,
  CronError,
  RepositoryLock,
  WorkloadStatusStore,
  parseCron,
  scheduleRecord,
  type CronClock,
} from '@backrest-sidecar/api';
import {
  ContainerActions,
  DockerClient,
  HostContainerChanges,
  execInContainer,
  matchesLabelFilter,
} from '@dockop/docker';
import {
  Clock,
  KeyTrigger,
  Logger,
  MetricsRegistry,
  Redactor,
  makeKey,
  type ControllerContribution,
  type ControllerOptions,
  type LifecycleHook,
  type Resource,
  type Watch,
} from '@dockop/runtime';
import { inject, injectable, optional } from 'inversify';
import type { BackupOnceOptions } from './backup-options.js';
import type { BackupOnceReport } from './backup-result.js';
import { BackupMetrics } from './backup-metrics.js';
import {
  BACKUP_RUN_KIND,
  BackupReconciler,
  REPOSITORY_INVENTORY_KEY,
  STATUS_FILES_KIND,
  VOLUME_COVERAGE_KIND,
} from './backup-reconciler.js';
import { BACKREST_OWNED_SCHEDULE } from './backup-status.js';
import { CronTimer } from './cron-timer.js';
import { DumpReadiness } from './dump-readiness.js';

export const BackupControllerOptions = Symbol.for('backrest-sidecar.BackupControllerOptions');

export interface BackupControllerOptions {
  /**
   * `daemon` (default): scheduled runs, every workload's status, coverage, the repository
   * listing. `once` (`backup-once`): one key, `BackupRun/once`, one run with retention inline,
   * then idle; nothing else is reconciled.
   */
  mode?: 'daemon' | 'once';
  /**
   * Aborts a running backup besides the manager's stop (the one-shot command's SIGINT/SIGTERM):
   * the run still starts the quiesced containers again. Default: none.
   */
  signal?: AbortSignal;
  /**
   * `--backup-schedule`: a cron expression in Backrest's dialect (five fields, day-of-month AND
   * day-of-week; `@daily`-style descriptors are translated), so it runs when Backrest would run
   * the same expression. No schedule: no runs; the controller still keeps every workload's status
   * (Stale after 26 h, Backrest owning the schedule) and the coverage gauge.
   */
  schedule?: string;
  /** Wall clock of the schedule. Default `local` (the process's zone, as Backrest's CLOCK_LOCAL). */
  clock?: CronClock;
  /** Options of every run (each run gets a fresh run id). */
  backup: Omit<BackupOnceOptions, 'signal' | 'runId'>;
  /**
   * Look for status files another process changed (their workloads are re-evaluated), hand
   * refused workloads over as errors and recount the coverage (when a container changed) this
   * often (ms). A workload's status is otherwise re-evaluated on its events and when it would
   * turn Stale. Default 60 000.
   */
  resyncPeriodMs?: number;
  /**
   * Backrest's config (`--config`): without `backup.rcbEnvFile`, its repo entry gives the
   * repository's credentials for listing snapshots. Default: none (no periodic listing).
   */
  backrestConfig?: string;
  /** Which repo of `backrestConfig`. Default: its first. */
  backrestRepo?: string;
  /**
   * List the repository this often (ms), so snapshots Backrest made from our plans count and
   * keep their workloads from turning Stale. Default 900 000 (15 min).
   */
  inventoryPeriodMs?: number;
  /**
   * A status file stamped (mtime/ctime) this recently (ms, wall clock) when looked at is looked
   * at again on the next pass: file systems stamp times from a coarse clock, so a second write in
   * the same tick could keep the stamp. Default STATUS_STAMP_RACY_MS (2 000).
   */
  statusStampRacyMs?: number;
}

/** Where a tick of the schedule sends its key (the controller's own trigger). */
const RUN_KEY = makeKey(BACKUP_RUN_KIND, 'schedule');
/** The one run of `mode: 'once'`. */
const ONCE_KEY = makeKey(BACKUP_RUN_KIND, 'once');
const COVERAGE_KEY = makeKey(VOLUME_COVERAGE_KIND, 'host');
const INVENTORY_KEY = REPOSITORY_INVENTORY_KEY;
const STATUS_FILES_KEY = makeKey(STATUS_FILES_KIND, 'workloads');

/**
 * The backup controller: a ControllerContribution over the BackupWorkload resources of the shared
 * cache (their status: Stale, gauges) whose runs are keys of its own queue, fired by the
 * `--backup-schedule` timer (the LifecycleHook side of this class). Runs never overlap: a tick
 * that arrives while a run is still going is skipped with a warning (not queued, so a slow
 * repository cannot build a backlog). Stopping the manager aborts a running backup (the
 * reconcile's signal), which still starts the quiesced containers again.
 */
@injectable()
export class BackupController implements ControllerContribution, LifecycleHook {
  readonly name = 'backup';
  readonly watches: Watch[];
  readonly triggers: KeyTrigger[];
  readonly options: ControllerOptions;
  readonly reconciler: BackupReconciler;
  readonly #scheduleTrigger = new KeyTrigger('backup-schedule');
  readonly #requeueTrigger = new KeyTrigger('backup-requeue');
  readonly #options: BackupControllerOptions;
  readonly #clock: Clock | undefined;
  readonly #logger: Logger | undefined;
  /** The five fields run (a descriptor translated) and what the operator should be told. */
  readonly #expression: string | undefined;
  readonly #notes: string[] = [];
  #timer: CronTimer | undefined;
  #skipped = 0;

  constructor(
    @inject(ContainerActions) actions: ContainerActions,
    @inject(DockerClient) client: DockerClient,
    @inject(BackupControllerOptions) @optional() bound: BackupControllerOptions | undefined,
    @inject(Clock) @optional() clock?: Clock,
    @inject(Logger) @optional() logger?: Logger,
    @inject(Redactor) @optional() redactor?: Redactor,
    @inject(WorkloadStatusStore) @optional() status?: WorkloadStatusStore,
    @inject(MetricsRegistry) @optional() registry?: MetricsRegistry,
    @inject(BackupCompletedTrigger) @optional() completed?: KeyTrigger,
    @inject(BackupRetention) @optional() retention?: BackupRetention,
    @inject(RepositoryLock) @optional() lock?: RepositoryLock,
    @inject(BackupReport) @optional() report?: BackupReport,
    @inject(HostContainerChanges) @optional() hostChanges?: HostContainerChanges,
  ) {
    // Not bound: inert (loading the module everywhere, as every built-in is, costs nothing).
    const options: BackupControllerOptions = bound ?? { backup: {} };
    const once = options.mode === 'once';
    this.#options = options;
    this.#clock = clock;
    this.#logger = logger?.child({ component: 'backup-scheduler' });
    if (options.schedule !== undefined) {
      try {
        const parsed = parseCron(options.schedule);
        this.#expression = parsed.expression;
        this.#notes = parsed.notes;
      } catch (err) {
        if (!(err instanceof CronError)) throw err;
        throw new Error(
          `--backup-schedule "${options.schedule}" is not a valid cron expression: ${err.message}`,
          { cause: err },
        );
      }
    }
    const now = clock?.now() ?? Date.now();
    this.reconciler = new BackupReconciler({
      ...(once ? { once: true } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(report ? { report } : {}),
      actions,
      client,
      backup: options.backup,
      schedule: this.#expression
        ? scheduleRecord(
            { expression: this.#expression, ...(options.clock ? { clock: options.clock } : {}) },
            now,
          )
        : BACKREST_OWNED_SCHEDULE,
      metrics: new BackupMetrics(registry),
      ...(status ? { status } : {}),
      ...(completed ? { completed } : {}),
      ...(retention ? { retention } : {}),
      ...(lock ? { lock } : {}),
      requeue: this.#requeueTrigger,
      ...(options.backrestConfig ? { backrestConfig: options.backrestConfig } : {}),
      ...(options.backrestRepo ? { backrestRepo: options.backrestRepo } : {}),
      ...(options.inventoryPeriodMs ? { inventoryPeriodMs: options.inventoryPeriodMs } : {}),
      ...(redactor ? { redactor } : {}),
      ...(hostChanges ? { hostChanges } : {}),
      ...(options.statusStampRacyMs !== undefined
        ? { statusStampRacyMs: options.statusStampRacyMs }
        : {}),
      dumpReadiness: new DumpReadiness({
        exec: (target, argv, opts) => execInContainer(client, target, argv, opts),
        inspectEnv: async (id) => (await actions.inspect(id)).Config.Env ?? undefined,
        ...(redactor ? { redactor } : {}),
        ...(clock ? { now: () => clock.now() } : {}),
      }),
    });
    // `--selector` scopes what this sidecar manages: other workloads get no status and no events.
    const selector = options.backup.selector ?? [];
    const selected = (r: Resource) => matchesLabelFilter(r.metadata.labels, selector);
    this.watches = [
      {
        kind: BACKUP_WORKLOAD_KIND,
        ...(selector.length > 0
          ? {
              predicates: [
                {
                  create: selected,
                  update: (o: Resource, n: Resource) => selected(o) || selected(n),
                  delete: selected,
                },
              ],
            }
          : {}),
      },
    ];
    this.triggers = [this.#scheduleTrigger, this.#requeueTrigger];
    this.options = {
      // A run and the status refreshes side by side: a long backup must not hold Stale back.
      // The queue never hands one key to two workers, so runs still never overlap.
      maxConcurrentReconciles: 2,
      initialKeys: [
        COVERAGE_KEY,
        ...(status ? [STATUS_FILES_KEY] : []),
        ...(options.backup.rcbEnvFile || options.backrestConfig ? [INVENTORY_KEY] : []),
      ],
      resyncPeriodMs: options.resyncPeriodMs ?? 60_000,
      // Workload keys follow their events, files and Stale deadlines: only the aggregate keys
      // above are periodic (500 idle workloads were 500 file reads a minute).
      resyncKeys: 'initial',
    };
    if (!bound || once) {
      this.watches = [];
      this.triggers = [];
      this.options = once ? { maxConcurrentReconciles: 1, initialKeys: [ONCE_KEY] } : {};
    }
  }

  /** Ticks skipped because a run was still going. */
  get skipped(): number {
    return this.#skipped;
  }

  get lastReport(): BackupOnceReport | undefined {
    return this.reconciler.lastReport;
  }

  get busy(): boolean {
    return this.reconciler.busy;
  }

  /** The next scheduled run, while started. */
  get nextRun(): Date | undefined {
    return this.#timer?.nextRun;
  }

  onStart(): void {
    if (!this.#expression) return;
    const clock = this.#clock;
    this.#timer = new CronTimer(this.#expression, () => this.tick(), {
      ...(this.#options.clock ? { clock: this.#options.clock } : {}),
      ...(clock
        ? {
            now: () => clock.now(),
            setTimer: (fn, ms) => clock.setTimeout(fn, ms),
            clearTimer: (h) => (h as { cancel(): void }).cancel(),
          }
        : {}),
      onError: (err) =>
        this.#logger?.error('backup.tick_failed', { error: (err as Error).message }),
    });
    this.#timer.start();
    for (const note of this.#notes) {
      this.#logger?.info('backup.schedule_note', { schedule: this.#options.schedule, note });
    }
    this.#logger?.info('backup.scheduled', {
      schedule: this.#expression,
      next: this.#timer.nextRun?.toISOString(),
    });
  }

  /** One scheduled occurrence: queues a run unless one is still going. */
  tick(): void {
    if (this.reconciler.busy) {
      this.#skipped++;
      this.#logger?.warn('backup.skipped_overlap', {
        schedule: this.#options.schedule,
        reason: 'the previous backup run is still going',
      });
      return;
    }
    this.#scheduleTrigger.fire(RUN_KEY);
  }

  onStop(): void {
    this.#timer?.stop();
    this.#timer = undefined;
  }
}
