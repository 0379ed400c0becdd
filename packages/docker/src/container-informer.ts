import type Dockerode from 'dockerode';
import type { Clock, Logger, TimerHandle } from '@dockop/runtime';
import { Backoff, type BackoffOptions } from '@dockop/runtime';
import {
  observeInspected,
  observeListed,
  sameObservation,
  type ObservedContainer,
} from './container-resource.js';
import { pingEngine, type DockerClient } from './docker-client.js';
import { abandonEarlyContainerList, takeEarlyContainerList } from './early-container-list.js';
import type { DockerMetrics } from './docker-metrics.js';
import { EVENT_FILTERS, EventStreamParser, type ContainerEvent } from './event-stream.js';

export type ResyncReason = 'initial' | 'reconnect' | 'periodic' | 'manual';

/** What the informer tells its owner. Calls are serialized: one finishes before the next starts. */
export interface ContainerInformerHandler {
  /** A container appeared or something observable about it changed. */
  upsert(
    container: ObservedContainer,
    previous: ObservedContainer | undefined,
  ): void | Promise<void>;
  /** A container was destroyed, or vanished while unobserved (found by a relist diff). */
  delete(container: ObservedContainer): void | Promise<void>;
  /** A full list was applied (after its upserts and deletes). */
  synced?(reason: ResyncReason, containers: ObservedContainer[]): void | Promise<void>;
}

export interface ContainerInformerOptions {
  /**
   * One `GET /containers/json?all=true` per entry, results merged by id; `{}` lists everything.
   * Default `[{}]`.
   */
  listFilters?: Record<string, string[]>[];
  /**
   * Client-side selection on labels (server filters can't express everything, e.g. a
   * case-insensitive `true`). Events of containers it refuses are dropped without an API call.
   * Default: every container.
   */
  selects?: (labels: Record<string, string>) => boolean;
  /**
   * Full relist period, ms. Default 60000. Without `watchEvents`, the only source of changes:
   * a failed relist is retried sooner, with the `reconnect` backoff (capped at this period).
   * With it, a period in which nothing could have been missed is skipped, up to
   * QUIET_RELIST_PERIODS in a row (see `#scheduleResync`).
   */
  resyncPeriodMs?: number;
  /**
   * Open Docker's events stream (default true). False: no stream; the informer relists every
   * `resyncPeriodMs` and finds changes (deletes included) by diffing lists.
   */
  watchEvents?: boolean;
  reconnect?: BackoffOptions;
  /**
   * While the events stream backs off, `GET /_ping` this often (ms) and reconnect as soon as an
   * engine that did not answer answers again (a dockerd restart), instead of sleeping out a
   * backoff grown by earlier restarts. An engine that answers pings while its stream fails keeps
   * the full backoff. Default 250 on a local socket, 0 (off) for a remote engine.
   */
  pingIntervalMs?: number;
  /** Source of jitter (tests). Default Math.random. */
  random?: () => number;
}

export const DEFAULT_RESYNC_PERIOD_MS = 60_000;

/**
 * With the events stream up, a quiet host is relisted once in this many periods: a relist of 500
 * containers every minute was most of an idle daemon's CPU (the list's parse and its garbage).
 */
export const QUIET_RELIST_PERIODS = 10;

/** Container ids kept for `changedSince` (events beyond them: the consumer lists everything). */
const HOST_CHANGE_LOG = 4096;

/**
 * Whether any container on the host (selected or not) may have changed: `revision` moves on every
 * watched event of any container and on every list after a (re)connect (events may have been
 * missed); `lastChangeAt` is the informer clock's time of that move.
 */
export interface HostChanges {
  revision: number;
  lastChangeAt: number;
}

/**
 * Containers refreshed by one id-filtered `GET /containers/json` after events. One list of 50
 * ids among 500 containers costs dockerd about what 10 inspects do; a burst of 100 starts was 100
 * inspects, 8 at a time, and the last container's plan waited for all of them.
 */
const REFRESH_BATCH = 50;

/** Containers inspected at once (events whose state change the list view may not show yet). */
const INSPECT_CONCURRENCY = 8;

/**
 * How a container with pending events is refreshed. `list`: in a batch, by one id-filtered list.
 * `inspect`: alone, because the list view can lag the event (Docker 20.10 checkpoints a
 * container's list view after logging `die`: a list right after it still says `running`; health
 * likewise). `destroy`: no call. A stronger one wins: destroy > inspect > list.
 */
type Pending = 'list' | 'inspect' | 'destroy';

function pendingFor(action: ContainerEvent['action'], before: Pending | undefined): Pending {
  if (action === 'destroy' || before === 'destroy') return 'destroy';
  if (action === 'die' || action === 'health_status' || before === 'inspect') return 'inspect';
  return 'list';
}

/**
 * Keeps an up-to-date map of the containers that match, from Docker's events stream plus lists.
 *
 * Invariants (client-go's reflector, adapted to Docker):
 * - The events stream is opened before every list, so no change between list and watch is lost.
 * - Events never cause a relist. Containers with pending create/start/rename events are refreshed
 *   together by one `GET /containers/json` filtered on their ids (and the list filters); die and
 *   health_status by an inspect each (the list view can lag those events).
 * - The stream handler only parses and enqueues; events of one container are coalesced.
 * - Every (re)connect is followed by a full list; vanished containers become deletes.
 * - A periodic relist repairs what the stream missed. dockerd drops events only for a subscriber
 *   1024 events behind (moby's daemon/events: a 1,024-event channel per subscriber, and an event
 *   skipped for it only after 100 ms with that channel full), so a period without any event,
 *   failed refresh or malformed line since the last relist has nothing to repair: it is skipped
 *   (at most QUIET_RELIST_PERIODS - 1 in a row).
 * - A stopped container stays; only `destroy` (or absence from a list) deletes.
 * - Reconnects back off with full jitter and never give up.
 * - Without `watchEvents`: no stream at all; a relist every `resyncPeriodMs`, and `connected`
 *   means "the last relist succeeded" (the engine answers), which health checks rely on.
 */
export class ContainerInformer {
  readonly #client: DockerClient;
  readonly #handler: ContainerInformerHandler;
  readonly #clock: Clock;
  readonly #logger: Logger | undefined;
  readonly #metrics: DockerMetrics | undefined;
  readonly #listFilters: Record<string, string[]>[];
  readonly #selects: (labels: Record<string, string>) => boolean;
  readonly #resyncPeriodMs: number;
  readonly #backoff: Backoff;
  readonly #watchEvents: boolean;
  /** The initial list's calls, begun by `prefetch`. */
  #prefetched: Promise<Dockerode.ContainerInfo[][]> | undefined;
  readonly #pingIntervalMs: number;
  /** The engine stopped answering (a ping or the connection failed) and has not answered since. */
  #engineDown = false;

  readonly #cache = new Map<string, ObservedContainer>();
  readonly #pending = new Map<string, Pending>();
  #relistWaiters: { reason: ResyncReason; resolve: () => void; reject: (e: unknown) => void }[] =
    [];
  #draining: Promise<void> | undefined;

  #connected = false;
  #hostRevision = 0;
  #lastHostChangeAt: number;
  /** Ids of the containers of the last events, the last one at `#hostRevision`. */
  #hostLog: string[] = [];
  /** `changedSince` is known only from this revision on (the last reconnect). */
  #hostLogFloor = 0;
  #disconnectedSince: number;
  #synced = false;
  #signal: AbortSignal | undefined;
  #resyncTimer: TimerHandle | undefined;
  #resetTimer: TimerHandle | undefined;
  /** Since the last relist began: an event, a failure or a malformed line (see `#scheduleResync`). */
  #mayHaveMissed = true;
  /** Relists skipped in a row. */
  #quietPeriods = 0;

  constructor(
    client: DockerClient,
    handler: ContainerInformerHandler,
    options: ContainerInformerOptions & { clock: Clock; logger?: Logger; metrics?: DockerMetrics },
  ) {
    this.#client = client;
    this.#handler = handler;
    this.#clock = options.clock;
    this.#logger = options.logger;
    this.#metrics = options.metrics;
    this.#listFilters = dedupeFilters(options.listFilters ?? [{}]);
    this.#selects = options.selects ?? (() => true);
    this.#resyncPeriodMs = options.resyncPeriodMs ?? DEFAULT_RESYNC_PERIOD_MS;
    this.#watchEvents = options.watchEvents ?? true;
    this.#backoff = new Backoff(options.reconnect, options.random);
    this.#pingIntervalMs = options.pingIntervalMs ?? (isLocalSocket(client) ? 250 : 0);
    this.#disconnectedSince = this.#clock.now();
    this.#lastHostChangeAt = this.#disconnectedSince;
  }

  /** Connects and lists; resolves after the first full list was handed to the handler. Runs until `signal` aborts. */
  start(signal: AbortSignal): Promise<void> {
    if (this.#signal) throw new Error('ContainerInformer already started');
    this.#signal = signal;
    return new Promise<void>((resolve, reject) => {
      signal.addEventListener('abort', () => reject(signal.reason), { once: true });
      if (this.#watchEvents) void this.#run(signal, resolve);
      else void this.#poll(signal, resolve);
    });
  }

  /** Whether the events stream is used (`watchEvents` option). */
  get watchEvents(): boolean {
    return this.#watchEvents;
  }

  /** True while the events stream is open; without `watchEvents`, while the last relist succeeded. */
  get connected(): boolean {
    return this.#connected;
  }

  /** When the stream (or, without `watchEvents`, relisting) was last lost, or the informer created, if not connected. */
  get disconnectedSince(): number | undefined {
    return this.#connected ? undefined : this.#disconnectedSince;
  }

  hasSynced(): boolean {
    return this.#synced;
  }

  /**
   * Changes of any container on the host, from the events stream. Undefined when not known: no
   * stream (`watchEvents` false), or the stream is down (events are being missed).
   */
  hostChanges(): HostChanges | undefined {
    if (!this.#watchEvents || !this.#connected) return undefined;
    return { revision: this.#hostRevision, lastChangeAt: this.#lastHostChangeAt };
  }

  /**
   * The ids of the containers that had events after `revision` (a value `hostChanges` returned),
   * each once; undefined when that is not known (events missed by a reconnect since, more events
   * than are kept, or no stream): list everything.
   */
  changedSince(revision: number): string[] | undefined {
    if (this.hostChanges() === undefined) return undefined;
    const first = this.#hostRevision - this.#hostLog.length;
    if (revision < this.#hostLogFloor || revision < first || revision > this.#hostRevision) {
      return undefined;
    }
    return [...new Set(this.#hostLog.slice(revision - first))];
  }

  #hostChanged(id?: string): void {
    this.#hostRevision++;
    this.#lastHostChangeAt = this.#clock.now();
    if (id === undefined) {
      this.#hostLog = [];
      this.#hostLogFloor = this.#hostRevision;
      return;
    }
    this.#hostLog.push(id);
    if (this.#hostLog.length > HOST_CHANGE_LOG) this.#hostLog.splice(0, HOST_CHANGE_LOG / 2);
  }

  /** Current view, by container id. */
  get(id: string): ObservedContainer | undefined {
    return this.#cache.get(id);
  }

  list(): ObservedContainer[] {
    return [...this.#cache.values()];
  }

  /** Backoff state, for tests and diagnostics. */
  get reconnectAttempt(): number {
    return this.#backoff.attempt;
  }

  /** Full relist and diff; resolves when applied. */
  resync(reason: ResyncReason = 'manual'): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#relistWaiters.push({ reason, resolve, reject });
      this.#kick();
    });
  }

  async #run(signal: AbortSignal, onFirstSync: () => void): Promise<void> {
    let first = true;
    while (!signal.aborted) {
      const connection = new AbortController();
      const stopConnection = (): void => connection.abort(signal.reason);
      signal.addEventListener('abort', stopConnection, { once: true });
      try {
        const { ended } = await this.#openStream(connection.signal);
        this.#connected = true;
        this.#resetTimer = this.#clock.setTimeout(
          () => this.#backoff.reset(),
          this.#backoff.options.resetAfterMs,
        );
        this.#logger?.info('docker.stream.connected', { attempt: this.#backoff.attempt });
        // Whatever happened while disconnected was not seen as events.
        this.#hostChanged();
        await this.resync(first ? 'initial' : 'reconnect');
        if (first) {
          first = false;
          this.#synced = true;
          onFirstSync();
        }
        this.#scheduleResync();
        await ended;
        if (!signal.aborted) this.#logger?.warn('docker.stream.ended', {});
      } catch (err) {
        if (isConnectionError(err)) this.#engineDown = true;
        if (!signal.aborted) this.#logger?.warn('docker.stream.failed', { error: errorText(err) });
      } finally {
        signal.removeEventListener('abort', stopConnection);
        connection.abort(new Error('reconnecting'));
        if (this.#connected) this.#disconnectedSince = this.#clock.now();
        this.#connected = false;
        this.#resetTimer?.cancel();
        this.#resyncTimer?.cancel();
      }
      if (signal.aborted) break;
      const delay = this.#backoff.next();
      this.#metrics?.reconnect();
      this.#logger?.info('docker.stream.reconnecting', {
        inMs: delay,
        attempt: this.#backoff.attempt,
      });
      try {
        await this.#backOff(delay, signal);
      } catch {
        break;
      }
    }
  }

  /**
   * Sleeps `delay`, cut short when the engine, down so far, answers `/_ping` again: after a
   * dockerd restart the stream reconnects within one ping interval of the engine being back.
   */
  async #backOff(delay: number, signal: AbortSignal): Promise<void> {
    const interval = this.#pingIntervalMs;
    if (!(interval > 0)) return this.#clock.sleep(delay, signal);
    const until = this.#clock.now() + delay;
    for (;;) {
      const left = until - this.#clock.now();
      if (left <= 0) return;
      await this.#clock.sleep(Math.min(interval, left), signal);
      if (until - this.#clock.now() <= 0) return;
      if (!(await this.#ping(signal))) {
        this.#engineDown = true;
      } else if (this.#engineDown) {
        this.#engineDown = false;
        this.#logger?.info('docker.engine.back', { skippedMs: until - this.#clock.now() });
        return;
      }
    }
  }

  async #ping(signal: AbortSignal): Promise<boolean> {
    try {
      const bounded = AbortSignal.any([signal, AbortSignal.timeout(1_000)]);
      await pingEngine(this.#client, 'system.ping', bounded);
      return true;
    } catch {
      return false;
    }
  }

  // watchEvents false: relist, wait the period, repeat; a failure retries sooner with backoff.
  async #poll(signal: AbortSignal, onFirstSync: () => void): Promise<void> {
    let first = true;
    while (!signal.aborted) {
      let delay = this.#resyncPeriodMs;
      try {
        await this.resync(first ? 'initial' : 'periodic');
        // The first list is a start-up step (debug); a list that works again after failures is news.
        if (!this.#connected) {
          if (first) this.#logger?.debug('docker.relist.ok', { polling: true });
          else this.#logger?.info('docker.relist.ok', { polling: true });
        }
        this.#connected = true;
        this.#backoff.reset();
        if (first) {
          first = false;
          this.#synced = true;
          onFirstSync();
        }
      } catch (err) {
        if (signal.aborted) break;
        if (this.#connected) this.#disconnectedSince = this.#clock.now();
        this.#connected = false;
        delay = Math.min(this.#backoff.next(), this.#resyncPeriodMs);
        this.#logger?.warn('docker.relist.failed', {
          error: errorText(err),
          retryInMs: delay,
          attempt: this.#backoff.attempt,
        });
      }
      try {
        await this.#clock.sleep(delay, signal);
      } catch {
        break;
      }
    }
  }

  /** Opens `GET /events`; resolves once the response started, with a promise of its end. */
  async #openStream(signal: AbortSignal): Promise<{ ended: Promise<void> }> {
    const stream = (await this.#client.streamRequest('events', (d) =>
      d.getEvents({ filters: EVENT_FILTERS, abortSignal: signal } as Dockerode.GetEventsOptions),
    )) as NodeJS.ReadableStream & { destroy?: () => void };
    const parser = new EventStreamParser({
      event: (e) => this.#onEvent(e),
      malformed: (line, error) => {
        this.#mayHaveMissed = true;
        this.#logger?.warn('docker.event.malformed', {
          line: line.slice(0, 200),
          error: error.message,
        });
      },
    });
    const ended = new Promise<void>((resolve) => {
      let done = false;
      const finish = (): void => {
        if (done) return;
        done = true;
        signal.removeEventListener('abort', onAbort);
        parser.end();
        stream.destroy?.();
        resolve();
      };
      const onAbort = (): void => finish();
      signal.addEventListener('abort', onAbort, { once: true });
      stream.on('data', (chunk: Buffer) => {
        // Any line, of any container: events dropped for us come after many of them.
        this.#mayHaveMissed = true;
        parser.push(chunk);
      });
      stream.on('end', finish);
      stream.on('close', finish);
      stream.on('error', (err: unknown) => {
        if (!signal.aborted) this.#logger?.warn('docker.stream.error', { error: errorText(err) });
        finish();
      });
    });
    return { ended };
  }

  // Runs on the stream's data callback: parse, enqueue, return (dockerd drops slow listeners).
  #onEvent(e: ContainerEvent): void {
    this.#metrics?.event(e.action);
    this.#hostChanged(e.id);
    if (!this.#cache.has(e.id) && !this.#pending.has(e.id) && !this.#selects(e.attributes)) return;
    // destroy wins; a later create of the same id cannot happen (ids are unique).
    this.#pending.set(e.id, pendingFor(e.action, this.#pending.get(e.id)));
    this.#kick();
  }

  #kick(): void {
    // Stopped: #drain returns at once, so re-kicking for what is still pending would spin the
    // microtask queue forever (a daemon stopped with events pending never exited).
    if (this.#draining || this.#signal?.aborted) return;
    this.#draining = this.#drain().finally(() => {
      this.#draining = undefined;
      if (this.#relistWaiters.length > 0 || this.#pending.size > 0) this.#kick();
    });
  }

  // The single worker: relists and per-container updates never interleave, so a relist can't
  // overwrite a newer inspect with an older list entry (events queued meanwhile run after it).
  async #drain(): Promise<void> {
    while (!this.#signal?.aborted) {
      if (this.#relistWaiters.length > 0) {
        const waiters = this.#relistWaiters;
        this.#relistWaiters = [];
        const reason = waiters[0]?.reason ?? 'manual';
        try {
          await this.#relist(reason);
          waiters.forEach((w) => w.resolve());
        } catch (err) {
          this.#mayHaveMissed = true;
          waiters.forEach((w) => w.reject(err));
        }
        continue;
      }
      // Every container with pending events (up to REFRESH_BATCH) in one list call, so a burst
      // of starts is not one round trip per container. Taken out of #pending first: an event
      // arriving meanwhile refreshes its container again after this batch.
      const batch: [string, Pending][] = [];
      for (const entry of this.#pending) {
        batch.push(entry);
        if (batch.length === REFRESH_BATCH) break;
      }
      if (batch.length === 0) return;
      for (const [id] of batch) this.#pending.delete(id);
      try {
        await this.#refresh(batch);
      } catch (err) {
        // The next relist (reconnect or periodic) repairs whatever this missed.
        this.#mayHaveMissed = true;
        this.#logger?.warn('docker.container.refresh_failed', {
          containers: batch.map(([id]) => id),
          error: errorText(err),
        });
      }
    }
    for (const w of this.#relistWaiters.splice(0)) w.reject(this.#signal?.reason);
  }

  /**
   * Applies a batch of pending events: destroys at once, `inspect` ones by an inspect each (up to
   * INSPECT_CONCURRENCY at once), the rest from one list filtered on their ids. A container the
   * list or inspect does not return is gone (or outside the list filters, as a relist would
   * find): deleted.
   */
  async #refresh(batch: [string, Pending][]): Promise<void> {
    const ids = batch.filter(([, what]) => what === 'list').map(([id]) => id);
    const inspect = batch.filter(([, what]) => what === 'inspect').map(([id]) => id);
    const listed = new Map<string, ObservedContainer>();
    const failed = new Set<string>();
    for (let i = 0; i < inspect.length; i += INSPECT_CONCURRENCY) {
      await Promise.all(
        inspect.slice(i, i + INSPECT_CONCURRENCY).map(async (id) => {
          try {
            const info = await this.#inspect(id);
            if (info) listed.set(id, info);
          } catch (err) {
            // Not "gone": left as it is; the next event or relist repairs it.
            failed.add(id);
            this.#mayHaveMissed = true;
            this.#logger?.warn('docker.container.refresh_failed', {
              container: id,
              error: errorText(err),
            });
          }
        }),
      );
    }
    if (ids.length > 0) {
      const lists = await Promise.all(
        this.#listFilters.map((filters) =>
          this.#client.request('containers.list', (d) =>
            d.listContainers({ all: true, filters: { ...filters, id: ids } }),
          ),
        ),
      );
      for (const list of lists) {
        for (const info of list) {
          if (!listed.has(info.Id)) listed.set(info.Id, observeListed(info));
        }
      }
    }
    for (const [id] of batch) {
      if (failed.has(id)) continue;
      const previous = this.#cache.get(id);
      const current = listed.get(id);
      if (!current || !this.#selects(current.status.labels)) {
        if (previous) await this.#remove(id, previous);
        continue;
      }
      if (previous && sameObservation(previous, current)) continue;
      // Traces event → plan latency (bench/plan-apply TRACE=1) at debug.
      this.#logger?.debug('docker.container.observed', {
        container: current.status.name,
        state: current.status.state,
        batch: batch.length,
      });
      await this.#upsert(id, current, previous);
    }
  }

  /** The container as inspected now; undefined when it is gone. */
  async #inspect(id: string): Promise<ObservedContainer | undefined> {
    try {
      const info = await this.#client.request('containers.inspect', (d) =>
        d.getContainer(id).inspect(),
      );
      return observeInspected(info);
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) return undefined;
      throw err;
    }
  }

  // The cache records a container only once the handler took it, so a failed handler call
  // (e.g. an image inspect) is retried by the next event or relist instead of being forgotten.
  // A handler that answers synchronously is not awaited: a relist of thousands then makes no
  // promise per container.
  #upsert(
    id: string,
    current: ObservedContainer,
    previous: ObservedContainer | undefined,
  ): Promise<void> | undefined {
    let pending: void | Promise<void>;
    try {
      pending = this.#handler.upsert(current, previous);
    } catch (err) {
      this.#handlerFailed(current, err);
      return undefined;
    }
    if (!pending) {
      this.#cache.set(id, current);
      return undefined;
    }
    return pending.then(
      () => void this.#cache.set(id, current),
      (err: unknown) => this.#handlerFailed(current, err),
    );
  }

  #handlerFailed(container: ObservedContainer, err: unknown): void {
    this.#mayHaveMissed = true;
    this.#logger?.warn('docker.container.handler_failed', {
      container: container.status.name,
      error: errorText(err),
    });
  }

  async #remove(id: string, previous: ObservedContainer): Promise<void> {
    this.#cache.delete(id);
    try {
      await this.#handler.delete(previous);
    } catch (err) {
      this.#handlerFailed(previous, err);
    }
  }

  /**
   * Begins the initial relist's list calls now (before `start`); the initial relist takes their
   * answer instead of listing again. Polling informers only: with `watchEvents` the stream opens
   * before the list so that no change falls between them, and a list taken earlier would break
   * that order. `signal` abandons the calls (the caller gave up before starting).
   */
  prefetch(signal?: AbortSignal): void {
    if (this.#watchEvents || this.#signal || this.#prefetched) return;
    this.#prefetched = this.#takeEarlyList(signal) ?? this.#listAll(signal);
    // Awaited (and its failure handled) by the initial relist; unawaited if start never comes.
    this.#prefetched.catch(() => undefined);
  }

  /**
   * The list the launcher began before the program loaded (early-container-list.ts), when it
   * asked this engine's socket with this informer's one set of filters. If it fails, the
   * informer lists itself, so that a failure is reported (and counted) as its own list's would be.
   */
  #takeEarlyList(signal?: AbortSignal): Promise<Dockerode.ContainerInfo[][]> | undefined {
    const socketPath = localSocketPath(this.#client);
    const filters = this.#listFilters.length === 1 ? this.#listFilters[0] : undefined;
    if (socketPath === undefined || filters === undefined || apiVersionOf(this.#client)) {
      abandonEarlyContainerList();
      return undefined;
    }
    const early = takeEarlyContainerList(socketPath, filters, signal);
    if (!early) return undefined;
    this.#logger?.debug('docker.list.early', { socket: socketPath });
    return this.#client
      .request('containers.list', () => early)
      .then(
        (list) => [list],
        (err: unknown) => {
          if (signal?.aborted) throw err;
          return this.#listAll(signal);
        },
      );
  }

  #listAll(signal?: AbortSignal): Promise<Dockerode.ContainerInfo[][]> {
    return Promise.all(
      this.#listFilters.map((filters) =>
        this.#client.request('containers.list', (d) =>
          d.listContainers({ all: true, filters, ...(signal ? { abortSignal: signal } : {}) }),
        ),
      ),
    );
  }

  async #relist(reason: ResyncReason): Promise<void> {
    this.#metrics?.resync(reason);
    // What happens from here on (even during this list) counts for the next period.
    this.#mayHaveMissed = false;
    this.#quietPeriods = 0;
    const prefetched = reason === 'initial' ? this.#prefetched : undefined;
    this.#prefetched = undefined;
    const lists = await (prefetched ?? this.#listAll());
    // The ids listed, to merge several lists and to find what vanished since the last relist:
    // a single list into an empty cache (a one-shot's) needs neither.
    const seen = lists.length > 1 || this.#cache.size > 0 ? new Set<string>() : undefined;
    // In list order, walked by index below: for-of over a map's entries made a [id, container]
    // pair, an iterator result and a destructuring iterator per container.
    const listed: ObservedContainer[] = [];
    for (const list of lists as (Dockerode.ContainerInfo | undefined)[][]) {
      for (let i = 0; i < list.length; i++) {
        const info = list[i]!;
        // Let go of dockerode's object once read: most of it (networks, ports, command) is then
        // garbage that dies young, instead of live data every scavenge of a long relist copies.
        list[i] = undefined;
        if (seen?.has(info.Id) || !this.#selects(info.Labels ?? {})) continue;
        seen?.add(info.Id);
        // Its labels adopted, not copied: nothing else holds this list.
        listed.push(observeListed(info, true));
      }
    }
    if (seen) {
      for (const [id, previous] of [...this.#cache]) {
        if (!seen.has(id)) await this.#remove(id, previous);
      }
    }
    for (let i = 0; i < listed.length; i++) {
      const current = listed[i]!;
      // The id it was listed under (observeListed keeps it).
      const id = current.status.id;
      const previous = this.#cache.get(id);
      if (previous && sameObservation(previous, current)) continue;
      const pending = this.#upsert(id, current, previous);
      if (pending) await pending;
    }
    this.#logger?.debug('docker.relisted', { reason, containers: listed.length });
    await this.#handler.synced?.(reason, [...this.#cache.values()]);
  }

  #scheduleResync(): void {
    this.#resyncTimer?.cancel();
    this.#resyncTimer = this.#clock.setTimeout(() => {
      if (!this.#connected || this.#signal?.aborted) return;
      // The stream stayed up (a reconnect relists) and brought no event since the last relist:
      // dockerd dropped none (it drops only for a subscriber 1024 events behind), and nothing
      // failed. Still relisted once in QUIET_RELIST_PERIODS, for what no event would show.
      if (!this.#mayHaveMissed && ++this.#quietPeriods < QUIET_RELIST_PERIODS) {
        this.#scheduleResync();
        return;
      }
      this.resync('periodic')
        .catch((err: unknown) =>
          this.#logger?.warn('docker.resync.failed', { error: errorText(err) }),
        )
        .finally(() => {
          if (this.#connected) this.#scheduleResync();
        });
    }, this.#resyncPeriodMs);
  }
}

function dedupeFilters(filters: Record<string, string[]>[]): Record<string, string[]>[] {
  // An unfiltered list already returns everything any filtered one would.
  if (filters.length === 0 || filters.some((f) => Object.keys(f).length === 0)) return [{}];
  const byKey = new Map<string, Record<string, string[]>>();
  for (const f of filters) byKey.set(JSON.stringify(Object.entries(f).sort()), f);
  return [...byKey.values()];
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The client talks to a unix socket (a local engine): pings are cheap. */
function isLocalSocket(client: DockerClient): boolean {
  return localSocketPath(client) !== undefined;
}

/** The unix socket dockerode talks to, undefined for a tcp/ssh engine (or a fake client). */
function localSocketPath(client: DockerClient): string | undefined {
  const modem = (client.api as { modem?: { socketPath?: unknown } } | undefined)?.modem;
  return typeof modem?.socketPath === 'string' && modem.socketPath !== ''
    ? modem.socketPath
    : undefined;
}

/** The API version requests are prefixed with (`/v1.43/...`), if one was configured. */
function apiVersionOf(client: DockerClient): string | undefined {
  const modem = (client.api as { modem?: { version?: unknown } } | undefined)?.modem;
  return typeof modem?.version === 'string' && modem.version !== '' ? modem.version : undefined;
}

/** The engine did not answer at all (socket gone, refused, reset), as when dockerd restarts. */
function isConnectionError(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  return (
    typeof code === 'string' &&
    ['ECONNREFUSED', 'ENOENT', 'ECONNRESET', 'EPIPE', 'ECONNABORTED'].includes(code)
  );
}
