import {
  ContainerResourceTracker,
  ImageLabelTrust,
  type ContainerResource,
  type DockerClient,
} from '@dockop/docker';
import type {
  Clock,
  EventRecorder,
  ResourceDefinition,
  ResourceSink,
  Source,
} from '@dockop/runtime';
import {
  fakeContainerId,
  fakeImageId,
  observeFake,
  DEFAULT_FAKE_IMAGE,
  type FakeContainer,
  type FakeContainerRecord,
} from './fake-container.js';

export interface FakeDockerSourceOptions {
  /** The kinds to serve; a function is read at `start` (after every module is loaded). Default none. */
  definitions?: ResourceDefinition[] | (() => ResourceDefinition[]);
  /** Drives the recreate grace period. Required: pass the test's VirtualClock. */
  clock: Clock;
  /** Receives `UntrustedImageLabel` warnings; a function is read when one is recorded. Default none. */
  recorder?: EventRecorder | (() => EventRecorder | undefined);
  /** Source name (logs, cache ownership). Default `docker`, like the real one. */
  name?: string;
  /** As `DockerSourceOptions.recreateGraceMs`. Default 2000 (the real default). */
  recreateGraceMs?: number;
  /** As `DockerSourceOptions.trustImageLabels`. Default false. */
  trustImageLabels?: boolean;
  /** As `DockerSourceOptions.maxLabelBytes`. Default 4096. */
  maxLabelBytes?: number;
}

/**
 * A Docker `Source` without Docker: tests `run`, `stop`, `remove` and `relabel` containers, and
 * the resources reach the sink the way the real `DockerSource` delivers them: the bookkeeping
 * (one key per (container, kind), rejections reported once, image-label trust, deletes after the
 * recreate grace period) is @dockop/docker's own `ContainerResourceTracker`, and status comes
 * from its `observeListed`; this class only plays the engine and the informer.
 *
 * Every engine-side method resolves once its resources reached the sink (the cache), so a test can
 * `await fake.run(...)` and then reconcile; a Docker error (name taken, no such container) rejects.
 */
export class FakeDockerSource implements Source {
  readonly name: string;
  readonly #clock: Clock;
  readonly #tracker: ContainerResourceTracker;

  /** Containers by name (the engine's view). */
  readonly #containers = new Map<string, FakeContainerRecord>();
  readonly #imageLabels = new Map<string, Record<string, string>>();
  #seq = 0;

  #sink: ResourceSink | undefined;
  #synced = false;
  #healthy = true;
  /** Serialises deliveries: the real informer handles one container at a time. */
  #chain: Promise<void> = Promise.resolve();
  /** How often `resync` ran. */
  resyncCount = 0;

  constructor(options: FakeDockerSourceOptions) {
    this.#clock = options.clock;
    this.name = options.name ?? 'docker';
    const defs = options.definitions ?? [];
    this.#tracker = new ContainerResourceTracker({
      definitions: defs,
      trust: new ImageLabelTrust(this.#fakeClient()),
      clock: options.clock,
      ...(options.recorder ? { recorder: options.recorder } : {}),
      ...(options.recreateGraceMs !== undefined
        ? { recreateGraceMs: options.recreateGraceMs }
        : {}),
      ...(options.trustImageLabels !== undefined
        ? { trustImageLabels: options.trustImageLabels }
        : {}),
      ...(options.maxLabelBytes !== undefined ? { maxLabelBytes: options.maxLabelBytes } : {}),
    });
  }

  // ---- the engine side: what a test does to containers ----

  /** `docker run`: creates and starts a container. Throws when the name is taken, like Docker. */
  async run(container: FakeContainer): Promise<FakeContainerRecord> {
    if (this.#containers.has(container.name)) {
      throw new Error(`Conflict. The container name "/${container.name}" is already in use`);
    }
    const record: FakeContainerRecord = {
      id: fakeContainerId(container.name, ++this.#seq),
      created: Math.floor(this.#clock.now() / 1000),
      container: { ...container, labels: { ...container.labels } },
    };
    this.#containers.set(container.name, record);
    this.#imageLabels.set(
      fakeImageId(container.image ?? DEFAULT_FAKE_IMAGE, container.imageLabels),
      {
        ...(container.imageLabels ?? {}),
      },
    );
    await this.#enqueue(() => this.#tracker.upsert(observeFake(record)));
    return record;
  }

  /** `docker stop`: the container stays (state `exited`); its resources are updated, not deleted. */
  async stop(name: string): Promise<void> {
    return this.#update(name, { state: 'exited' });
  }

  /** `docker start` of a stopped container. */
  async startContainer(name: string): Promise<void> {
    return this.#update(name, { state: 'running' });
  }

  /**
   * The container's healthcheck reports `health` (what Docker's `health_status` event and the
   * list's `(unhealthy)` status text carry); `undefined` removes the healthcheck. Resolves once
   * the updated resources reached the cache.
   */
  async setHealth(name: string, health: FakeContainer['health']): Promise<void> {
    const { health: _old, ...rest } = this.#mustGet(name).container;
    return this.#replace(name, health === undefined ? rest : { ...rest, health });
  }

  /** Moves the container to `state` (`paused`, `restarting`, `dead`, ...), like the engine would. */
  async setState(name: string, state: NonNullable<FakeContainer['state']>): Promise<void> {
    return this.#update(name, { state });
  }

  /** `docker rm -f`: its resources are deleted after the recreate grace period (advance the clock). */
  async remove(name: string): Promise<void> {
    const record = this.#mustGet(name);
    this.#containers.delete(name);
    return this.#enqueue(() => this.#tracker.delete(observeFake(record)));
  }

  /**
   * Changes a container's labels. Docker labels are immutable, so this is what `compose up` does
   * after a label edit: remove, then run a new container (new id) under the same name. Within the
   * grace period the key sees one update, not a delete and a create.
   */
  async relabel(name: string, labels: Record<string, string>): Promise<FakeContainerRecord> {
    const old = this.#mustGet(name);
    await this.remove(name);
    return this.run({ ...old.container, labels });
  }

  /** The containers the fake engine has, by name. */
  containers(): FakeContainerRecord[] {
    return [...this.#containers.values()];
  }

  /** Resources currently delivered (as `DockerSource.resources()`). */
  resources(): ContainerResource[] {
    return this.#tracker.resources();
  }

  /** Simulates a lost (false) or restored (true) events stream. */
  setHealthy(healthy: boolean): void {
    this.#healthy = healthy;
  }

  // ---- the Source side ----

  async start(sink: ResourceSink, signal: AbortSignal): Promise<void> {
    if (this.#sink) throw new Error(`source ${this.name} already started`);
    this.#sink = sink;
    this.#tracker.attach(sink);
    signal.addEventListener('abort', () => {
      this.#tracker.cancelPendingDeletes();
      this.#sink = undefined;
    });
    // First list: everything that exists goes out as one replace, like the real source.
    await this.#enqueue(async () => {
      this.#tracker.beginInitialList();
      for (const record of this.#containers.values())
        await this.#tracker.upsert(observeFake(record));
      this.#tracker.finishInitialList();
      this.#synced = true;
    });
  }

  hasSynced(): boolean {
    return this.#synced;
  }

  /** A relist: every container is observed again; unchanged ones change nothing. */
  resync(): Promise<void> {
    this.resyncCount++;
    return this.#enqueue(async () => {
      for (const record of this.#containers.values())
        await this.#tracker.upsert(observeFake(record));
    });
  }

  healthy(): boolean {
    return this.#healthy;
  }

  // ---- the informer side ----

  #update(name: string, change: Partial<FakeContainer>): Promise<void> {
    return this.#replace(name, { ...this.#mustGet(name).container, ...change });
  }

  #replace(name: string, container: FakeContainer): Promise<void> {
    const record: FakeContainerRecord = { ...this.#mustGet(name), container };
    this.#containers.set(name, record);
    return this.#enqueue(() => this.#tracker.upsert(observeFake(record)));
  }

  #mustGet(name: string): FakeContainerRecord {
    const record = this.#containers.get(name);
    if (!record) throw new Error(`No such container: ${name}`);
    return record;
  }

  /**
   * Runs `fn` after earlier deliveries. Before `start` (and after stop) only the engine state
   * changes: the first list delivers it.
   */
  #enqueue(fn: () => Promise<void> | void): Promise<void> {
    if (!this.#sink) return Promise.resolve();
    const next = this.#chain.then(fn);
    this.#chain = next.catch(() => undefined);
    return next;
  }

  /** Answers the trust check's `images.inspect` from the fake containers' `imageLabels`. */
  #fakeClient(): DockerClient {
    const api = {
      getImage: (id: string) => ({
        inspect: async () => {
          const labels = this.#imageLabels.get(id);
          if (!labels) throw Object.assign(new Error(`No such image: ${id}`), { statusCode: 404 });
          return { Id: id, Config: { Labels: labels } };
        },
      }),
    };
    const call = <T>(_op: string, fn: (d: never) => Promise<T>): Promise<T> => fn(api as never);
    return {
      api: api as never,
      stream: api as never,
      request: call,
      streamRequest: call,
    } as DockerClient;
  }
}
