import { Container, type ContainerModule, type ServiceIdentifier } from 'inversify';
import type { Registry } from 'prom-client';
import { Cache } from './cache.js';
import { Clock } from './clock.js';
import { ConditionStore } from './conditions.js';
import {
  Controller,
  type RunOnceOptions,
  type RunOnceSummary,
  type StopResult,
} from './controller.js';
import { ControllerContribution } from './controller-contribution.js';
import { EventRecorder } from './event-recorder.js';
import { HealthService, type HealthReport } from './health.js';
import { RuntimeHttpServer } from './http-server.js';
import { LeaderElector } from './leader-election.js';
import { HealthCheck, LifecycleHook } from './lifecycle.js';
import { Logger } from './logger.js';
import { MetricsRegistry, RuntimeMetrics } from './metrics.js';
import { ResourceCache } from './resource-cache.js';
import { ResourceDefinition } from './resource-definition.js';
import { JsonSchema, SchemaFormat, SchemaRegistry } from './schema-registry.js';
import { Source } from './source.js';
import type { ManagerOptions } from './manager-options.js';
import { importPlugin, pluginContainerModule } from './plugin-import.js';
import { createRuntimeModule } from './runtime-module.js';
import { installSignalHandlers } from './signal-handlers.js';

// The manager's parts, one file each: options (manager-options.ts), DI defaults
// (runtime-module.ts), plugin import (plugin-import.ts), signals (signal-handlers.ts); this file
// keeps the lifecycle and health. Re-exported so the package's API is unchanged.
export * from './manager-options.js';
export { createRuntimeModule } from './runtime-module.js';

export type ManagerState = 'new' | 'starting' | 'running' | 'stopping' | 'stopped';

export interface ManagerRunOnceOptions extends RunOnceOptions {
  /** Only these controllers (by name). Default: all. */
  controllers?: string[];
}

/**
 * Wires sources, cache, controllers, lifecycle hooks, health, metrics and the leader lease from an
 * inversify container (controller-runtime's Manager).
 *
 * start: sources → wait for sync (timeout) → lifecycle onStart → [lease] → controllers.
 * stop:  stop intake → drain in-flight (graceful period) → onStop hooks → stop sources.
 */
export class Manager {
  readonly container: Container;
  readonly options: ManagerOptions;
  #state: ManagerState = 'new';
  /** Set by `runOnce`: lifecycle lines go to debug. */
  #once = false;
  #defaultsLoaded = false;
  #abort = new AbortController();
  #controllers: Controller[] = [];
  #sources: Source[] = [];
  /** Sources resolved (and told to prefetch) by `prefetch`, started by #startCommon. */
  #prefetched: Source[] | undefined;
  #hooks: LifecycleHook[] = [];
  #http: RuntimeHttpServer | undefined;
  #elector: LeaderElector | undefined;
  #stopping: Promise<void> | undefined;
  #resolveDone!: () => void;
  #stopReason: string | undefined;
  /** Resolves once the manager stopped (by `stop`, a signal or a lost lease). */
  readonly done: Promise<void>;

  constructor(options: ManagerOptions = {}) {
    this.options = options;
    this.container = options.container ?? new Container();
    this.done = new Promise((resolve) => (this.#resolveDone = resolve));
  }

  get state(): ManagerState {
    return this.#state;
  }

  /** Why the manager stopped ('stop', 'SIGTERM', 'leader lease lost', ...). */
  get stopReason(): string | undefined {
    return this.#stopReason;
  }

  /** Controllers created by `start` (empty before). */
  get controllers(): readonly Controller[] {
    return this.#controllers;
  }

  /** Where the HTTP server listens, once started. */
  get httpAddress(): { host: string; port: number } | undefined {
    return this.#http?.address;
  }

  load(...modules: ContainerModule[]): this {
    if (this.#defaultsLoaded) {
      throw new Error('Manager.load: modules must be loaded before start/runOnce/get');
    }
    this.container.load(...modules);
    return this;
  }

  /**
   * Loads a plugin: a path (relative to the working directory) or package name whose default
   * export is a ContainerModule.
   */
  async loadPlugin(specifier: string): Promise<ContainerModule> {
    return this.loadPluginModule(specifier, await importPlugin(specifier));
  }

  /**
   * Loads a plugin whose module is already imported (a bundled built-in): the same checks and
   * the same loading as `loadPlugin`, without the dynamic `import()`.
   */
  loadPluginModule(specifier: string, mod: Readonly<Record<string, unknown>>): ContainerModule {
    const module = pluginContainerModule(specifier, mod);
    this.load(module);
    return module;
  }

  /** Resolve a service (runtime defaults bound on first use). */
  get<T>(token: ServiceIdentifier<T>): T {
    this.#ensureDefaults();
    return this.container.get<T>(token);
  }

  getAll<T>(token: ServiceIdentifier<T>): T[] {
    this.#ensureDefaults();
    return this.container.getAll<T>(token);
  }

  /** The manager's cache as the concrete `ResourceCache` (sinks, event handlers, rejections). */
  get cache(): ResourceCache {
    const cache = this.get<Cache>(Cache);
    if (!(cache instanceof ResourceCache)) {
      throw new Error('the Cache binding must be a ResourceCache for the manager to feed it');
    }
    return cache;
  }

  get logger(): Logger {
    return this.get<Logger>(Logger);
  }

  get clock(): Clock {
    return this.get<Clock>(Clock);
  }

  async start(): Promise<void> {
    if (this.#state !== 'new') throw new Error(`manager already ${this.#state}`);
    this.#state = 'starting';
    try {
      await this.#startCommon();
      const logger = this.logger;
      if (this.options.leaderElection) {
        // Standby until the lease is ours; start() returns at once so health endpoints answer.
        const elector = new LeaderElector(this.options.leaderElection, {
          clock: this.clock,
          logger,
        });
        this.#elector = elector;
        elector
          .run(this.#abort.signal, {
            onStartedLeading: () => {
              if (this.#state === 'running' || this.#state === 'starting') this.#startControllers();
            },
            onStoppedLeading: () => {
              void this.stop('leader lease lost');
            },
          })
          .catch((err: unknown) => {
            if (this.#abort.signal.aborted) return;
            logger.error('lease.election_failed', { error: err });
            void this.stop('leader election failed');
          });
      } else {
        this.#startControllers();
      }
      if (this.#state === 'starting') this.#state = 'running';
      logger.info('manager.started', { controllers: this.#controllers.map((c) => c.name) });
    } catch (err) {
      this.logger.error('manager.start_failed', { error: err });
      await this.stop('start failed');
      throw err;
    }
  }

  /** Graceful stop; concurrent calls share one shutdown. */
  stop(reason = 'stop'): Promise<void> {
    if (!this.#stopping) this.#stopping = this.#stop(reason);
    return this.#stopping;
  }

  /**
   * One-shot mode: start sources, wait for sync, run each controller until its queue is empty and
   * nothing is in flight, then stop. Returns one summary per controller.
   */
  async runOnce(options: ManagerRunOnceOptions = {}): Promise<RunOnceSummary[]> {
    if (this.#state !== 'new') throw new Error(`manager already ${this.#state}`);
    this.#state = 'starting';
    this.#once = true;
    const summaries: RunOnceSummary[] = [];
    let prepared: Controller[] = [];
    try {
      // Controllers are resolved and built while the sources list (a one-shot waits for the
      // engine's answer there, ~40 ms for 200 containers); they run, as documented, after sync
      // and onStart.
      await this.#startCommon(() => (prepared = this.#prepareControllers(options.controllers)));
      this.#state = 'running';
      for (const controller of prepared) {
        this.#controllers.push(controller);
        summaries.push(await controller.runOnce(options));
      }
    } finally {
      await this.stop('run once finished');
    }
    return summaries;
  }

  /**
   * Lets every source begin its first list now (`Source.prefetch`), before `runOnce`/`start`:
   * a command that has more set-up to do (ping, repair) overlaps it with the engine's answer.
   * The sources resolved here are the ones started later. Idempotent; only before start. A caller
   * that gives up before starting calls `stop`, which abandons the fetches.
   */
  prefetch(): void {
    if (this.#state !== 'new') throw new Error(`manager already ${this.#state}`);
    if (this.#prefetched) return;
    this.#prefetched = this.getAll<Source>(Source);
    for (const source of this.#prefetched) source.prefetch?.(this.#abort.signal);
  }

  /** Force a relist of every source and re-enqueue every key of every controller. */
  async resync(): Promise<void> {
    const logger = this.logger;
    logger.info('manager.resync', { sources: this.#sources.map((s) => s.name) });
    await Promise.all(
      this.#sources.map((s) =>
        s
          .resync()
          .catch((err: unknown) =>
            logger.error('manager.resync_failed', { source: s.name, error: err }),
          ),
      ),
    );
    for (const c of this.#controllers) if (c.state === 'running') c.enqueueAll();
  }

  /**
   * SIGTERM/SIGINT → graceful `stop`; a second one ends the process at once, by that signal
   * (`installSignalHandlers`). SIGHUP → `resync`.
   * Returns a function that removes the handlers.
   */
  handleSignals(proc: NodeJS.Process = process): () => void {
    return installSignalHandlers(this, proc);
  }

  /** Readiness as `/readyz` reports it. */
  readiness(): Promise<HealthReport> {
    return this.#health().readiness();
  }

  liveness(): Promise<HealthReport> {
    return this.#health().liveness();
  }

  #ensureDefaults(): void {
    if (this.#defaultsLoaded) return;
    this.#defaultsLoaded = true;
    this.container.load(createRuntimeModule(this.options));
  }

  #healthService: HealthService | undefined;
  #health(): HealthService {
    if (this.#healthService) return this.#healthService;
    const builtins: HealthCheck[] = [
      {
        name: 'sources',
        kind: 'liveness',
        check: () => {
          const bad = this.#sources.filter((s) => !s.healthy()).map((s) => s.name);
          if (bad.length) throw new Error(`unhealthy: ${bad.join(', ')}`);
          return true;
        },
      },
      {
        name: 'sources-synced',
        kind: 'readiness',
        check: () => {
          const pending = this.#sources.filter((s) => !s.hasSynced()).map((s) => s.name);
          if (pending.length) throw new Error(`not synced: ${pending.join(', ')}`);
          return this.#sources.length > 0 || this.#state === 'running' ? true : 'no sources';
        },
      },
      {
        name: 'controllers',
        kind: 'readiness',
        check: () => {
          if (this.#state !== 'running') throw new Error(`manager ${this.#state}`);
          if (this.#elector && !this.#elector.isLeader) return 'standby (not the lease holder)';
          const bad = this.#controllers.filter((c) => !c.healthy()).map((c) => c.name);
          if (bad.length) throw new Error(`workers not alive: ${bad.join(', ')}`);
          return true;
        },
      },
    ];
    this.#healthService = new HealthService({
      checks: () => [...builtins, ...this.getAll<HealthCheck>(HealthCheck)],
      clock: this.clock,
    });
    return this.#healthService;
  }

  /**
   * Start/stop lines: `info` for a long-running manager (an operator wants to see it come and go),
   * `debug` in `runOnce`, whose output is what the controllers did, not the framework's steps.
   */
  #lifecycle(action: string, fields: Record<string, unknown>, quiet = this.#once): void {
    if (quiet) this.logger.debug(action, fields);
    else this.logger.info(action, fields);
  }

  /**
   * Sources → sync → onStart. `whileSyncing` (runOnce) runs once the sources started, before the
   * wait: resolving services there overlaps the engine's answer. The hooks are resolved there too,
   * but only hooks of a manager whose sources synced get onStart and, at stop, onStop.
   */
  async #startCommon(whileSyncing?: () => void): Promise<void> {
    this.#ensureDefaults();
    const logger = this.logger;
    const clock = this.clock;

    // Extension points: formats before schemas (ajv compiles formats in), schemas before sources.
    const registry = this.get<SchemaRegistry>(SchemaRegistry);
    for (const f of this.getAll<SchemaFormat>(SchemaFormat)) registry.addFormat(f);
    for (const s of this.getAll<JsonSchema>(JsonSchema)) {
      registry.add(s);
      logger.debug('schema.registered', {
        schema: s.$id,
        precompiled: registry.isPrecompiled?.(s.$id) ?? false,
      });
    }
    const defs = this.getAll<ResourceDefinition>(ResourceDefinition);
    const kinds = new Set<string>();
    for (const d of defs) {
      if (kinds.has(d.kind)) throw new Error(`resource kind "${d.kind}" is defined twice`);
      kinds.add(d.kind);
      if (!registry.has(d.schemaId)) {
        throw new Error(
          `resource kind "${d.kind}" names schema "${d.schemaId}", which no JsonSchema binding provides`,
        );
      }
    }

    const httpOpt = this.options.http;
    if (httpOpt) {
      this.#http = new RuntimeHttpServer(httpOpt === true ? {} : httpOpt, {
        health: this.#health(),
        registry: this.get<Registry>(MetricsRegistry),
        logger,
      });
      await this.#http.start();
    }

    const cache = this.cache;
    this.#sources = this.#prefetched ?? this.getAll<Source>(Source);
    const timeoutMs = this.options.cacheSyncTimeoutMs ?? 120_000;
    const syncs = this.#sources.map((source) => {
      const sink = cache.addSource(source);
      this.#lifecycle('source.starting', { source: source.name });
      return source.start(sink, this.#abort.signal).then(
        () => this.#lifecycle('source.synced', { source: source.name }),
        (err: unknown) => {
          throw new Error(
            `source ${source.name} failed to start: ${err instanceof Error ? err.message : String(err)}`,
            {
              cause: err,
            },
          );
        },
      );
    });
    const all = Promise.all(syncs);
    // A source may reject after the timeout won (aborted on stop): that is not an unhandled error.
    all.catch(() => undefined);
    let hooks: LifecycleHook[] | undefined;
    if (whileSyncing) {
      whileSyncing();
      hooks = this.getAll<LifecycleHook>(LifecycleHook);
    }
    const timer = new AbortController();
    try {
      await Promise.race([
        all,
        clock.sleep(timeoutMs, timer.signal).then(
          () => {
            const pending = this.#sources.filter((s) => !s.hasSynced()).map((s) => s.name);
            throw new Error(`sources not synced within ${timeoutMs} ms: ${pending.join(', ')}`);
          },
          () => undefined,
        ),
      ]);
    } finally {
      timer.abort();
    }

    this.#hooks = hooks ?? this.getAll<LifecycleHook>(LifecycleHook);
    for (const hook of this.#hooks) {
      if (!hook.onStart) continue;
      logger.debug('lifecycle.start', { hook: hook.name });
      await hook.onStart(this.#abort.signal);
    }
  }

  /** The controllers `runOnce` runs (all, or the `wanted` names), built but not started. */
  #prepareControllers(wanted: readonly string[] | undefined): Controller[] {
    const contributions = this.getAll<ControllerContribution>(ControllerContribution);
    if (wanted) {
      const unknown = wanted.filter((n) => !contributions.some((c) => c.name === n));
      if (unknown.length) throw new Error(`unknown controller(s): ${unknown.join(', ')}`);
    }
    const controllers: Controller[] = [];
    for (const contribution of contributions) {
      if (wanted && !wanted.includes(contribution.name)) continue;
      if (controllers.some((c) => c.name === contribution.name)) {
        throw new Error(`two controllers are named "${contribution.name}"`);
      }
      controllers.push(this.#createController(contribution));
    }
    return controllers;
  }

  #createController(contribution: ControllerContribution): Controller {
    if (this.#controllers.some((c) => c.name === contribution.name)) {
      throw new Error(`two controllers are named "${contribution.name}"`);
    }
    return new Controller(contribution, {
      cache: this.cache,
      logger: this.logger,
      recorder: this.get<EventRecorder>(EventRecorder),
      conditions: this.get<ConditionStore>(ConditionStore),
      clock: this.clock,
      metrics: this.get<RuntimeMetrics>(RuntimeMetrics),
    });
  }

  #startControllers(): void {
    for (const contribution of this.getAll<ControllerContribution>(ControllerContribution)) {
      const controller = this.#createController(contribution);
      this.#controllers.push(controller);
      controller.start();
    }
  }

  async #stop(reason: string): Promise<void> {
    const previous = this.#state;
    this.#state = 'stopping';
    this.#stopReason = reason;
    if (!this.#defaultsLoaded) {
      this.#state = 'stopped';
      this.#resolveDone();
      return;
    }
    const logger = this.logger;
    // A manager stopped before it started (a one-shot whose set-up failed) ran nothing to report.
    const quiet = this.#once || previous === 'new';
    this.#lifecycle('manager.stopping', { reason, from: previous }, quiet);
    const graceful = this.options.gracefulShutdownMs ?? 30_000;
    const results: StopResult[] = await Promise.all(this.#controllers.map((c) => c.stop(graceful)));
    const abandoned = results.flatMap((r) => r.abandoned);
    if (abandoned.length) logger.warn('manager.shutdown_abandoned', { keys: abandoned });
    for (const hook of [...this.#hooks].reverse()) {
      if (!hook.onStop) continue;
      try {
        await hook.onStop();
      } catch (err) {
        logger.error('lifecycle.stop_failed', { hook: hook.name, error: err });
      }
    }
    await this.#elector?.release();
    this.#abort.abort(new Error(`manager stopped: ${reason}`));
    await this.#http?.stop();
    this.#state = 'stopped';
    this.#lifecycle('manager.stopped', { reason }, quiet);
    this.#resolveDone();
  }
}

export function createManager(options: ManagerOptions = {}): Manager {
  return new Manager(options);
}
