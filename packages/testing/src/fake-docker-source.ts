import {
  DOCKER_SOURCE_DEFAULTS,
  ImageLabelTrust,
  UNTRUSTED_LABELS_ANNOTATION,
  buildContainerResource,
  decodeLabels,
  selects,
  type ContainerResource,
  type DockerClient,
  type ObservedContainer,
} from '@dockop/docker';
import {
  makeKey,
  type Clock,
  type EventRecorder,
  type ResourceDefinition,
  type ResourceKey,
  type ResourceSink,
  type Source,
  type TimerHandle,
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
 * the resources reach the sink the way the real `DockerSource` delivers them. Selection
 * (`selects`), label decoding and rejection (`decodeLabels`), the image-label trust check
 * (`ImageLabelTrust`), status (`observeListed`) and resource versions (`buildContainerResource`)
 * are @dockop/docker's own functions; this class only replays the source's bookkeeping: one key
 * per (container, kind), rejections reported once, deletes after the recreate grace period.
 *
 * Every engine-side method resolves once its resources reached the sink (the cache), so a test can
 * `await fake.run(...)` and then reconcile; a Docker error (name taken, no such container) rejects.
 */
export class FakeDockerSource implements Source {
  readonly name: string;
  readonly #definitions: () => ResourceDefinition[];
  readonly #clock: Clock;
  readonly #recorder: () => EventRecorder | undefined;
  readonly #graceMs: number;
  readonly #trustImageLabels: boolean;
  readonly #maxLabelBytes: number;
  readonly #trust: ImageLabelTrust;

  /** Containers by name (the engine's view). */
  readonly #containers = new Map<string, FakeContainerRecord>();
  readonly #imageLabels = new Map<string, Record<string, string>>();
  #seq = 0;

  #sink: ResourceSink | undefined;
  #synced = false;
  #healthy = true;
  #resourceVersion = 0;
  readonly #resources = new Map<ResourceKey, ContainerResource>();
  readonly #keysById = new Map<string, Set<ResourceKey>>();
  readonly #rejected = new Map<ResourceKey, { id: string; message: string }>();
  readonly #untrustedWarned = new Map<ResourceKey, string>();
  readonly #pendingDeletes = new Map<ResourceKey, TimerHandle>();
  /** Serialises deliveries: the real informer handles one container at a time. */
  #chain: Promise<void> = Promise.resolve();
  /** How often `resync` ran. */
  resyncCount = 0;

  constructor(options: FakeDockerSourceOptions) {
    const defs = options.definitions ?? [];
    this.#definitions = typeof defs === 'function' ? defs : () => defs;
    const rec = options.recorder;
    this.#recorder = typeof rec === 'function' ? rec : () => rec;
    this.#clock = options.clock;
    this.name = options.name ?? 'docker';
    this.#graceMs = options.recreateGraceMs ?? DOCKER_SOURCE_DEFAULTS.recreateGraceMs;
    this.#trustImageLabels = options.trustImageLabels ?? DOCKER_SOURCE_DEFAULTS.trustImageLabels;
    this.#maxLabelBytes = options.maxLabelBytes ?? DOCKER_SOURCE_DEFAULTS.maxLabelBytes;
    this.#trust = new ImageLabelTrust(this.#fakeClient());
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
    await this.#enqueue(() => this.#onUpsert(observeFake(record)));
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

  /** `docker rm -f`: its resources are deleted after the recreate grace period (advance the clock). */
  async remove(name: string): Promise<void> {
    const record = this.#mustGet(name);
    this.#containers.delete(name);
    return this.#enqueue(() => this.#onDelete(observeFake(record)));
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
    return [...this.#resources.values()];
  }

  /** Simulates a lost (false) or restored (true) events stream. */
  setHealthy(healthy: boolean): void {
    this.#healthy = healthy;
  }

  // ---- the Source side ----

  async start(sink: ResourceSink, signal: AbortSignal): Promise<void> {
    if (this.#sink) throw new Error(`source ${this.name} already started`);
    this.#sink = sink;
    signal.addEventListener('abort', () => {
      for (const t of this.#pendingDeletes.values()) t.cancel();
      this.#pendingDeletes.clear();
      this.#sink = undefined;
    });
    // First list: everything that exists goes out as one replace, like the real source.
    const initial: ContainerResource[] = [];
    await this.#enqueue(async () => {
      for (const record of this.#containers.values())
        await this.#onUpsert(observeFake(record), initial);
      sink.replace(initial);
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
      for (const record of this.#containers.values()) await this.#onUpsert(observeFake(record));
    });
  }

  healthy(): boolean {
    return this.#healthy;
  }

  // ---- DockerSource's bookkeeping, replayed ----

  #update(name: string, change: Partial<FakeContainer>): Promise<void> {
    const old = this.#mustGet(name);
    const record: FakeContainerRecord = { ...old, container: { ...old.container, ...change } };
    this.#containers.set(name, record);
    return this.#enqueue(() => this.#onUpsert(observeFake(record)));
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

  async #onUpsert(container: ObservedContainer, initial?: ContainerResource[]): Promise<void> {
    const id = container.status.id;
    const owned = new Set<ResourceKey>();
    for (const def of this.#definitions()) {
      if (!selects(def.selector, container.status.labels)) continue;
      const key = makeKey(def.kind, container.status.name);
      owned.add(key);
      await this.#deliver(def, key, container, initial);
    }
    for (const key of this.#keysById.get(id) ?? []) {
      if (!owned.has(key)) this.#release(key, id);
    }
    if (owned.size > 0) this.#keysById.set(id, owned);
    else this.#keysById.delete(id);
  }

  async #deliver(
    def: ResourceDefinition,
    key: ResourceKey,
    container: ObservedContainer,
    initial: ContainerResource[] | undefined,
  ): Promise<void> {
    const sink = this.#mustSink();
    const { labels, untrusted } = await this.#trust.filter(
      def.selector.sensitiveLabels ?? [],
      container.status,
      this.#trustImageLabels,
    );
    if (untrusted.length > 0) this.#warnUntrusted(key, container, untrusted);
    else this.#untrustedWarned.delete(key);

    const decoded = decodeLabels(def.selector, labels, {
      containerName: container.status.name,
      maxLabelBytes: this.#maxLabelBytes,
    });
    if (!decoded.ok) {
      this.#cancelPendingDelete(key);
      if (this.#resources.delete(key)) sink.delete(key);
      const last = this.#rejected.get(key);
      if (last?.message !== decoded.message || last.id !== container.status.id) {
        this.#rejected.set(key, { id: container.status.id, message: decoded.message });
        sink.reject(key, decoded.reason, decoded.message);
      }
      return;
    }
    this.#rejected.delete(key);
    this.#cancelPendingDelete(key);
    const previous = this.#resources.get(key);
    const resource = buildContainerResource({
      definition: def,
      container,
      spec: decoded.spec,
      annotations:
        untrusted.length > 0 ? { [UNTRUSTED_LABELS_ANNOTATION]: untrusted.join(',') } : {},
      ...(previous ? { previous } : {}),
      nextResourceVersion: () => String(++this.#resourceVersion),
    });
    if (previous && previous.metadata.resourceVersion === resource.metadata.resourceVersion) return;
    this.#resources.set(key, resource);
    if (initial) initial.push(resource);
    else sink.upsert(resource);
  }

  #warnUntrusted(key: ResourceKey, container: ObservedContainer, untrusted: string[]): void {
    const signature = `${container.status.id}|${untrusted.join(',')}`;
    if (this.#untrustedWarned.get(key) === signature) return;
    this.#untrustedWarned.set(key, signature);
    for (const label of untrusted) {
      this.#recorder()?.event(
        key,
        'Warning',
        'UntrustedImageLabel',
        `label "${label}" of container "${container.status.name}" is inherited from image ` +
          `"${container.status.image}" (${container.status.imageId}), not set on the container: ignored. ` +
          `Set it on the container, or trust image labels (trustImageLabels: true).`,
      );
    }
  }

  #onDelete(container: ObservedContainer): void {
    const id = container.status.id;
    for (const key of this.#keysById.get(id) ?? []) this.#release(key, id);
    this.#keysById.delete(id);
  }

  #release(key: ResourceKey, id: string): void {
    const rejected = this.#rejected.get(key);
    if (rejected?.id === id) {
      this.#rejected.delete(key);
      if (!this.#resources.has(key)) this.#mustSink().delete(key);
    }
    this.#untrustedWarned.delete(key);
    if (this.#resources.get(key)?.metadata.uid !== id) return;
    const remove = (): void => {
      this.#pendingDeletes.delete(key);
      if (this.#resources.get(key)?.metadata.uid !== id) return;
      this.#resources.delete(key);
      this.#sink?.delete(key);
    };
    if (this.#graceMs <= 0) return remove();
    this.#cancelPendingDelete(key);
    this.#pendingDeletes.set(key, this.#clock.setTimeout(remove, this.#graceMs));
  }

  #cancelPendingDelete(key: ResourceKey): void {
    this.#pendingDeletes.get(key)?.cancel();
    this.#pendingDeletes.delete(key);
  }

  #mustSink(): ResourceSink {
    if (!this.#sink) throw new Error(`source ${this.name} used before start()`);
    return this.#sink;
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
