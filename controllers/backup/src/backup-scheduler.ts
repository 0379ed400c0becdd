import { createTask, validate, type ScheduledTask } from 'node-cron';
import { ContainerActions, DockerClient } from '@dockop/docker';
import { EventRecorder, Logger, type LifecycleHook } from '@dockop/runtime';
import { inject, injectable, optional } from 'inversify';
import type { BackupOnceOptions } from './backup-options.js';
import type { BackupOnceReport } from './backup-result.js';
import { runBackupOnce } from './run-backup-once.js';

export const BackupSchedulerOptions = Symbol.for('backrest-sidecar.BackupSchedulerOptions');

export interface BackupSchedulerOptions {
  /** `--backup-schedule`: a node-cron expression (5 or 6 fields). No schedule: the hook does nothing. */
  schedule?: string;
  /** IANA time zone of the schedule. Default: the process's. */
  timezone?: string;
  /** Options of every run (each run gets a fresh run id). */
  backup: Omit<BackupOnceOptions, 'signal' | 'runId'>;
}

/** Starts a task that calls `tick` on schedule; injectable so tests drive ticks by hand. */
export type CronFactory = (
  expression: string,
  tick: () => Promise<void>,
  timezone?: string,
) => Pick<ScheduledTask, 'start' | 'stop' | 'destroy'>;

export const BackupCronFactory = Symbol.for('backrest-sidecar.BackupCronFactory');

export const nodeCronFactory: CronFactory = (expression, tick, timezone) =>
  createTask(expression, () => tick(), { ...(timezone ? { timezone } : {}), name: 'backup-once' });

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
  #task: Pick<ScheduledTask, 'start' | 'stop' | 'destroy'> | undefined;
  #running: Promise<BackupOnceReport> | undefined;
  #abort = new AbortController();
  #skipped = 0;
  #last: BackupOnceReport | undefined;

  constructor(
    @inject(ContainerActions) actions: ContainerActions,
    @inject(DockerClient) client: DockerClient,
    @inject(BackupSchedulerOptions) options: BackupSchedulerOptions,
    @inject(Logger) @optional() logger?: Logger,
    @inject(EventRecorder) @optional() recorder?: EventRecorder,
    @inject(BackupCronFactory) @optional() cron?: CronFactory,
  ) {
    this.#actions = actions;
    this.#client = client;
    this.#options = options;
    this.#logger = logger?.child({ component: 'backup-scheduler' });
    this.#recorder = recorder;
    this.#cron = cron ?? nodeCronFactory;
    if (options.schedule !== undefined && !validate(options.schedule)) {
      throw new Error(`--backup-schedule "${options.schedule}" is not a valid cron expression`);
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
    if (!this.#options.schedule) return;
    this.#abort = new AbortController();
    this.#task = this.#cron(this.#options.schedule, () => this.tick(), this.#options.timezone);
    void this.#task.start();
    this.#logger?.info('backup.scheduled', { schedule: this.#options.schedule });
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
    await this.#task?.stop();
    await this.#task?.destroy();
    this.#task = undefined;
    this.#abort.abort(new Error('shutting down'));
    await this.#running?.catch(() => undefined);
  }
}
