import {
  makeKey,
  ownLabel,
  type Clock,
  type EventRecorder,
  type Logger,
  type ResourceDefinition,
  type ResourceKey,
  type ResourceSink,
  type TimerHandle,
} from '@dockop/runtime';
import {
  buildContainerResource,
  type BuildResourceInput,
  type ContainerResource,
  type ObservedContainer,
} from './container-resource.js';
import type { ImageLabelTrust, TrustResult } from './image-label-trust.js';
import {
  DEFAULT_MAX_LABEL_BYTES,
  decodeLabels,
  ownedKeys,
  selects,
  type DecodeResult,
} from './label-decoder.js';

export interface ContainerResourceTrackerOptions {
  /** The kinds served; a function is read at every observation (late-bound definitions). */
  definitions: readonly ResourceDefinition[] | (() => readonly ResourceDefinition[]);
  /** The image-label check (one image inspect per image id). */
  trust: ImageLabelTrust;
  /** Drives the recreate grace period. */
  clock: Clock;
  /**
   * A vacated name (container destroyed, renamed or relabeled out) is deleted only after this
   * long, ms; a container taking the name meanwhile is an update of the same key. 0 deletes at
   * once. Default 2000.
   */
  recreateGraceMs?: number;
  /** Accept sensitive labels inherited from the image. Default false. */
  trustImageLabels?: boolean;
  /** Longest accepted label value, in UTF-8 bytes. Default 4096. */
  maxLabelBytes?: number;
  /** `docker.labels.rejected` / `docker.labels.untrusted` warnings. Default none. */
  logger?: Logger;
  /** Receives `UntrustedImageLabel` Warning events; a function is read at each one. Default none. */
  recorder?: EventRecorder | (() => EventRecorder | undefined);
}

/**
 * The initial list's memo for one definition: a path of (owned key, its value) pairs from the
 * root, in `ownedKeys` order, leads to what labels of exactly those pairs decode to, and whether
 * the trust check keeps them all without the image (it depends on the owned labels alone). When
 * it does not (a sensitive label), the images found to set none of them: that answer depends on
 * the image, so it is kept per image id.
 */
interface MemoNode {
  decoded?: DecodeResult;
  imageless?: boolean;
  trustedImages?: Set<string>;
  next?: Map<string, Map<string, MemoNode>>;
}

export const CONTAINER_RESOURCE_TRACKER_DEFAULTS = {
  recreateGraceMs: 2_000,
  trustImageLabels: false,
  maxLabelBytes: DEFAULT_MAX_LABEL_BYTES,
} as const;

/** Annotation listing the sensitive labels dropped because they came from the image. */
export const UNTRUSTED_LABELS_ANNOTATION = 'docker.dockop.io/untrusted-image-labels';

/** Compose v2 creates a replacement as `<id[:12]>_<name>` and renames it once the old one is gone. */
function isComposeTemporary(c: ObservedContainer): boolean {
  const { id, name } = c.status;
  // The '_' first: most names have none there, and then no prefix is cut from the id. A name
  // too short to have one is not read past its end (that deoptimized every caller).
  const n = Math.min(12, id.length);
  return name.length > n && name.charCodeAt(n) === UNDERSCORE && name.startsWith(id.slice(0, n));
}

const UNDERSCORE = 0x5f;

/**
 * The bookkeeping between observed containers and a `ResourceSink`, shared by `DockerSource`
 * and @dockop/testing's fake: each container backs one key `<kind>/<name>` per definition whose
 * selector matches.
 *
 * Invariants:
 * - A key is upserted only when its resourceVersion changed (a resync of an unchanged container
 *   delivers nothing); during the initial list resources are collected and go out as one replace.
 * - A rejection (labels that do not decode) is reported once per (container id, message); it
 *   deletes whatever the key showed before.
 * - A key the container no longer backs is deleted `recreateGraceMs` later, and only if no newer
 *   container took the name meanwhile (compose recreate = one update, not a delete and a create).
 * - Compose v2's temporary `<id[:12]>_<name>` replacement backs no key.
 * - An `UntrustedImageLabel` warning is recorded once per (key, container id, labels).
 *
 * Calls must be serialized (one `upsert`/`delete` finishes before the next starts), as the
 * informer does.
 */
export class ContainerResourceTracker {
  readonly #definitions: () => readonly ResourceDefinition[];
  readonly #trust: ImageLabelTrust;
  readonly #clock: Clock;
  readonly #graceMs: number;
  readonly #trustImageLabels: boolean;
  readonly #maxLabelBytes: number;
  readonly #logger: Logger | undefined;
  readonly #recorder: () => EventRecorder | undefined;

  #sink: ResourceSink | undefined;
  /** Resources delivered to the sink, by key. */
  readonly #resources = new Map<ResourceKey, ContainerResource>();
  /** Keys each container currently backs (resources and rejections). */
  // An array, not a Set: one key per matching kind, rarely more than one (a Set per container
  // was an allocation each in a list of thousands).
  readonly #keysById = new Map<string, ResourceKey[]>();
  /** Last rejection per key, so a resync does not repeat it. */
  readonly #rejected = new Map<ResourceKey, { id: string; message: string }>();
  readonly #untrustedWarned = new Map<ResourceKey, string>();
  readonly #pendingDeletes = new Map<ResourceKey, TimerHandle>();
  /** Collected during an initial list, delivered as one replace (with their keys, made once). */
  #initial: ContainerResource[] | undefined;
  #initialKeys: ResourceKey[] = [];
  /**
   * During an initial list: specs decoded, by definition and owned labels. Containers with the same
   * owned labels (replicas, a generated fleet) share one spec object, read-only like every
   * delivered spec, and the cache validates a shared spec once per replace.
   */
  #initialSpecs: Map<ResourceDefinition, MemoNode> | undefined;
  #resourceVersion = 0;
  readonly #nextResourceVersion = (): string => String(++this.#resourceVersion);

  constructor(options: ContainerResourceTrackerOptions) {
    const defs = options.definitions;
    this.#definitions = typeof defs === 'function' ? defs : () => defs;
    const rec = options.recorder;
    this.#recorder = typeof rec === 'function' ? rec : () => rec;
    this.#trust = options.trust;
    this.#clock = options.clock;
    const d = CONTAINER_RESOURCE_TRACKER_DEFAULTS;
    this.#graceMs = options.recreateGraceMs ?? d.recreateGraceMs;
    this.#trustImageLabels = options.trustImageLabels ?? d.trustImageLabels;
    this.#maxLabelBytes = options.maxLabelBytes ?? d.maxLabelBytes;
    this.#logger = options.logger;
  }

  /** Where deliveries go from now on. */
  attach(sink: ResourceSink): void {
    this.#sink = sink;
  }

  /** Collect resources instead of upserting them, until `finishInitialList`. */
  beginInitialList(): void {
    this.#initial = [];
    this.#initialKeys = [];
    this.#initialSpecs = new Map();
  }

  /** Delivers what was collected since `beginInitialList` as one `replace`. No-op outside a list. */
  finishInitialList(): void {
    const initial = this.#initial;
    if (!initial) return;
    const keys = this.#initialKeys;
    this.#initial = undefined;
    this.#initialKeys = [];
    this.#initialSpecs = undefined;
    this.#mustSink().replace(initial, keys);
  }

  /**
   * A container appeared or changed. Synchronous unless an image must be inspected (a sensitive
   * label, on an image not inspected yet): a list of thousands then pays no promise and no await
   * per container, and at most one per image.
   */
  upsert(container: ObservedContainer): void | Promise<void> {
    const owned: ResourceKey[] = [];
    if (isComposeTemporary(container)) return this.#keep(container, owned);
    const definitions = this.#definitions();
    for (let i = 0; i < definitions.length; i++) {
      const def = definitions[i]!;
      if (!selects(def.selector, container.status.labels)) continue;
      const key = makeKey(def.kind, container.status.name);
      owned.push(key);
      // One scan of the labels for the owned keys serves the trust check and the decode; during
      // the initial list, containers with the same owned labels share both answers.
      const keys = ownedKeys(def.selector, container.status.labels);
      const memo = this.#memoNode(def, container.status.labels, keys);
      const trust = this.#trustNow(def, container, keys, memo);
      if (!trust) return this.#upsertInspecting(container, definitions, i, key, owned);
      this.#deliver(def, key, container, trust, keys, memo);
    }
    this.#keep(container, owned);
  }

  /** `upsert` from `definitions[from]` (whose key is `key`) on, awaiting image inspects. */
  async #upsertInspecting(
    container: ObservedContainer,
    definitions: readonly ResourceDefinition[],
    from: number,
    key: ResourceKey,
    owned: ResourceKey[],
  ): Promise<void> {
    for (let i = from; i < definitions.length; i++) {
      const def = definitions[i]!;
      if (i > from) {
        if (!selects(def.selector, container.status.labels)) continue;
        key = makeKey(def.kind, container.status.name);
        owned.push(key);
      }
      const trust =
        this.#trust.filterNow(def.selector, container.status, this.#trustImageLabels) ??
        this.#trust.filterInspected(def.selector, container.status) ??
        (await this.#trust.filter(def.selector, container.status, this.#trustImageLabels));
      this.#deliver(def, key, container, trust);
    }
    this.#keep(container, owned);
  }

  /**
   * The trust check's answer when known without an await: `ImageLabelTrust.filterNow`, else
   * `filterInspected` (the image already inspected). Taken from `memo` when another container
   * answered it: one with the same owned labels, and for a sensitive one also the same image.
   */
  #trustNow(
    def: ResourceDefinition,
    container: ObservedContainer,
    keys: string[],
    memo: MemoNode | undefined,
  ): TrustResult | undefined {
    const status = container.status;
    if (memo?.imageless) return { labels: status.labels, untrusted: [] };
    if (memo?.imageless === undefined) {
      const now = this.#trust.filterNow(def.selector, status, this.#trustImageLabels, keys);
      if (memo) memo.imageless = now !== undefined;
      if (now) return now;
    }
    if (memo?.trustedImages?.has(status.imageId)) return { labels: status.labels, untrusted: [] };
    const trust = this.#trust.filterInspected(def.selector, status, keys);
    // Only "all kept" is remembered: a container with labels dropped is delivered (and warned
    // about) on its own, without the memo, as before.
    if (memo && trust?.untrusted.length === 0)
      (memo.trustedImages ??= new Set()).add(status.imageId);
    return trust;
  }

  /** The container backs `owned` now: whatever else it backed is released. */
  #keep(container: ObservedContainer, owned: ResourceKey[]): void {
    const id = container.status.id;
    const before = this.#keysById.get(id);
    if (before) {
      for (const key of before) if (!owned.includes(key)) this.#release(key, id);
    }
    // Kept as a right-sized copy: an array grown by push holds 16 slots (176 bytes for one key,
    // 2,000 containers: a third of a megabyte that every scavenge of a long list copies).
    if (owned.length > 0) this.#keysById.set(id, owned.slice());
    else this.#keysById.delete(id);
  }

  /** A container is gone: its keys are deleted after the recreate grace period. */
  delete(container: ObservedContainer): void {
    const id = container.status.id;
    for (const key of this.#keysById.get(id) ?? []) this.#release(key, id);
    this.#keysById.delete(id);
  }

  /** Resources currently delivered. */
  resources(): ContainerResource[] {
    return [...this.#resources.values()];
  }

  /** Drops the pending grace-period deletes (on stop: no timer outlives the source). */
  cancelPendingDeletes(): void {
    for (const t of this.#pendingDeletes.values()) t.cancel();
    this.#pendingDeletes.clear();
  }

  #deliver(
    def: ResourceDefinition,
    key: ResourceKey,
    container: ObservedContainer,
    trust: TrustResult,
    keys?: string[],
    memo?: MemoNode,
  ): void {
    const sink = this.#mustSink();
    const { labels, untrusted } = trust;
    if (untrusted.length > 0) this.#warnUntrusted(key, container, trust);
    else this.#untrustedWarned.delete(key);

    // `keys` and `memo` are those of the container's labels: of no use when the trust check
    // dropped some.
    const all = labels === container.status.labels;
    const decoded = this.#decode(
      def,
      labels,
      container.status.name,
      all ? keys : undefined,
      all ? memo : undefined,
    );
    if (!decoded.ok) {
      // Skipped for this kind: whatever this key showed before is gone now.
      this.#cancelPendingDelete(key);
      if (this.#resources.delete(key)) sink.delete(key);
      const last = this.#rejected.get(key);
      if (last?.message !== decoded.message || last.id !== container.status.id) {
        this.#rejected.set(key, { id: container.status.id, message: decoded.message });
        this.#logger?.warn('docker.labels.rejected', {
          key,
          reason: decoded.reason,
          message: decoded.message,
        });
        sink.reject(key, decoded.reason, decoded.message);
      }
      return;
    }
    this.#rejected.delete(key);
    this.#cancelPendingDelete(key);
    const previous = this.#resources.get(key);
    // No object spread per container (a runtime call in cold code): the optional fields are set.
    const input: BuildResourceInput = {
      definition: def,
      container,
      spec: decoded.spec,
      nextResourceVersion: this.#nextResourceVersion,
    };
    if (untrusted.length > 0) {
      input.annotations = { [UNTRUSTED_LABELS_ANNOTATION]: untrusted.join(',') };
    }
    if (previous) input.previous = previous;
    const resource = buildContainerResource(input);
    if (previous && previous.metadata.resourceVersion === resource.metadata.resourceVersion) return;
    this.#resources.set(key, resource);
    if (this.#initial) {
      this.#initial.push(resource);
      this.#initialKeys.push(key);
    } else sink.upsert(resource);
  }

  /**
   * `decodeLabels` (`keys`: the owned keys of `labels`, and `memo` their node, when known); during
   * an initial list, once per distinct owned labels of a kind.
   */
  #decode(
    def: ResourceDefinition,
    labels: Record<string, string>,
    containerName: string,
    keys: string[] = ownedKeys(def.selector, labels),
    memo: MemoNode | undefined = this.#memoNode(def, labels, keys),
  ): DecodeResult {
    if (memo?.decoded) return memo.decoded;
    const options = { containerName, maxLabelBytes: this.#maxLabelBytes };
    const decoded = decodeLabels(def.selector, labels, options, keys);
    // A refusal names the container: not shared.
    if (memo && decoded.ok) memo.decoded = decoded;
    return decoded;
  }

  /** During an initial list: the memo node of these owned labels (`keys` of `labels`). */
  #memoNode(
    def: ResourceDefinition,
    labels: Record<string, string>,
    keys: string[],
  ): MemoNode | undefined {
    const specs = this.#initialSpecs;
    if (!specs) return undefined;
    let node: MemoNode | undefined = specs.get(def);
    if (!node) specs.set(def, (node = {}));
    // Walked by the owned labels' own strings (key, then value), not by a signature string
    // made of them: a container whose labels were seen allocates nothing here.
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i] as string;
      const value = ownLabel(labels, key) ?? '';
      const next: Map<string, Map<string, MemoNode>> = (node.next ??= new Map());
      let byValue: Map<string, MemoNode> | undefined = next.get(key);
      if (!byValue) next.set(key, (byValue = new Map()));
      let child: MemoNode | undefined = byValue.get(value);
      if (!child) byValue.set(value, (child = {}));
      node = child;
    }
    return node;
  }

  #warnUntrusted(key: ResourceKey, container: ObservedContainer, trust: TrustResult): void {
    const { untrusted, why } = trust;
    const signature = `${container.status.id}|${why ?? ''}|${untrusted.join(',')}`;
    if (this.#untrustedWarned.get(key) === signature) return;
    this.#untrustedWarned.set(key, signature);
    const image = `image "${container.status.image}" (${container.status.imageId})`;
    for (const label of untrusted) {
      const message =
        why === 'uninspectable'
          ? `sensitive label "${label}" of container "${container.status.name}" ignored: ${image} ` +
            `could not be inspected (${trust.detail ?? 'unknown error'}), so the label can't be told ` +
            `apart from one inherited from the image. Trust image labels (trustImageLabels: true) to accept it.`
          : `label "${label}" of container "${container.status.name}" is inherited from ${image} ` +
            `(the image sets the same field to the same value), not set on the container: ignored. ` +
            `Set it on the container, or trust image labels (trustImageLabels: true).`;
      this.#logger?.warn('docker.labels.untrusted', {
        key,
        label,
        image: container.status.image,
        why,
      });
      this.#recorder()?.event(key, 'Warning', 'UntrustedImageLabel', message);
    }
  }

  /** Container `id` no longer backs `key`: delete it, after the recreate grace period. */
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
      // A newer container may have taken the name in between.
      if (this.#resources.get(key)?.metadata.uid !== id) return;
      this.#resources.delete(key);
      this.#mustSink().delete(key);
    };
    // During the initial list nothing was delivered yet: no grace needed.
    if (this.#graceMs <= 0 || this.#initial) return remove();
    this.#cancelPendingDelete(key);
    this.#pendingDeletes.set(key, this.#clock.setTimeout(remove, this.#graceMs));
  }

  #cancelPendingDelete(key: ResourceKey): void {
    this.#pendingDeletes.get(key)?.cancel();
    this.#pendingDeletes.delete(key);
  }

  #mustSink(): ResourceSink {
    if (!this.#sink) throw new Error('ContainerResourceTracker used before attach()');
    return this.#sink;
  }
}
