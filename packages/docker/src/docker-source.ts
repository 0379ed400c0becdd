import { inject, injectable, multiInject, optional } from 'inversify';
import {
  Clock,
  EventRecorder,
  Logger,
  ResourceDefinition,
  SystemClock,
  makeKey,
  type ResourceKey,
  type ResourceSink,
  type Source,
  type TimerHandle,
} from '@dockop/runtime';
import type { BackoffOptions } from './backoff.js';
import { ContainerInformer, type ResyncReason } from './container-informer.js';
import {
  buildContainerResource,
  type ContainerResource,
  type ObservedContainer,
} from './container-resource.js';
import { DockerClient } from './docker-client.js';
import { DockerMetrics } from './docker-metrics.js';
import { ImageLabelTrust } from './image-label-trust.js';
import { DEFAULT_MAX_LABEL_BYTES, decodeLabels, selects } from './label-decoder.js';

export const DockerSourceOptions = Symbol.for('dockop.DockerSourceOptions');

export interface DockerSourceOptions {
  /** Full relist period, ms. Default 60000. */
  resyncPeriodMs?: number;
  /** Accept sensitive labels inherited from the image (a third-party Dockerfile's LABEL). Default false. */
  trustImageLabels?: boolean;
  /** Events stream reconnect backoff. Defaults: 500 ms, ×2, cap 30000 ms, reset after 30000 ms up. */
  reconnect?: BackoffOptions;
  /** Longest accepted label value, in UTF-8 bytes. Default 4096. */
  maxLabelBytes?: number;
  /**
   * A vacated name (container destroyed or renamed) is deleted only after this long, ms; a
   * container taking the same name meanwhile (compose recreate, `rm` + `run`) is then an update
   * of the same key instead of a delete and a create. 0 deletes at once. Default 2000.
   */
  recreateGraceMs?: number;
  /** Liveness stays true this long (ms) after the events stream was lost. Default 120000. */
  livenessGraceMs?: number;
}

export const DOCKER_SOURCE_DEFAULTS = {
  resyncPeriodMs: 60_000,
  trustImageLabels: false,
  maxLabelBytes: DEFAULT_MAX_LABEL_BYTES,
  recreateGraceMs: 2_000,
  livenessGraceMs: 120_000,
} as const;

/** Annotation listing the sensitive labels dropped because they came from the image. */
export const UNTRUSTED_LABELS_ANNOTATION = 'docker.dockop.io/untrusted-image-labels';

/** Compose v2 creates a replacement as `<id[:12]>_<name>` and renames it once the old one is gone. */
function isComposeTemporary(c: ObservedContainer): boolean {
  return c.status.name.startsWith(`${c.status.id.slice(0, 12)}_`);
}

/**
 * The Docker `Source`: one informer for every bound ResourceDefinition; each container becomes
 * one resource per kind whose selector matches, named after the container.
 */
@injectable()
export class DockerSource implements Source {
  readonly name = 'docker';
  readonly #definitions: ResourceDefinition[];
  readonly #clock: Clock;
  readonly #logger: Logger | undefined;
  readonly #recorder: EventRecorder | undefined;
  readonly #opts: Required<Omit<DockerSourceOptions, 'reconnect'>> & { reconnect?: BackoffOptions };
  readonly #trust: ImageLabelTrust;
  readonly #informer: ContainerInformer;

  #sink: ResourceSink | undefined;
  /** Resources delivered to the sink, by key. */
  readonly #resources = new Map<ResourceKey, ContainerResource>();
  /** Keys each container currently backs (resources and rejections). */
  readonly #keysById = new Map<string, Set<ResourceKey>>();
  /** Last rejection message per key, so a resync does not repeat it. */
  readonly #rejected = new Map<ResourceKey, { id: string; message: string }>();
  readonly #untrustedWarned = new Map<ResourceKey, string>();
  readonly #pendingDeletes = new Map<ResourceKey, TimerHandle>();
  #initial: ContainerResource[] | undefined = [];
  #resourceVersion = 0;

  constructor(
    @inject(DockerClient) client: DockerClient,
    @multiInject(ResourceDefinition) @optional() definitions: ResourceDefinition[] | undefined,
    @inject(Clock) @optional() clock: Clock | undefined,
    @inject(Logger) @optional() logger: Logger | undefined,
    @inject(EventRecorder) @optional() recorder: EventRecorder | undefined,
    @inject(DockerMetrics) @optional() metrics: DockerMetrics | undefined,
    @inject(DockerSourceOptions) @optional() options: DockerSourceOptions | undefined,
  ) {
    this.#definitions = [...(definitions ?? [])];
    const kinds = new Set<string>();
    for (const d of this.#definitions) {
      if (kinds.has(d.kind)) throw new Error(`ResourceDefinition kind "${d.kind}" is bound twice`);
      kinds.add(d.kind);
    }
    this.#clock = clock ?? new SystemClock();
    this.#logger = logger?.child({ component: 'docker-source' });
    this.#recorder = recorder;
    this.#opts = { ...DOCKER_SOURCE_DEFAULTS, ...options };
    this.#trust = new ImageLabelTrust(client, this.#logger);
    this.#informer = new ContainerInformer(
      client,
      {
        upsert: (c) => this.#onUpsert(c),
        delete: (c) => this.#onDelete(c),
        synced: (reason) => this.#onSynced(reason),
      },
      {
        // Server side: the enable label exists; its value (case-insensitive `true`) is checked here.
        listFilters: this.#definitions.map((d): Record<string, string[]> =>
          d.selector.enableLabel ? { label: [d.selector.enableLabel] } : {},
        ),
        selects: (labels) => this.#definitions.some((d) => selects(d.selector, labels)),
        resyncPeriodMs: this.#opts.resyncPeriodMs,
        ...(this.#opts.reconnect ? { reconnect: this.#opts.reconnect } : {}),
        clock: this.#clock,
        ...(this.#logger ? { logger: this.#logger } : {}),
        ...(metrics ? { metrics } : {}),
      },
    );
  }

  /** The kinds this source serves. */
  get definitions(): readonly ResourceDefinition[] {
    return this.#definitions;
  }

  async start(sink: ResourceSink, signal: AbortSignal): Promise<void> {
    if (this.#sink) throw new Error('DockerSource already started');
    this.#sink = sink;
    signal.addEventListener('abort', () => {
      for (const t of this.#pendingDeletes.values()) t.cancel();
      this.#pendingDeletes.clear();
    });
    await this.#informer.start(signal);
  }

  hasSynced(): boolean {
    return this.#informer.hasSynced();
  }

  resync(): Promise<void> {
    return this.#informer.resync('manual');
  }

  /** The events stream is connected. */
  healthy(): boolean {
    return this.#informer.connected;
  }

  /** Connected, or lost for less than `livenessGraceMs` (reconnecting with backoff). */
  live(): boolean {
    const since = this.#informer.disconnectedSince;
    return since === undefined || this.#clock.now() - since < this.#opts.livenessGraceMs;
  }

  /** Resources currently delivered, for diagnostics and tests. */
  resources(): ContainerResource[] {
    return [...this.#resources.values()];
  }

  get informer(): ContainerInformer {
    return this.#informer;
  }

  async #onUpsert(container: ObservedContainer): Promise<void> {
    const id = container.status.id;
    const owned = new Set<ResourceKey>();
    if (!isComposeTemporary(container)) {
      for (const def of this.#definitions) {
        if (!selects(def.selector, container.status.labels)) continue;
        const key = makeKey(def.kind, container.status.name);
        owned.add(key);
        await this.#deliver(def, key, container);
      }
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
  ): Promise<void> {
    const sink = this.#mustSink();
    const name = container.status.name;
    const { labels, untrusted } = await this.#trust.filter(
      def.selector.sensitiveLabels ?? [],
      container.status,
      this.#opts.trustImageLabels,
    );
    if (untrusted.length > 0) this.#warnUntrusted(key, container, untrusted);
    else this.#untrustedWarned.delete(key);

    const decoded = decodeLabels(def.selector, labels, {
      containerName: name,
      maxLabelBytes: this.#opts.maxLabelBytes,
    });
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
    if (this.#initial) this.#initial.push(resource);
    else sink.upsert(resource);
  }

  #warnUntrusted(key: ResourceKey, container: ObservedContainer, untrusted: string[]): void {
    const signature = `${container.status.id}|${untrusted.join(',')}`;
    if (this.#untrustedWarned.get(key) === signature) return;
    this.#untrustedWarned.set(key, signature);
    for (const label of untrusted) {
      const message =
        `label "${label}" of container "${container.status.name}" is inherited from image ` +
        `"${container.status.image}" (${container.status.imageId}), not set on the container: ignored. ` +
        `Set it on the container, or trust image labels (trustImageLabels: true).`;
      this.#logger?.warn('docker.labels.untrusted', { key, label, image: container.status.image });
      this.#recorder?.event(key, 'Warning', 'UntrustedImageLabel', message);
    }
  }

  #onDelete(container: ObservedContainer): void {
    const id = container.status.id;
    for (const key of this.#keysById.get(id) ?? []) this.#release(key, id);
    this.#keysById.delete(id);
  }

  /** Container `id` no longer backs `key`: delete it, after the recreate grace period. */
  #release(key: ResourceKey, id: string): void {
    const rejected = this.#rejected.get(key);
    if (rejected?.id === id) {
      this.#rejected.delete(key);
      if (!this.#resources.has(key)) this.#mustSink().delete(key);
    }
    this.#untrustedWarned.delete(key);
    const resource = this.#resources.get(key);
    if (resource?.metadata.uid !== id) return;
    const remove = (): void => {
      this.#pendingDeletes.delete(key);
      // A newer container may have taken the name in between.
      if (this.#resources.get(key)?.metadata.uid !== id) return;
      this.#resources.delete(key);
      this.#mustSink().delete(key);
    };
    if (this.#opts.recreateGraceMs <= 0 || this.#initial) return remove();
    this.#cancelPendingDelete(key);
    this.#pendingDeletes.set(key, this.#clock.setTimeout(remove, this.#opts.recreateGraceMs));
  }

  #cancelPendingDelete(key: ResourceKey): void {
    this.#pendingDeletes.get(key)?.cancel();
    this.#pendingDeletes.delete(key);
  }

  #onSynced(reason: ResyncReason): void {
    if (reason === 'initial' && this.#initial) {
      const initial = this.#initial;
      this.#initial = undefined;
      this.#mustSink().replace(initial);
    }
  }

  #mustSink(): ResourceSink {
    if (!this.#sink) throw new Error('DockerSource used before start()');
    return this.#sink;
  }
}
