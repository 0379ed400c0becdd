import type { Resource, ResourceKey } from './resource.js';

/**
 * Where resources come from. A source (Docker's container informer, the in-memory source used in
 * tests, a plugin's own) pushes raw resources into a sink; the runtime validates each spec against
 * its kind's schema before anything reaches a controller.
 */
export const Source = Symbol.for('dockop.Source');

export interface ResourceSink {
  /**
   * Add or replace one resource. `spec` may be raw (label strings): the runtime coerces and
   * validates it against the kind's schema; an invalid one is kept out of the cache, gets an
   * `InvalidSpec` condition and a Warning event.
   */
  upsert(resource: Resource): void;
  /** Remove one resource; a no-op for an unknown key. */
  delete(key: ResourceKey): void;
  /**
   * Replace the whole set of resources this source owns (after a list/relist): keys not in
   * `resources` are deleted, so objects that vanished while unobserved are not kept forever.
   * `keys`: optional, `keys[i]` the key of `resources[i]` when the source made it already (the
   * cache then makes none; a key that does not name its resource is ignored).
   */
  replace(resources: Resource[], keys?: readonly ResourceKey[]): void;
  /**
   * A source reports which resources it rejected before they became resources (e.g. hostile
   * labels), so they are visible in `get`/`describe` and as Warning events.
   */
  reject(key: ResourceKey, reason: string, message: string): void;
}

export interface Source {
  /** Stable name used in logs, metrics and health checks. */
  readonly name: string;
  /**
   * Start feeding the sink; resolves when the first full list has been delivered (synced), then
   * keeps running in the background until `signal` aborts.
   */
  start(sink: ResourceSink, signal: AbortSignal): Promise<void>;
  /** True once the first full list was delivered. */
  hasSynced(): boolean;
  /** Force a full relist (periodic resync, SIGHUP). */
  resync(): Promise<void>;
  /** Liveness as the source sees it (e.g. the Docker event stream is connected). */
  healthy(): boolean;
  /**
   * Optional: begin fetching what the first `start` lists, before `start` is called, so that the
   * wait overlaps the caller's remaining set-up (a one-shot command pings Docker and repairs
   * state meanwhile). `start` then delivers that fetch; nothing reaches a sink before it. A
   * source may ignore it where an early list could be stale (e.g. before an event stream opens).
   * `signal` aborts when the manager stops (a caller that gives up before starting stops it).
   */
  prefetch?(signal: AbortSignal): void;
}
