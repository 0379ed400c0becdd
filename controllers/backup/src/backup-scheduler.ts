import { BackupRetention, CronError, parseCron, type CronClock } from '@backrest-sidecar/api';
import { ContainerActions, DockerClient } from '@dockop/docker';
import { EventRecorder, Logger, Redactor, type LifecycleHook } from '@dockop/runtime';
import { inject, injectable, optional } from 'inversify';
import type { BackupOnceOptions } from './backup-options.js';
import type { BackupOnceReport } from './backup-result.js';
import { CronTimer, type CronTask } from './cron-timer.js';
import { runBackupOnce } from './run-backup-once.js';

export const BackupSchedulerOptions = Symbol.for('backrest-sidecar.BackupSchedulerOptions');

export interface BackupSchedulerOptions {
  /**
   * `--backup-schedule`: a cron expression in Backrest's dialect (five fields, day-of-month AND
   * day-of-week; `@daily`-style descriptors are translated), so it runs when Backrest would run
   * the same expression. No schedule: the hook does nothing.
   */
  schedule?: string;
  /** Wall clock of the schedule. Default `local` (the process's zone, as Backrest's CLOCK_LOCAL). */
  clock?: CronClock;
  /** Options of every run (each run gets a fresh run id). */
  backup: Omit<BackupOnceOptions, 'signal' | 'runId'>;
}

/** Starts a task that calls `tick` on schedule; injectable so tests drive ticks by hand. */
export type CronFactory = (
  expression: string,
  tick: () => Promise<void>,
  clock?: CronClock,
) => CronTask;

export const BackupCronFactory = Symbol.for('backrest-sidecar.BackupCronFactory');

export const cronTimerFactory: CronFactory = (expression, tick, clock) =>
  new CronTimer(expression, tick, clock ? { clock } : {});

/**
 * LifecycleHook that runs backup-once on `--backup-schedule`. Runs never overlap: a tick that
 * arrives while a run is still going is skipped with a warning (not queued, so a slow repository
 * cannot build a backlog). Stopping the manager aborts a running backup, which still starts the
 * quiesced containers again before `onStop` returns.
 */
@injectable()
export class BackupScheduler implements LifecycleHook {
  readonly name = 'backup-scheduler';
  readonly #actions: ContainerActions;
  readonly #client: DockerClient;
  readonly #options: BackupSchedulerOptions;
  readonly #logger: Logger | undefined;
  readonly #recorder: EventRecorder | undefined;
  readonly #cron: CronFactory;
  readonly #redactor: Redactor | undefined;
  #task: CronTask | undefined;
  /** The five fields run (a descriptor translated) and what the operator should be told. */
  readonly #expression: string | undefined;
  readonly #notes: string[] = [];
  #running: Promise<BackupOnceReport> | undefined;
  #abort = new AbortController();
  #skipped = 0;
  #last: BackupOnceReport | undefined;
  readonly #retention: BackupRetention | undefined;

  constructor(
    @inject(ContainerActions) actions: ContainerActions,
    @inject(DockerClient) client: DockerClient,
    @inject(BackupSchedulerOptions) options: BackupSchedulerOptions,
    @inject(Logger) @optional() logger?: Logger,
    @inject(EventRecorder) @optional() recorder?: EventRecorder,
    @inject(BackupCronFactory) @optional() cron?: CronFactory,
    @inject(Redactor) @optional() redactor?: Redactor,
    @inject(BackupRetention) @optional() retention?: BackupRetention,
  ) {
    this.#redactor = redactor;
    this.#retention = retention;
    this.#actions = actions;
    this.#client = client;
    this.#options = options;
    this.#logger = logger?.child({ component: 'backup-scheduler' });
    this.#recorder = recorder;
    this.#cron = cron ?? cronTimerFactory;
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
  }

  /** Ticks skipped because a run was still going. */
  get skipped(): number {
    return this.#skipped;
  }

  get lastReport(): BackupOnceReport | undefined {
    return this.#last;
  }

  get busy(): boolean {
    return this.#running !== undefined;
  }

  onStart(): void {
    if (!this.#options.schedule || !this.#expression) return;
    this.#abort = new AbortController();
    const tick = () =>
      this.tick().catch((err: unknown) => {
        this.#logger?.error('backup.tick_failed', { error: (err as Error).message });
      });
    this.#task = this.#cron(this.#expression, tick, this.#options.clock);
    this.#task.start();
    for (const note of this.#notes) {
      this.#logger?.info('backup.schedule_note', { schedule: this.#options.schedule, note });
    }
    this.#logger?.info('backup.scheduled', {
      schedule: this.#expression,
      ...(this.#task instanceof CronTimer ? { next: this.#task.nextRun?.toISOString() } : {}),
    });
  }

  /** One scheduled occurrence: runs backup-once unless a run is still going. */
  async tick(): Promise<void> {
    if (this.#running) {
      this.#skipped++;
      this.#logger?.warn('backup.skipped_overlap', {
        schedule: this.#options.schedule,
        reason: 'the previous backup-once is still running',
      });
      return;
    }
    const run = runBackupOnce(
      { ...this.#options.backup, signal: this.#abort.signal },
      {
        actions: this.#actions,
        client: this.#client,
        ...(this.#logger ? { logger: this.#logger } : {}),
        ...(this.#recorder ? { recorder: this.#recorder } : {}),
        // The logger's redactor: the env file's secrets are then masked in every daemon log line.
        ...(this.#redactor ? { redactor: this.#redactor } : {}),
        ...(this.#retention ? { retention: this.#retention } : {}),
      },
    );
    this.#running = run;
    try {
      this.#last = await run;
    } finally {
      this.#running = undefined;
    }
  }

  async onStop(): Promise<void> {
    this.#task?.stop();
    this.#task?.destroy();
    this.#task = undefined;
    this.#abort.abort(new Error('shutting down'));
    await this.#running?.catch(() => undefined);
  }
}
