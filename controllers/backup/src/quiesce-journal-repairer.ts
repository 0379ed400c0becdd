import { ContainerActions } from '@dockop/docker';
import { LifecycleHook, Logger } from '@dockop/runtime';
import { ContainerModule, inject, injectable, optional } from 'inversify';
import { repairQuiesceJournal, type RepairResult } from './quiesce-journal.js';

export const JournalRepairOptions = Symbol.for('backrest-sidecar.JournalRepairOptions');

export interface JournalRepairOptions {
  /** Where backup-once keeps its journal. Default `/var/lib/backrest-sidecar`. */
  stateDir?: string;
  /** Period of the repair, in ms; 0 disables it. Default 60000 (one minute). */
  intervalMs?: number;
}

export const JOURNAL_REPAIR_INTERVAL_MS = 60_000;

/**
 * The daemon's periodic journal repair. Repairing only at start is not enough: a backup-once run
 * by cron or by hand may die (kill -9, OOM) while the daemon runs on, or a repair may have found a
 * container it could not start yet, and those containers would stay stopped until the next
 * restart of the daemon. A live run's journal (this daemon's own scheduled backup included) is
 * left alone by `repairQuiesceJournal` itself. Ticks never overlap.
 */
@injectable()
export class QuiesceJournalRepairer implements LifecycleHook {
  readonly name = 'quiesce-journal-repair';
  readonly #actions: ContainerActions;
  readonly #options: JournalRepairOptions;
  readonly #logger: Logger | undefined;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<RepairResult | undefined> | undefined;

  constructor(
    @inject(ContainerActions) actions: ContainerActions,
    @inject(JournalRepairOptions) options: JournalRepairOptions,
    @inject(Logger) @optional() logger?: Logger,
  ) {
    this.#actions = actions;
    this.#options = options;
    this.#logger = logger?.child({ component: 'quiesce-repair' });
  }

  onStart(): void {
    const every = this.#options.intervalMs ?? JOURNAL_REPAIR_INTERVAL_MS;
    if (every <= 0) return;
    this.#timer = setInterval(() => void this.tick(), every);
    this.#timer.unref();
  }

  /** One repair pass (skipped while the previous one still runs). */
  async tick(): Promise<RepairResult | undefined> {
    if (this.#running) return undefined;
    this.#running = repairQuiesceJournal({
      ...(this.#options.stateDir !== undefined ? { stateDir: this.#options.stateDir } : {}),
      actions: this.#actions,
      ...(this.#logger ? { logger: this.#logger } : {}),
    }).catch((err: unknown) => {
      this.#logger?.error('quiesce.repair_failed', {
        stateDir: this.#options.stateDir,
        error: (err as Error).message,
      });
      return undefined;
    });
    try {
      return await this.#running;
    } finally {
      this.#running = undefined;
    }
  }

  async onStop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }
}

/** Binds QuiesceJournalRepairer as a LifecycleHook. Needs ContainerActions bound. */
export function journalRepairModule(options: JournalRepairOptions): ContainerModule {
  return new ContainerModule((o) => {
    o.bind<JournalRepairOptions>(JournalRepairOptions).toConstantValue(options);
    o.bind(QuiesceJournalRepairer).toSelf().inSingletonScope();
    o.bind<LifecycleHook>(LifecycleHook).toService(QuiesceJournalRepairer);
  });
}
