import { keyOf, type Resource, type ResourceKey } from './resource.js';
import type { ResourceSink, Source } from './source.js';

export interface InMemorySourceOptions {
  /** Resources present from the start. */
  resources?: Resource[];
  /**
   * When true (default) `start` delivers the initial list and is synced at once; when false the
   * source stays unsynced (and `start` pending) until `markSynced()`.
   */
  autoSync?: boolean;
}

/**
 * A `Source` backed by a map, for tests and plugins that compute their resources themselves.
 * Changes made before `start` are delivered as the first list; later ones go straight to the sink.
 */
export class InMemorySource implements Source {
  readonly #resources = new Map<ResourceKey, Resource>();
  #sink: ResourceSink | undefined;
  #synced = false;
  #healthy = true;
  #syncWaiters: Array<() => void> = [];
  readonly #autoSync: boolean;
  /** How often `resync` ran (tests check SIGHUP handling with it). */
  resyncCount = 0;

  constructor(
    readonly name = 'in-memory',
    options: InMemorySourceOptions = {},
  ) {
    for (const r of options.resources ?? []) this.#resources.set(keyOf(r), r);
    this.#autoSync = options.autoSync ?? true;
  }

  async start(sink: ResourceSink, signal: AbortSignal): Promise<void> {
    if (this.#sink) throw new Error(`source ${this.name} already started`);
    this.#sink = sink;
    signal.addEventListener('abort', () => {
      this.#sink = undefined;
    });
    sink.replace([...this.#resources.values()]);
    if (this.#autoSync) this.markSynced();
    if (!this.#synced) {
      await new Promise<void>((resolve, reject) => {
        this.#syncWaiters.push(resolve);
        signal.addEventListener('abort', () => reject(signal.reason), { once: true });
      });
    }
  }

  /** Add or replace a resource. */
  set(resource: Resource): void {
    this.#resources.set(keyOf(resource), resource);
    this.#sink?.upsert(resource);
  }

  /** Remove a resource; a no-op for an unknown key. */
  remove(key: ResourceKey): void {
    if (!this.#resources.delete(key)) return;
    this.#sink?.delete(key);
  }

  /** Report a rejected object through the sink. */
  reject(key: ResourceKey, reason: string, message: string): void {
    this.#sink?.reject(key, reason, message);
  }

  /** Current resources. */
  list(): Resource[] {
    return [...this.#resources.values()];
  }

  markSynced(): void {
    this.#synced = true;
    const waiters = this.#syncWaiters;
    this.#syncWaiters = [];
    for (const w of waiters) w();
  }

  hasSynced(): boolean {
    return this.#synced;
  }

  async resync(): Promise<void> {
    this.resyncCount++;
    this.#sink?.replace([...this.#resources.values()]);
  }

  healthy(): boolean {
    return this.#healthy;
  }

  setHealthy(healthy: boolean): void {
    this.#healthy = healthy;
  }
}
