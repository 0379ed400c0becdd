import { CronError, WorkloadStatusStore, parseCron, type CronClock } from '@backrest-sidecar/api';
import { ContainerActions, DockerClient } from '@dockop/docker';
import {
  EventRecorder,
  Logger,
  MetricsRegistry,
  Redactor,
  type LifecycleHook,
} from '@dockop/runtime';
import { inject, injectable, optional } from 'inversify';
import { BackupController } from './backup-controller.js';
import { CronTimer, type CronTask } from './cron-timer.js';
import { runVerify } from './run-verify.js';
import type { VerifyOptions, VerifyReport } from './verify-options.js';
import { VerifyMetrics } from './verify-metrics.js';

export const VerifySchedulerOptions = Symbol.for('backrest-sidecar.VerifySchedulerOptions');

/** Starts a task that calls `tick` on schedule; injectable so tests drive ticks by hand. */
export type VerifyCronFactory = (
  expression: string,
  tick: () => Promise<void>,
  clock?: CronClock,
) => CronTask;

export const VerifyCronFactory = Symbol.for('backrest-sidecar.VerifyCronFactory');

const cronTimerFactory: VerifyCronFactory = (expression, tick, clock) =>
  new CronTimer(expression, tick, clock ? { clock } : {});

export interface VerifySchedulerOptions {
  /** `--verify-schedule`: Backrest's cron dialect, as `--backup-schedule`. None: the hook does nothing. */
  schedule?: string;
  /** Wall clock of the schedule. Default `local`. */
  clock?: CronClock;
  /** Options of every run (`all` is implied; each run gets a fresh run id). */
  verify: Omit<VerifyOptions, 'signal' | 'runId' | 'workloads' | 'all'>;
}

/**
 * LifecycleHook that runs `verify --all` on `--verify-schedule`. A tick is skipped (with a
 * warning) while a drill or a scheduled backup still runs: a drill's `restic check` next to a
 * backup would fail on the repository lock and report a false failure. Stopping the manager
 * aborts a running drill, which still removes its scratch volume and one-shots.
 */
@injectable()
export class VerifyScheduler implements LifecycleHook {
  readonly name = 'verify-scheduler';
  readonly #actions: ContainerActions;
  readonly #client: DockerClient;
  readonly #options: VerifySchedulerOptions;
  readonly #logger: Logger | undefined;
  readonly #recorder: EventRecorder | undefined;
  readonly #cron: VerifyCronFactory;
  readonly #redactor: Redactor | undefined;
  readonly #status: WorkloadStatusStore | undefined;
  readonly #backups: Pick<BackupController, 'busy'> | undefined;
  readonly metrics: VerifyMetrics;
  readonly #expression: string | undefined;
  #task: CronTask | undefined;
  #running: Promise<VerifyReport> | undefined;
  #abort = new AbortController();
  #last: VerifyReport | undefined;

  constructor(
    @inject(ContainerActions) actions: ContainerActions,
    @inject(DockerClient) client: DockerClient,
    @inject(VerifySchedulerOptions) options: VerifySchedulerOptions,
    @inject(Logger) @optional() logger?: Logger,
    @inject(EventRecorder) @optional() recorder?: EventRecorder,
    @inject(VerifyCronFactory) @optional() cron?: VerifyCronFactory,
    @inject(Redactor) @optional() redactor?: Redactor,
    @inject(WorkloadStatusStore) @optional() status?: WorkloadStatusStore,
    @inject(MetricsRegistry) @optional() registry?: MetricsRegistry,
    @inject(BackupController) @optional() backups?: BackupController,
  ) {
    this.#actions = actions;
    this.#client = client;
    this.#options = options;
    this.#logger = logger?.child({ component: 'verify-scheduler' });
    this.#recorder = recorder;
    this.#cron = cron ?? cronTimerFactory;
    this.#redactor = redactor;
    // Without the status module bound, drills still land in `--state-dir` (get workloads reads them).
    this.#status =
      status ??
      (options.verify.stateDir
        ? new WorkloadStatusStore({
            stateDir: options.verify.stateDir,
            ...(logger ? { logger } : {}),
            ...(redactor ? { redactor } : {}),
          })
        : undefined);
    this.#backups = backups;
    this.metrics = new VerifyMetrics(registry);
    if (options.schedule !== undefined) {
      try {
        this.#expression = parseCron(options.schedule).expression;
      } catch (err) {
        if (!(err instanceof CronError)) throw err;
        throw new Error(
          `--verify-schedule "${options.schedule}" is not a valid cron expression: ${err.message}`,
          { cause: err },
        );
      }
    }
  }

  get lastReport(): VerifyReport | undefined {
    return this.#last;
  }

  async onStart(): Promise<void> {
    // The gauge survives a restart: seeded from the status files of earlier drills.
    for (const s of (await this.#status?.list().catch(() => [])) ?? []) {
      if (s.verification?.passed) {
        this.metrics.verified(s.name, Date.parse(s.verification.time) / 1000);
      }
    }
    if (!this.#options.schedule || !this.#expression) return;
    this.#abort = new AbortController();
    const tick = () =>
      this.tick().catch((err: unknown) => {
        this.#logger?.error('verify.tick_failed', { error: (err as Error).message });
      });
    this.#task = this.#cron(this.#expression, tick, this.#options.clock);
    this.#task.start();
    this.#logger?.info('verify.scheduled', {
      schedule: this.#expression,
      ...(this.#task instanceof CronTimer ? { next: this.#task.nextRun?.toISOString() } : {}),
    });
  }

  /** One scheduled occurrence: `verify --all` unless a drill or a backup is still running. */
  async tick(): Promise<void> {
    const busy = this.#running
      ? 'the previous drill'
      : this.#backups?.busy
        ? 'a backup'
        : undefined;
    if (busy) {
      this.#logger?.warn('verify.skipped_overlap', {
        schedule: this.#options.schedule,
        reason: `${busy} is still running`,
      });
      return;
    }
    const run = runVerify(
      { ...this.#options.verify, all: true, signal: this.#abort.signal },
      {
        actions: this.#actions,
        client: this.#client,
        metrics: this.metrics,
        ...(this.#logger ? { logger: this.#logger } : {}),
        ...(this.#recorder ? { recorder: this.#recorder } : {}),
        ...(this.#redactor ? { redactor: this.#redactor } : {}),
        ...(this.#status ? { status: this.#status } : {}),
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
