import { splitKey, type Resource, type ResourceKey } from './resource.js';

/** Injection token of the manager's `Cache` (a `ResourceCache`). */
export const Cache = Symbol.for('dockop.Cache');

/**
 * An object a source delivered that the cache keeps out of the store: its spec failed the kind's
 * schema (reason `InvalidSpec`), or the source refused it (`reject(key, reason, message)`).
 * Controllers never act on it; they can only report it (e.g. count it as skipped).
 */
export interface RejectedResource {
  key: ResourceKey;
  /** The resource's name (the key without `<kind>/`). */
  name: string;
  /** `InvalidSpec` for a schema failure, else the source's own reason (`LabelTooLong`, ...). */
  reason: string;
  /**
   * For people: `<kind>/<name>: label <key>="<value>": ...` per error when the resource is
   * label-derived, the spec path otherwise. The same text as the Warning event and conditions.
   */
  message: string;
  /** The delivered object's labels; absent when the source refused it without delivering one. */
  labels?: Record<string, string>;
  /** The delivered object's status, as the source wrote it (unvalidated); absent likewise. */
  status?: unknown;
}

/**
 * The Resource-shaped view of a refused object that a `Watch`'s `map` and predicates get for
 * rejection events: kind and name from the key, the delivered labels (`{}` when the source refused
 * the key without an object) and status (when delivered). `spec` is `undefined`, since a refused
 * spec never reaches controllers, and the other metadata fields are empty (`uid`, `resourceVersion`
 * and `creationTimestamp` are `''`, `generation` is 0).
 */
export function rejectedAsResource(rejected: RejectedResource): Resource {
  const { kind, name } = splitKey(rejected.key);
  return {
    apiVersion: '',
    kind,
    metadata: {
      name,
      uid: '',
      labels: { ...(rejected.labels ?? {}) },
      annotations: {},
      generation: 0,
      resourceVersion: '',
      creationTimestamp: '',
    },
    spec: undefined,
    ...(rejected.status !== undefined ? { status: rejected.status } : {}),
  };
}

/** Read-only view of every valid resource the sources delivered, by kind. */
export interface Cache {
  get<T extends Resource = Resource>(key: ResourceKey): T | undefined;
  list<T extends Resource = Resource>(kind: string): T[];
  /** Resources of `kind` carrying label `key` (with `value`, when given). */
  byLabel<T extends Resource = Resource>(kind: string, key: string, value?: string): T[];
  /**
   * The objects of `kind` the sources delivered that were refused (never in `get`/`list`), sorted
   * by key. An entry lasts until the source delivers a valid version or deletes the object.
   */
  rejected(kind: string): RejectedResource[];
  /** True once every registered source delivered its first full list. */
  hasSynced(): boolean;
}
