import {
  ConditionStore,
  EventRecorder,
  MemoryLogStream,
  ResourceDefinition,
  Source,
  VirtualClock,
  createManager,
  flushMicrotasks,
  type Condition,
  type Controller,
  type LogLevel,
  type Manager,
  type ManagerOptions,
  type RecordedEvent,
  type ResourceKey,
} from '@dockop/runtime';
import { ContainerModule } from 'inversify';
import { FakeDockerSource, type FakeDockerSourceOptions } from './fake-docker-source.js';

export interface TestManagerOptions {
  /** Your plugin's modules (and whatever else it needs). Default none. */
  modules?: ContainerModule[];
  /** Default: `new VirtualClock()` (2026-01-01T00:00:00Z). */
  clock?: VirtualClock;
  /** Lowest level kept by `logs()`. Default `debug`. */
  logLevel?: LogLevel;
  /** Options of the fake Docker source (recreateGraceMs 2000, trustImageLabels false, maxLabelBytes 4096). */
  docker?: Omit<FakeDockerSourceOptions, 'clock' | 'definitions' | 'recorder'>;
  /** More manager options (gracefulShutdownMs, ...). `clock` and `logger` are the kit's. */
  manager?: Omit<ManagerOptions, 'clock' | 'logger' | 'container'>;
  /**
   * Real-time bound (ms) on waiting for the controllers to go idle; a reconcile still in flight
   * then fails the call naming its key. Not a timing assertion: a guard against a hung test.
   * Default 10000.
   */
  settleTimeoutMs?: number;
}

/**
 * A manager for unit tests: a VirtualClock, logs in memory, and a `FakeDockerSource` instead of
 * Docker. Controllers run as in production (work queue, workers, retries, debounce), but time
 * moves only through `advance`, and `reconcileAll`/`settle` return once every controller is idle.
 */
export class TestManager {
  readonly manager: Manager;
  readonly clock: VirtualClock;
  /** The fake engine: `run`, `stop`, `remove`, `relabel` containers. */
  readonly docker: FakeDockerSource;
  readonly #logs = new MemoryLogStream();
  readonly #settleTimeoutMs: number;
  #started: Promise<void> | undefined;

  constructor(options: TestManagerOptions = {}) {
    this.clock = options.clock ?? new VirtualClock();
    this.#settleTimeoutMs = options.settleTimeoutMs ?? 10_000;
    this.manager = createManager({
      ...options.manager,
      clock: this.clock,
      logger: { level: options.logLevel ?? 'debug', format: 'json', stream: this.#logs.writable },
    });
    // Definitions and recorder are read late: they exist once the runtime's defaults are bound.
    this.docker = new FakeDockerSource({
      ...options.docker,
      clock: this.clock,
      definitions: () => this.manager.getAll<ResourceDefinition>(ResourceDefinition),
      recorder: () => this.manager.get<EventRecorder>(EventRecorder),
    });
    const fake = this.docker;
    this.manager.load(
      ...(options.modules ?? []),
      new ContainerModule((o) => {
        o.bind<Source>(Source).toConstantValue(fake);
      }),
    );
  }

  /** Starts the manager (sources synced, controllers running) and settles. Idempotent. */
  async start(): Promise<void> {
    await this.#ensureStarted();
    await this.settle();
  }

  #ensureStarted(): Promise<void> {
    this.#started ??= this.manager.start();
    return this.#started;
  }

  /** The running controllers (empty before `start`). */
  get controllers(): readonly Controller[] {
    return this.manager.controllers;
  }

  /**
   * Run once: start if needed, enqueue every known key of every controller (as a resync would),
   * then wait until all queues are empty and nothing is in flight. Debounced keys are flushed at
   * once; keys waiting for `requeueAfter` or retry backoff stay waiting until `advance`.
   */
  async reconcileAll(): Promise<void> {
    // Starting enqueues every known key already.
    const fresh = this.#started === undefined;
    await this.start();
    if (fresh) return;
    for (const c of this.manager.controllers) c.enqueueAll();
    await this.settle();
  }

  /** Wait until the keys already queued (by container changes) are reconciled. */
  async settle(): Promise<void> {
    const deadline = Date.now() + this.#settleTimeoutMs;
    let idleTurns = 0;
    // Two idle turns in a row: a reconcile finishing may queue work for another controller.
    while (idleTurns < 2) {
      await flushMicrotasks();
      let busy = false;
      for (const c of this.manager.controllers) {
        c.queue.flushDebounced();
        if (c.queue.len() > 0 || c.queue.processingCount() > 0) busy = true;
      }
      idleTurns = busy ? 0 : idleTurns + 1;
      if (busy && Date.now() > deadline) {
        const stuck = this.manager.controllers
          .filter((c) => c.queue.processingCount() > 0 || c.queue.len() > 0)
          .map(
            (c) => `${c.name} (queued ${c.queue.len()}, in flight ${c.queue.processingCount()})`,
          );
        throw new Error(
          `controllers not idle after ${this.#settleTimeoutMs} ms of real time: ${stuck.join(', ')}; ` +
            'a reconcile waiting on the virtual clock needs advance()',
        );
      }
    }
  }

  /**
   * Move virtual time forward by `ms`, one due timer at a time, settling after each, so retries,
   * `requeueAfter`, debounce and the recreate grace period run at their own virtual times.
   */
  async advance(ms: number): Promise<void> {
    if (!(ms >= 0)) throw new RangeError(`advance: ms must be >= 0, got ${ms}`);
    // No settle first: what is in flight may be waiting for exactly this time.
    await this.#ensureStarted();
    const target = this.clock.now() + ms;
    for (;;) {
      const due = this.clock.nextDue();
      if (due === undefined || due > target) break;
      await this.clock.advanceAsync(Math.max(0, due - this.clock.now()));
      await this.settle();
    }
    await this.clock.advanceAsync(target - this.clock.now());
    await this.settle();
  }

  /** Events of one key (oldest first), or every event. */
  events(key?: ResourceKey): RecordedEvent[] {
    const recorder = this.manager.get<EventRecorder>(EventRecorder);
    return key === undefined ? recorder.all() : recorder.list(key);
  }

  /** Conditions of one key. */
  conditions(key: ResourceKey): Condition[] {
    return this.manager.get<ConditionStore>(ConditionStore).list(key);
  }

  /** One condition of a key, or undefined. */
  condition(key: ResourceKey, type: string): Condition | undefined {
    return this.manager.get<ConditionStore>(ConditionStore).get(key, type);
  }

  /** Every log line so far, parsed (`time`, `level`, `action`, `controller`, `key`, ...). */
  logs(): Record<string, unknown>[] {
    return this.#logs.lines;
  }

  /** A service of the manager's container (runtime defaults bound on first use). */
  get<T>(token: symbol): T {
    return this.manager.get<T>(token);
  }

  /**
   * Graceful stop: in-flight reconciles finish; one waiting on the virtual clock is aborted once
   * the graceful period (`gracefulShutdownMs`, default 30000) has passed in virtual time. Safe to
   * call when never started, and more than once.
   */
  async stop(): Promise<void> {
    await this.#started?.catch(() => undefined);
    let done = false;
    const stopping = this.manager.stop('test finished').finally(() => (done = true));
    while (!done) {
      await flushMicrotasks();
      const due = this.clock.nextDue();
      if (!done && due !== undefined) this.clock.advance(Math.max(0, due - this.clock.now()));
    }
    await stopping;
  }
}

export function createTestManager(options: TestManagerOptions = {}): TestManager {
  return new TestManager(options);
}
