import { isDeepStrictEqual } from 'node:util';
import type { Cache, RejectedResource } from './cache.js';
import { ConditionTypes, type ConditionStore } from './conditions.js';
import type { EventRecorder } from './event-recorder.js';
import type { Logger } from './logger.js';
import { isSlashJoined, keyOf, splitKey, type Resource, type ResourceKey } from './resource.js';
import { showLabelValue } from './own-label.js';
import { SECRET_KEY_PATTERN, redactText } from './redactor.js';
import { ownedPath, type LabelSelector, type ResourceDefinition } from './resource-definition.js';
import type { SchemaRegistry, ValidationError, ValidationResult } from './schema-registry.js';
import { freezeData } from './clone-data.js';
import type { ResourceSink, Source } from './source.js';

/** Why a refusal ended: the object was deleted, or a valid version of it was accepted. */
export type RejectionClearedCause = 'deleted' | 'accepted';

/**
 * Informer-style callbacks. `onUpdate` gets the previous and the new valid version.
 *
 * Refusals (objects kept out of the store, as listed by `rejected(kind)`) have their own two:
 * - `onReject(rejected, previous)`: a refusal was recorded for a key (`previous` undefined), or
 *   the refusal of a key changed its reason, message, labels or status (`previous` is the one it
 *   replaces). Delivering the same refusal again (a relist, a source repeating itself, a new
 *   `resourceVersion` with the same content) calls nothing. When a valid version is refused,
 *   `onDelete` of that version comes first.
 * - `onRejectCleared(rejected, cause)`: the refusal is gone: the object was deleted (`deleted`, by
 *   the source or a relist's diff), or a valid version was accepted (`accepted`, followed by
 *   `onAdd` of that version).
 */
export interface ResourceEventHandler {
  onAdd?(resource: Resource): void;
  onUpdate?(oldResource: Resource, newResource: Resource): void;
  onDelete?(resource: Resource): void;
  onReject?(rejected: RejectedResource, previous: RejectedResource | undefined): void;
  onRejectCleared?(rejected: RejectedResource, cause: RejectionClearedCause): void;
}

export interface Rejection {
  reason: string;
  message: string;
  /** Validation errors, when the rejection is an invalid spec. */
  errors?: ValidationError[];
  /** Labels of the refused object (absent when a source refused a key without an object). */
  labels?: Record<string, string>;
  /** Status of the refused object, unvalidated (absent likewise). */
  status?: unknown;
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

/**
 * `spec.retention.daily: "abc" violates type: integer (must be integer)`. The value of a field
 * whose name says secret (`spec.dump.passwordEnv`) is not shown (see `showLabelValue`).
 */
export function describeValidationError(e: ValidationError, prefix = 'spec'): string {
  const path = e.path === '' ? prefix : `${prefix}.${e.path}`;
  const value =
    e.value === undefined
      ? 'missing value'
      : SECRET_KEY_PATTERN.test(e.path.split('.').pop() ?? '')
        ? "(value not shown: the field's name says secret)"
        : JSON.stringify(e.value);
  return `${path}: ${value} violates ${e.rule} (${e.message})`;
}

/** Longest label value quoted in a message; longer ones are cut (labels may hold 4 KiB). */
const SHOWN_LABEL_CHARS = 200;

/**
 * The label a validation error's spec path was decoded from, or undefined: explicit
 * `selector.paths` reversed first, else `prefixes[i] + path`, with array indexes stripped
 * (`paths.include[0]` comes from `backrest.paths.include`). A candidate counts only when it is in
 * `labels` and decodes back to that path (so a longer prefix or an explicit mapping of the same
 * key is never misnamed).
 */
export function labelForPath(
  selector: LabelSelector,
  path: string,
  labels: Record<string, string>,
): string | undefined {
  const plain = path.replace(/\[\d+\]/g, '');
  if (plain === '') return undefined;
  const candidates = [
    ...Object.entries(selector.paths ?? {})
      .filter(([, p]) => p === plain)
      .map(([label]) => label),
    ...selector.prefixes.map((p) => p + plain),
  ];
  return candidates.find(
    (label) => Object.hasOwn(labels, label) && ownedPath(selector, label) === plain,
  );
}

/**
 * One message for every error of an invalid spec: `<kind>/<name>: ` then one clause per error,
 * `; `-joined. An error whose path maps to a label (`labelForPath`) names the label and the value
 * as written: `label backrest.schedule="61 * * * *": spec.schedule violates format: cron (...)`
 * (an array item's own value follows its path); others keep `describeValidationError`.
 */
export function describeInvalidSpec(
  resource: Pick<Resource, 'kind' | 'metadata'>,
  errors: readonly ValidationError[],
  selector: LabelSelector | undefined,
): string {
  const labels = resource.metadata.labels ?? {};
  const clauses = errors.map((e) => {
    const label = selector ? labelForPath(selector, e.path, labels) : undefined;
    if (label === undefined) return describeValidationError(e);
    // An array item's own value: shown under the same rule as its label's.
    const item =
      /\[\d+\]/.test(e.path) && e.value !== undefined
        ? ` ${SECRET_KEY_PATTERN.test(label) ? '(not shown)' : redactText(JSON.stringify(e.value))}`
        : '';
    return `label ${label}=${showLabelValue(label, labels[label] ?? '', SHOWN_LABEL_CHARS)}: spec.${e.path}${item} violates ${e.rule} (${e.message})`;
  });
  return `${keyOf(resource)}: ${clauses.join('; ')}`;
}

/** `key === keyOf(r)`, without making the key: a source's key is taken only if it is that. */
function namesResource(key: ResourceKey, r: Resource): boolean {
  const kind: unknown = r.kind;
  const name: unknown = r.metadata?.name;
  return typeof kind === 'string' && typeof name === 'string' && isSlashJoined(key, kind, name);
}

/** The definition of `kind`: an indexed loop, not a `find` closure per resource of a list. */
function definitionOf(
  definitions: readonly ResourceDefinition[],
  kind: string,
): ResourceDefinition | undefined {
  for (let i = 0; i < definitions.length; i++) {
    if (definitions[i]!.kind === kind) return definitions[i];
  }
  return undefined;
}

type Owned = { source: string; resourceVersion: string | undefined };

/** A spec object of one `replace`, once validated (valid, no warning): its frozen valid value. */
type SharedSpec = { schemaId: string; value: unknown };

function rejectedOf(key: ResourceKey, r: Rejection): RejectedResource {
  return {
    key,
    name: splitKey(key).name,
    reason: r.reason,
    message: r.message,
    ...(r.labels ? { labels: { ...r.labels } } : {}),
    ...(r.status !== undefined ? { status: r.status } : {}),
  };
}

/** What handlers see of a refusal: equal ones are not dispatched again. */
function sameRejection(a: Rejection, b: Rejection): boolean {
  return (
    a.reason === b.reason &&
    a.message === b.message &&
    isDeepStrictEqual(a.labels, b.labels) &&
    isDeepStrictEqual(a.status, b.status)
  );
}

/**
 * The store behind `Cache`: one `ResourceSink` per source, schema validation on the way in,
 * indexes by key and by label, and event handlers for controllers.
 *
 * An invalid spec never reaches the store: a previously valid version is removed (handlers get a
 * delete), the key gets `InvalidSpec=True` and `Ready=False` (reason `InvalidSpec`) and a Warning
 * event naming the resource, then per error the label and value it came from (else the spec
 * path), and the rule (`describeInvalidSpec`). Refused objects stay readable through `rejected`.
 * A source's `reject(key, reason, message)` does the same with its own reason. Kinds without a
 * definition are stored unvalidated. Handlers hear of refusals through `onReject` (only when a
 * refusal is new or its content changed) and `onRejectCleared`.
 * An upsert whose `resourceVersion` equals the last one seen for the key changes nothing.
 * A validated spec is stored frozen (`freezeData`): readers share it, none can change it.
 */
export class ResourceCache implements Cache {
  readonly #schemas: SchemaRegistry;
  readonly #definitions: () => ResourceDefinition[];
  readonly #conditions: ConditionStore | undefined;
  readonly #recorder: EventRecorder | undefined;
  readonly #logger: Logger | undefined;

  readonly #byKey = new Map<ResourceKey, Resource>();
  /**
   * kind → label key → label value → keys. Built on the first `byLabel` call, then kept up to
   * date: a one-shot run never asks, and 2,000 containers × their labels are 10,000+ Sets.
   */
  #byLabel: Map<string, Map<string, Map<string, Set<ResourceKey>>>> | undefined;
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
      replace: (rs, keys) => this.#replace(sourceName, rs, keys),
      reject: (key, reason, message) => this.#reject(sourceName, key, reason, message),
    };
  }

  /**
   * Subscribe to add/update/delete of valid resources and to refusals recorded, changed or
   * cleared (of one kind, when given). Returns the unsubscribe function.
   */
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
    if (!this.#byLabel) {
      this.#byLabel = new Map();
      for (const [k, r] of this.#byKey) this.#indexLabels(k, r);
    }
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

  rejected(kind: string): RejectedResource[] {
    const out: RejectedResource[] = [];
    for (const [key, r] of this.#rejections) {
      if (splitKey(key).kind === kind) out.push(rejectedOf(key, r));
    }
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  hasSynced(): boolean {
    return this.#sources.every((s) => s.hasSynced());
  }

  /**
   * `definitions`: the list when the caller already has it (a `replace` of 2,000 resources).
   * `shared`: a `replace`'s spec objects already validated, with their frozen valid value: a
   * source decodes identical labels once, and the resources holding that spec object share its
   * value instead of a validation (and, before specs were frozen, a copy) each.
   */
  #upsert(
    source: string,
    resource: Resource,
    definitions: readonly ResourceDefinition[] = this.#definitions(),
    shared?: Map<unknown, SharedSpec>,
    madeKey?: ResourceKey,
  ): void {
    let key: ResourceKey;
    try {
      key = madeKey ?? keyOf(resource);
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

    const def = definitionOf(definitions, resource.kind);
    let stored: Resource = resource;
    if (def) {
      const spec = resource.spec;
      const known = shared?.get(spec);
      // The frozen valid value of a spec object another resource of this replace carried.
      if (known?.schemaId === def.schemaId) {
        stored = { ...resource, spec: known.value };
        this.#accept(key, stored);
        return;
      }
      let result: ValidationResult;
      try {
        result = this.#schemas.validate(def.schemaId, spec);
      } catch (err) {
        const message = `kind ${resource.kind}: ${err instanceof Error ? err.message : String(err)}`;
        this.#invalidate(key, CacheReasons.InvalidSpec, message, { resource });
        return;
      }
      if (!result.valid) {
        const message = describeInvalidSpec(resource, result.errors, def.selector);
        this.#invalidate(key, CacheReasons.InvalidSpec, message, {
          resource,
          errors: result.errors,
        });
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
      // Frozen: readers share what the cache holds and can't change it for each other; another
      // resource with this spec object (valid without warnings) gets the same value.
      const value = freezeData(result.value);
      if (shared && result.warnings.length === 0 && typeof spec === 'object' && spec !== null) {
        shared.set(spec, { schemaId: def.schemaId, value });
      }
      stored = { ...resource, spec: value };
    }
    this.#accept(key, stored);
  }

  #accept(key: ResourceKey, resource: Resource): void {
    // Most caches refuse nothing (a one-shot's initial replace of thousands): no lookup then.
    const refused = this.#rejections.size > 0 ? this.#rejections.get(key) : undefined;
    if (refused) this.#rejections.delete(key);
    if (refused && this.#conditions) {
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
    if (refused) {
      const cleared = rejectedOf(key, refused);
      this.#dispatch(resource.kind, (h) => h.onRejectCleared?.(cleared, 'accepted'));
    }
    const old = this.#byKey.get(key);
    if (old) this.#unindex(key, old);
    this.#byKey.set(key, resource);
    this.#index(key, resource);
    // No closure per resource when nobody listens (a one-shot's initial replace).
    if (this.#handlers.size === 0) return;
    if (old) this.#dispatch(resource.kind, (h) => h.onUpdate?.(old, resource));
    else this.#dispatch(resource.kind, (h) => h.onAdd?.(resource));
  }

  #invalidate(
    key: ResourceKey,
    reason: string,
    message: string,
    refused: { resource?: Resource; errors?: ValidationError[] } = {},
  ): void {
    this.#removeStored(key);
    const { resource, errors } = refused;
    const rejection: Rejection = {
      reason,
      message,
      ...(errors ? { errors } : {}),
      ...(resource ? { labels: { ...(resource.metadata.labels ?? {}) } } : {}),
      ...(resource?.status !== undefined ? { status: resource.status } : {}),
    };
    const previous = this.#rejections.get(key);
    this.#rejections.set(key, rejection);
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
    // Handlers hear only of new or changed refusals: a relist repeating one must not requeue.
    if (previous && sameRejection(previous, rejection)) return;
    const now = rejectedOf(key, rejection);
    const before = previous && rejectedOf(key, previous);
    this.#dispatch(splitKey(key).kind, (h) => h.onReject?.(now, before));
  }

  #reject(source: string, key: ResourceKey, reason: string, message: string): void {
    try {
      splitKey(key);
    } catch (err) {
      this.#logger?.error('cache.reject_malformed', { source, reason, error: err });
      return;
    }
    this.#owned.set(key, { source, resourceVersion: undefined });
    this.#invalidate(key, reason, message);
  }

  #delete(source: string, key: ResourceKey): void {
    const owned = this.#owned.get(key);
    if (owned && owned.source !== source) return;
    this.#owned.delete(key);
    const refused = this.#rejections.get(key);
    this.#rejections.delete(key);
    const removed = this.#removeStored(key);
    if (removed || refused) this.#conditions?.clear(key);
    if (refused) {
      const cleared = rejectedOf(key, refused);
      this.#dispatch(splitKey(key).kind, (h) => h.onRejectCleared?.(cleared, 'deleted'));
    }
  }

  #replace(source: string, resources: Resource[], given?: readonly ResourceKey[]): void {
    // Each key made once (a new string, hashed by the first lookup) and handed to #upsert; a
    // source's own key for the resource (already hashed by its maps) is taken instead.
    const keys: (ResourceKey | undefined)[] = new Array(resources.length);
    for (let i = 0; i < resources.length; i++) {
      const r = resources[i]!;
      const k = given?.[i];
      try {
        keys[i] = k !== undefined && namesResource(k, r) ? k : keyOf(r);
      } catch {
        // malformed: #upsert logs it
      }
    }
    // Nothing to diff-delete before the source's first list: no set of the keys kept then.
    if (this.#ownsAny(source)) {
      const keep = new Set(keys);
      for (const [key, owned] of [...this.#owned]) {
        if (owned.source === source && !keep.has(key)) this.#delete(source, key);
      }
    }
    // One lookup of the definitions (a container resolution) for the batch, not one per resource.
    const definitions = this.#definitions();
    const shared = new Map<unknown, SharedSpec>();
    for (let i = 0; i < resources.length; i++) {
      this.#upsert(source, resources[i]!, definitions, shared, keys[i]);
    }
  }

  #ownsAny(source: string): boolean {
    for (const owned of this.#owned.values()) if (owned.source === source) return true;
    return false;
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
    if (this.#byLabel) this.#indexLabels(key, r);
  }

  #indexLabels(key: ResourceKey, r: Resource): void {
    const byLabel = this.#byLabel!;
    let labels = byLabel.get(r.kind);
    if (!labels) byLabel.set(r.kind, (labels = new Map()));
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
    const labels = this.#byLabel?.get(r.kind);
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
    // A one-shot run's initial replace happens before any controller subscribed.
    if (this.#handlers.size === 0) return;
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
