import { inject, injectable, multiInject, optional } from 'inversify';
import {
  Clock,
  EventRecorder,
  Logger,
  ResourceDefinition,
  SystemClock,
  type ResourceSink,
  type Source,
} from '@dockop/runtime';
import type { BackoffOptions } from '@dockop/runtime';
import { ContainerInformer, type HostChanges, type ResyncReason } from './container-informer.js';
import type { ContainerResource } from './container-resource.js';
import {
  CONTAINER_RESOURCE_TRACKER_DEFAULTS,
  ContainerResourceTracker,
} from './container-resource-tracker.js';
import { DockerClient } from './docker-client.js';
import { DockerMetrics } from './docker-metrics.js';
import { ImageLabelTrust } from './image-label-trust.js';
import { selects } from './label-decoder.js';

export const DockerSourceOptions = Symbol.for('dockop.DockerSourceOptions');

export interface DockerSourceOptions {
  /** Full relist period, ms. Default 60000. */
  resyncPeriodMs?: number;
  /**
   * Follow Docker's events stream. False: no stream, a relist every `resyncPeriodMs` is the only
   * source of changes, and `healthy()` means "the last relist succeeded". Default true.
   */
  watchEvents?: boolean;
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
  /**
   * Observe only containers carrying every one of these labels with exactly these values (a
   * `--selector`): pushed into Docker's list filters (`label=key=value`, ANDed with the enable
   * label), so the engine sends only those, and checked on events. Default `{}`: every container.
   */
  labelSelector?: Record<string, string>;
}

/**
 * Changes of any container on the host (not only the watched ones), for consumers that list the
 * whole host (e.g. volume coverage) and may skip the list when nothing changed. `DockerSource`
 * provides it from its events stream; undefined while that is not known (no stream, or down).
 */
export const HostContainerChanges = Symbol.for('dockop.HostContainerChanges');

export interface HostContainerChanges {
  hostChanges(): HostChanges | undefined;
  /**
   * Ids of the containers with events after `revision` (from `hostChanges`), each once; undefined
   * when not known (a reconnect since, or too many events): list everything.
   */
  changedSince(revision: number): string[] | undefined;
}

export const DOCKER_SOURCE_DEFAULTS = {
  resyncPeriodMs: 60_000,
  watchEvents: true,
  ...CONTAINER_RESOURCE_TRACKER_DEFAULTS,
  livenessGraceMs: 120_000,
  labelSelector: {},
} as const;

/**
 * The Docker `Source`: one informer for every bound ResourceDefinition; each container becomes
 * one resource per kind whose selector matches, named after the container.
 */
@injectable()
export class DockerSource implements Source, HostContainerChanges {
  readonly name = 'docker';
  readonly #definitions: ResourceDefinition[];
  readonly #clock: Clock;
  readonly #opts: Required<Omit<DockerSourceOptions, 'reconnect'>> & { reconnect?: BackoffOptions };
  readonly #tracker: ContainerResourceTracker;
  readonly #informer: ContainerInformer;
  #started = false;

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
    const log = logger?.child({ component: 'docker-source' });
    this.#opts = { ...DOCKER_SOURCE_DEFAULTS, ...options };
    this.#tracker = new ContainerResourceTracker({
      definitions: this.#definitions,
      trust: new ImageLabelTrust(client, log),
      clock: this.#clock,
      recreateGraceMs: this.#opts.recreateGraceMs,
      trustImageLabels: this.#opts.trustImageLabels,
      maxLabelBytes: this.#opts.maxLabelBytes,
      ...(log ? { logger: log } : {}),
      ...(recorder ? { recorder } : {}),
    });
    // Everything up to the informer's first full list goes out as one replace.
    this.#tracker.beginInitialList();
    const wanted = Object.entries(this.#opts.labelSelector);
    this.#informer = new ContainerInformer(
      client,
      {
        upsert: (c) => this.#tracker.upsert(c),
        delete: (c) => this.#tracker.delete(c),
        synced: (reason) => this.#onSynced(reason),
      },
      {
        // Server side: the enable label exists (and the label selector matches); the enable
        // label's value (case-insensitive `true`) is checked here.
        listFilters: this.#definitions.map((d): Record<string, string[]> => {
          const label = [
            ...(d.selector.enableLabel ? [d.selector.enableLabel] : []),
            ...wanted.map(([k, v]) => `${k}=${v}`),
          ];
          return label.length > 0 ? { label } : {};
        }),
        selects: (labels) => {
          // Indexed loops without destructuring, not every/some with closures: asked for every
          // container of every list, mostly in cold code, where a for-of allocates per step.
          for (let i = 0; i < wanted.length; i++) {
            const pair = wanted[i] as [string, string];
            if (!Object.hasOwn(labels, pair[0]) || labels[pair[0]] !== pair[1]) return false;
          }
          const definitions = this.#definitions;
          for (let i = 0; i < definitions.length; i++) {
            if (selects((definitions[i] as ResourceDefinition).selector, labels)) return true;
          }
          return false;
        },
        resyncPeriodMs: this.#opts.resyncPeriodMs,
        watchEvents: this.#opts.watchEvents,
        ...(this.#opts.reconnect ? { reconnect: this.#opts.reconnect } : {}),
        clock: this.#clock,
        ...(log ? { logger: log } : {}),
        ...(metrics ? { metrics } : {}),
      },
    );
  }

  /** The kinds this source serves. */
  get definitions(): readonly ResourceDefinition[] {
    return this.#definitions;
  }

  async start(sink: ResourceSink, signal: AbortSignal): Promise<void> {
    if (this.#started) throw new Error('DockerSource already started');
    this.#started = true;
    this.#tracker.attach(sink);
    signal.addEventListener('abort', () => this.#tracker.cancelPendingDeletes());
    await this.#informer.start(signal);
  }

  hasSynced(): boolean {
    return this.#informer.hasSynced();
  }

  /** The informer's first list, begun early (polling only: see `ContainerInformer.prefetch`). */
  prefetch(signal: AbortSignal): void {
    this.#informer.prefetch(signal);
  }

  resync(): Promise<void> {
    return this.#informer.resync('manual');
  }

  /** The events stream is connected (without `watchEvents`: the last relist succeeded). */
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
    return this.#tracker.resources();
  }

  hostChanges(): HostChanges | undefined {
    return this.#informer.hostChanges();
  }

  changedSince(revision: number): string[] | undefined {
    return this.#informer.changedSince(revision);
  }

  get informer(): ContainerInformer {
    return this.#informer;
  }

  #onSynced(reason: ResyncReason): void {
    if (reason === 'initial') this.#tracker.finishInitialList();
  }
}
