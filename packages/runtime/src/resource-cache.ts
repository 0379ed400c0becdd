import type { Cache } from './cache.js';
import { ConditionTypes, type ConditionStore } from './conditions.js';
import type { EventRecorder } from './event-recorder.js';
import type { Logger } from './logger.js';
import { keyOf, type Resource, type ResourceKey } from './resource.js';
import type { ResourceDefinition } from './resource-definition.js';
import type { SchemaRegistry, ValidationError } from './schema-registry.js';
import type { ResourceSink, Source } from './source.js';

/** Informer-style callbacks. `onUpdate` gets the previous and the new valid version. */
export interface ResourceEventHandler {
  onAdd?(resource: Resource): void;
  onUpdate?(oldResource: Resource, newResource: Resource): void;
  onDelete?(resource: Resource): void;
}

export interface Rejection {
  reason: string;
  message: string;
  /** Validation errors, when the rejection is an invalid spec. */
  errors?: ValidationError[];
}

export interface ResourceCacheOptions {
  schemas: SchemaRegistry;
  /** Definitions by kind; a function is read on every upsert (late-bound plugins). Default none. */
  definitions?: ResourceDefinition[] | (() => ResourceDefinition[]);
  conditions?: ConditionStore;
  recorder?: EventRecorder;
  logger?: Logger;
}

/** Event reasons the cache records. */
export const CacheReasons = {
  InvalidSpec: 'InvalidSpec',
  UnknownField: 'UnknownField',
  SpecAccepted: 'SpecAccepted',
} as const;

/** `spec.retention.daily: "abc" violates type: integer (must be integer)`. */
export function describeValidationError(e: ValidationError, prefix = 'spec'): string {
  const path = e.path === '' ? prefix : `${prefix}.${e.path}`;
  const value = e.value === undefined ? 'missing value' : JSON.stringify(e.value);
  return `${path}: ${value} violates ${e.rule} (${e.message})`;
}

type Owned = { source: string; resourceVersion: string | undefined };

/**
 * The store behind `Cache`: one `ResourceSink` per source, schema validation on the way in,
 * indexes by key and by label, and event handlers for controllers.
 *
 * An invalid spec never reaches the store: a previously valid version is removed (handlers get a
 * delete), the key gets `InvalidSpec=True` and `Ready=False` (reason `InvalidSpec`) and a Warning
 * event naming field, value and rule. A source's `reject(key, reason, message)` does the same with
 * its own reason. Kinds without a definition are stored unvalidated.
 * An upsert whose `resourceVersion` equals the last one seen for the key changes nothing.
 */
export class ResourceCache implements Cache {
  readonly #schemas: SchemaRegistry;
  readonly #definitions: () => ResourceDefinition[];
  readonly #conditions: ConditionStore | undefined;
  readonly #recorder: EventRecorder | undefined;
  readonly #logger: Logger | undefined;

  readonly #byKey = new Map<ResourceKey, Resource>();
  /** kind → label key → label value → keys */
  readonly #byLabel = new Map<string, Map<string, Map<string, Set<ResourceKey>>>>();
  readonly #byKind = new Map<string, Set<ResourceKey>>();
  /** Every key a source delivered (valid, invalid or rejected) and the version last seen. */
  readonly #owned = new Map<ResourceKey, Owned>();
  readonly #rejections = new Map<ResourceKey, Rejection>();
  readonly #handlers = new Set<{ handler: ResourceEventHandler; kind: string | undefined }>();
  readonly #sources: Pick<Source, 'name' | 'hasSynced'>[] = [];

  constructor(options: ResourceCacheOptions) {
    this.#schemas = options.schemas;
    const defs = options.definitions ?? [];
    this.#definitions = typeof defs === 'function' ? defs : () => defs;
    this.#conditions = options.conditions;
    this.#recorder = options.recorder;
    this.#logger = options.logger;
  }

  /** Registers a source for `hasSynced` and returns its sink. */
  addSource(source: Pick<Source, 'name' | 'hasSynced'>): ResourceSink {
    if (this.#sources.some((s) => s.name === source.name)) {
      throw new Error(`a source named "${source.name}" is already registered with the cache`);
    }
    this.#sources.push(source);
    return this.sinkFor(source.name);
  }

  /** A sink whose `replace` only diff-deletes keys delivered through sinks of `sourceName`. */
  sinkFor(sourceName: string): ResourceSink {
    return {
      upsert: (r) => this.#upsert(sourceName, r),
      delete: (key) => this.#delete(sourceName, key),
      replace: (rs) => this.#replace(sourceName, rs),
      reject: (key, reason, message) => this.#reject(sourceName, key, reason, message),
    };
  }

  /** Subscribe to add/update/delete of valid resources (of one kind, when given). */
  addEventHandler(handler: ResourceEventHandler, kind?: string): () => void {
    const entry = { handler, kind };
    this.#handlers.add(entry);
    return () => this.#handlers.delete(entry);
  }

  get<T extends Resource = Resource>(key: ResourceKey): T | undefined {
    return this.#byKey.get(key) as T | undefined;
  }

  list<T extends Resource = Resource>(kind: string): T[] {
    const keys = [...(this.#byKind.get(kind) ?? [])].sort();
    return keys.map((k) => this.#byKey.get(k) as T);
  }

  byLabel<T extends Resource = Resource>(kind: string, key: string, value?: string): T[] {
    const values = this.#byLabel.get(kind)?.get(key);
    if (!values) return [];
    const keys = new Set<ResourceKey>();
    if (value === undefined) {
      for (const set of values.values()) for (const k of set) keys.add(k);
    } else {
      for (const k of values.get(value) ?? []) keys.add(k);
    }
    return [...keys].sort().map((k) => this.#byKey.get(k) as T);
  }

  /** Every stored kind. */
  kinds(): string[] {
    return [...this.#byKind.keys()].filter((k) => (this.#byKind.get(k)?.size ?? 0) > 0);
  }

  /** Keys the sources delivered that were kept out of the store, with why. */
  rejections(): Map<ResourceKey, Rejection> {
    return new Map(this.#rejections);
  }

  rejection(key: ResourceKey): Rejection | undefined {
    return this.#rejections.get(key);
  }

  hasSynced(): boolean {
    return this.#sources.every((s) => s.hasSynced());
  }

  #definitionFor(kind: string): ResourceDefinition | undefined {
    return this.#definitions().find((d) => d.kind === kind);
  }

  #upsert(source: string, resource: Resource): void {
    let key: ResourceKey;
    try {
      key = keyOf(resource);
    } catch (err) {
      this.#logger?.error('cache.upsert_malformed', { source, error: err });
      return;
    }
    const version = resource.metadata.resourceVersion;
    const owned = this.#owned.get(key);
    if (owned && owned.source !== source) {
      this.#logger?.warn('cache.owner_changed', { key, from: owned.source, to: source });
    }
    if (
      owned &&
      owned.source === source &&
      version !== undefined &&
      owned.resourceVersion === version
    ) {
      return;
    }
    this.#owned.set(key, { source, resourceVersion: version });

    const def = this.#definitionFor(resource.kind);
    let stored: Resource = resource;
    if (def) {
      let result;
      try {
        result = this.#schemas.validate(def.schemaId, resource.spec);
      } catch (err) {
        const message = `kind ${resource.kind}: ${err instanceof Error ? err.message : String(err)}`;
        this.#invalidate(key, CacheReasons.InvalidSpec, message);
        return;
      }
      if (!result.valid) {
        const message = result.errors.map((e) => describeValidationError(e)).join('; ');
        this.#invalidate(key, CacheReasons.InvalidSpec, message, result.errors);
        return;
      }
      if (result.warnings.length > 0) {
        this.#recorder?.event(
          key,
          'Warning',
          CacheReasons.UnknownField,
          result.warnings.join('; '),
        );
      }
      stored = { ...resource, spec: result.value };
    }
    this.#accept(key, stored);
  }

  #accept(key: ResourceKey, resource: Resource): void {
    if (this.#rejections.delete(key) && this.#conditions) {
      this.#conditions.set(key, {
        type: ConditionTypes.InvalidSpec,
        status: 'False',
        reason: CacheReasons.SpecAccepted,
        message: 'spec is valid',
      });
      const ready = this.#conditions.get(key, ConditionTypes.Ready);
      if (ready && ready.status === 'False') {
        this.#conditions.set(key, {
          type: ConditionTypes.Ready,
          status: 'Unknown',
          reason: CacheReasons.SpecAccepted,
          message: 'spec accepted; waiting for reconcile',
        });
      }
    }
    const old = this.#byKey.get(key);
    if (old) this.#unindex(key, old);
    this.#byKey.set(key, resource);
    this.#index(key, resource);
    if (old) this.#dispatch(resource.kind, (h) => h.onUpdate?.(old, resource));
    else this.#dispatch(resource.kind, (h) => h.onAdd?.(resource));
  }

  #invalidate(key: ResourceKey, reason: string, message: string, errors?: ValidationError[]): void {
    this.#removeStored(key);
    this.#rejections.set(key, { reason, message, ...(errors ? { errors } : {}) });
    if (this.#conditions) {
      this.#conditions.set(key, {
        type: ConditionTypes.InvalidSpec,
        status: 'True',
        reason,
        message,
      });
      this.#conditions.set(key, { type: ConditionTypes.Ready, status: 'False', reason, message });
    }
    this.#recorder?.event(key, 'Warning', reason, message);
  }

  #reject(source: string, key: ResourceKey, reason: string, message: string): void {
    this.#owned.set(key, { source, resourceVersion: undefined });
    this.#invalidate(key, reason, message);
  }

  #delete(source: string, key: ResourceKey): void {
    const owned = this.#owned.get(key);
    if (owned && owned.source !== source) return;
    this.#owned.delete(key);
    const hadRejection = this.#rejections.delete(key);
    const removed = this.#removeStored(key);
    if (removed || hadRejection) this.#conditions?.clear(key);
  }

  #replace(source: string, resources: Resource[]): void {
    const keep = new Set<ResourceKey>();
    for (const r of resources) {
      try {
        keep.add(keyOf(r));
      } catch {
        // malformed: #upsert logs it
      }
    }
    for (const [key, owned] of [...this.#owned]) {
      if (owned.source === source && !keep.has(key)) this.#delete(source, key);
    }
    for (const r of resources) this.#upsert(source, r);
  }

  #removeStored(key: ResourceKey): boolean {
    const old = this.#byKey.get(key);
    if (!old) return false;
    this.#byKey.delete(key);
    this.#unindex(key, old);
    this.#dispatch(old.kind, (h) => h.onDelete?.(old));
    return true;
  }

  #index(key: ResourceKey, r: Resource): void {
    let kindSet = this.#byKind.get(r.kind);
    if (!kindSet) this.#byKind.set(r.kind, (kindSet = new Set()));
    kindSet.add(key);
    let labels = this.#byLabel.get(r.kind);
    if (!labels) this.#byLabel.set(r.kind, (labels = new Map()));
    for (const [lk, lv] of Object.entries(r.metadata.labels ?? {})) {
      let values = labels.get(lk);
      if (!values) labels.set(lk, (values = new Map()));
      let keys = values.get(lv);
      if (!keys) values.set(lv, (keys = new Set()));
      keys.add(key);
    }
  }

  #unindex(key: ResourceKey, r: Resource): void {
    this.#byKind.get(r.kind)?.delete(key);
    const labels = this.#byLabel.get(r.kind);
    if (!labels) return;
    for (const [lk, lv] of Object.entries(r.metadata.labels ?? {})) {
      const values = labels.get(lk);
      const keys = values?.get(lv);
      keys?.delete(key);
      if (keys && keys.size === 0) values?.delete(lv);
      if (values && values.size === 0) labels.delete(lk);
    }
  }

  #dispatch(kind: string, fn: (h: ResourceEventHandler) => void): void {
    for (const { handler, kind: k } of [...this.#handlers]) {
      if (k !== undefined && k !== kind) continue;
      try {
        fn(handler);
      } catch (err) {
        this.#logger?.error('cache.handler_failed', { kind, error: err });
      }
    }
  }
}
