import type Dockerode from 'dockerode';
import { inject, injectable, optional } from 'inversify';
import { childEnv, Clock, Logger, SystemClock } from '@dockop/runtime';
import { createContainer } from './create-container.js';
import { DockerClient } from './docker-client.js';
import { LineBuffer } from './line-buffer.js';

/** Imperative Docker operations controllers perform (restart a workload, run a backup job...). */
export const ContainerActions = Symbol.for('dockop.ContainerActions');

export interface OneShotMount {
  type: 'bind' | 'volume';
  source: string;
  target: string;
  readOnly?: boolean;
}

export interface OneShotSpec {
  image: string;
  cmd?: string[];
  entrypoint?: string[];
  /** The container's whole environment besides the image's own: own properties only. */
  env?: Record<string, string>;
  mounts?: OneShotMount[];
  labels?: Record<string, string>;
  name?: string;
  user?: string;
  workingDir?: string;
  /** Default true: the container is removed after `wait` (and after a kill on abort/timeout). */
  autoRemove?: boolean;
}

export interface OneShotResult {
  exitCode: number;
  containerId: string;
  durationMs: number;
}

export type ActionErrorCode = 'NotFound' | 'Timeout' | 'Aborted' | 'Failed' | 'Unhealthy';

/** Every ContainerActions method rejects with this, never with a raw dockerode error. */
export class ActionError extends Error {
  override readonly name = 'ActionError';
  readonly code: ActionErrorCode;
  /** Container name or id the action was about (the image for a failed one-shot create). */
  readonly target: string;
  declare readonly cause?: unknown;

  constructor(
    code: ActionErrorCode,
    target: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.code = code;
    this.target = target;
  }
}

export function isActionError(err: unknown, code?: ActionErrorCode): err is ActionError {
  return err instanceof ActionError && (code === undefined || err.code === code);
}

export type WaitCondition = 'running' | 'healthy' | 'stable';

export interface ContainerActions {
  /** Restart with a stop grace period of `timeoutSec` (default 10). */
  restart(target: string, opts?: { timeoutSec?: number; signal?: AbortSignal }): Promise<void>;
  /** Stop with a grace period of `timeoutSec` (default 10). Already stopped = ok. */
  stop(target: string, opts?: { timeoutSec?: number; signal?: AbortSignal }): Promise<void>;
  /** Already running = ok. */
  start(target: string, opts?: { signal?: AbortSignal }): Promise<void>;
  /** Rejects `NotFound` when the container is gone. */
  inspect(target: string): Promise<Dockerode.ContainerInspectInfo>;
  /**
   * The processes running in the container (`docker top`): one command line each. Rejects
   * `NotFound` when the container is gone; a stopped container has none (engine answers 409).
   */
  processes(target: string): Promise<string[]>;
  /**
   * - `running`: State.Running.
   * - `healthy`: running, and health `healthy` when it has a healthcheck (rejects `Unhealthy`
   *   when the engine reports `unhealthy`).
   * - `stable`: `healthy` as above and still so `stableMs` (default 5000) later, with the same
   *   StartedAt and RestartCount (a crash loop or a restart in between starts the window over).
   */
  waitFor(
    target: string,
    condition: WaitCondition,
    opts: { timeoutMs: number; stableMs?: number; signal?: AbortSignal },
  ): Promise<void>;
  /**
   * Create, start, stream logs line by line (demultiplexed), wait, remove. Abort or timeout
   * kills and removes the container and rejects `Aborted` / `Timeout`; one aborted while its
   * create request was in flight is removed once the engine answers, before the rejection
   * (never left in `Created`). A container that never started is removed even without autoRemove.
   */
  runOneShot(
    spec: OneShotSpec,
    opts?: {
      signal?: AbortSignal;
      timeoutMs?: number;
      onLog?: (line: string, stream: 'stdout' | 'stderr') => void;
      /**
       * Copied to the container's stdin (attached before start); the container reads EOF when it
       * ends. On abort or timeout the container is killed BEFORE its stdin is closed, so a
       * consumer such as `restic backup --stdin` never sees a clean end of a cut-off input.
       */
      stdin?: NodeJS.ReadableStream;
    },
  ): Promise<OneShotResult>;
  /** Every container (running or not) matching Docker list `filters`, e.g. `{ label: ['a=b'] }`. */
  list(filters: Record<string, string[]>): Promise<Dockerode.ContainerInfo[]>;
  /**
   * Removes the containers carrying every one of `labels` (one-shots a killed process left
   * behind between create and remove). Only `created`, `exited` and `dead` ones unless
   * `includeRunning` (a running one may belong to another live process). Resolves the removed ids.
   */
  removeLeftovers(
    labels: Record<string, string>,
    opts?: { includeRunning?: boolean; signal?: AbortSignal },
  ): Promise<string[]>;
}

export const ContainerActionsOptions = Symbol.for('dockop.ContainerActionsOptions');

export interface ContainerActionsOptions {
  /** Deadline of inspect, list, start, create and remove, in ms. Default 30000. */
  requestTimeoutMs?: number;
  /** Grace period of stop/restart when the caller gives none, in s. Default 10. */
  stopTimeoutSec?: number;
  /** Deadline of `runOneShot` when the caller gives none, in ms. Default 6 h (a backup can be long). */
  oneShotTimeoutMs?: number;
  /** Interval between two inspects in `waitFor`, in ms. Default 250. */
  pollIntervalMs?: number;
}

export const CONTAINER_ACTIONS_DEFAULTS: Required<ContainerActionsOptions> = {
  requestTimeoutMs: 30_000,
  stopTimeoutSec: 10,
  oneShotTimeoutMs: 6 * 60 * 60 * 1000,
  pollIntervalMs: 250,
};

const DEFAULT_STABLE_MS = 5_000;

// Why the per-action AbortController fired.
const TIMED_OUT = Symbol('timed out');

interface DockerHttpError {
  statusCode?: number;
  message?: string;
}

/** dockerode implementation of ContainerActions; all deadlines run on the injected Clock. */
@injectable()
export class DockerContainerActions implements ContainerActions {
  readonly #client: DockerClient;
  readonly #clock: Clock;
  readonly #logger: Logger | undefined;
  readonly #opts: Required<ContainerActionsOptions>;

  constructor(
    @inject(DockerClient) client: DockerClient,
    @inject(Clock) @optional() clock?: Clock,
    @inject(Logger) @optional() logger?: Logger,
    @inject(ContainerActionsOptions) @optional() options?: ContainerActionsOptions,
  ) {
    this.#client = client;
    this.#clock = clock ?? new SystemClock();
    this.#logger = logger?.child({ component: 'container-actions' });
    this.#opts = { ...CONTAINER_ACTIONS_DEFAULTS, ...options };
  }

  async restart(
    target: string,
    opts: { timeoutSec?: number; signal?: AbortSignal } = {},
  ): Promise<void> {
    const t = opts.timeoutSec ?? this.#opts.stopTimeoutSec;
    await this.#deadline(
      'restart',
      target,
      t * 1000 + this.#opts.requestTimeoutMs,
      opts.signal,
      (signal) =>
        this.#client.streamRequest('containers.restart', (d) =>
          d.getContainer(target).restart({ t, abortSignal: signal }),
        ),
    );
    this.#logger?.info('container.restarted', { container: target });
  }

  async stop(
    target: string,
    opts: { timeoutSec?: number; signal?: AbortSignal } = {},
  ): Promise<void> {
    const t = opts.timeoutSec ?? this.#opts.stopTimeoutSec;
    await this.#deadline(
      'stop',
      target,
      t * 1000 + this.#opts.requestTimeoutMs,
      opts.signal,
      (signal) =>
        this.#client
          .streamRequest('containers.stop', (d) =>
            d.getContainer(target).stop({ t, abortSignal: signal }),
          )
          .catch(ignoreStatus(304)),
    );
  }

  async start(target: string, opts: { signal?: AbortSignal } = {}): Promise<void> {
    await this.#deadline('start', target, this.#opts.requestTimeoutMs, opts.signal, (signal) =>
      this.#client
        .request('containers.start', (d) => d.getContainer(target).start({ abortSignal: signal }))
        .catch(ignoreStatus(304)),
    );
  }

  inspect(target: string): Promise<Dockerode.ContainerInspectInfo> {
    return this.#deadline('inspect', target, this.#opts.requestTimeoutMs, undefined, (signal) =>
      this.#inspect(target, signal),
    );
  }

  processes(target: string): Promise<string[]> {
    return this.#deadline('top', target, this.#opts.requestTimeoutMs, undefined, async (signal) => {
      let top: { Titles?: unknown; Processes?: unknown };
      try {
        top = await this.#client.request('containers.top', (d) =>
          d.getContainer(target).top({ abortSignal: signal }),
        );
      } catch (err) {
        // 409: the container is not running, so nothing runs in it.
        if ((err as { statusCode?: number }).statusCode === 409) return [];
        throw err;
      }
      const titles = Array.isArray(top.Titles) ? (top.Titles as unknown[]) : [];
      const col = Math.max(titles.indexOf('CMD'), titles.indexOf('COMMAND'));
      const rows = Array.isArray(top.Processes) ? (top.Processes as unknown[]) : [];
      return rows
        .filter((r): r is unknown[] => Array.isArray(r))
        .map((r) => String(col >= 0 ? r[col] : r[r.length - 1]));
    });
  }

  async waitFor(
    target: string,
    condition: WaitCondition,
    opts: { timeoutMs: number; stableMs?: number; signal?: AbortSignal },
  ): Promise<void> {
    const stableMs = opts.stableMs ?? DEFAULT_STABLE_MS;
    let last = 'not inspected yet';
    await this.#deadline(
      `waitFor ${condition}`,
      target,
      opts.timeoutMs,
      opts.signal,
      async (signal) => {
        let windowStart: number | undefined;
        let incarnation: string | undefined;
        for (;;) {
          const info = await this.#inspect(target, signal);
          const state = info.State;
          const health = state.Health?.Status;
          last = describeState(info);
          const running = state.Running && !state.Restarting;
          if (condition === 'running') {
            if (running) return;
          } else {
            if (health === 'unhealthy') {
              throw new ActionError('Unhealthy', target, `waitFor ${condition} ${target}: ${last}`);
            }
            const ready =
              running && (health === undefined || health === 'none' || health === 'healthy');
            if (ready && condition === 'healthy') return;
            if (ready) {
              const current = `${state.StartedAt}|${info.RestartCount}`;
              const now = this.#clock.now();
              if (windowStart === undefined || current !== incarnation) {
                windowStart = now;
                incarnation = current;
              }
              if (now - windowStart >= stableMs) return;
            } else {
              windowStart = undefined;
            }
          }
          await this.#clock.sleep(this.#opts.pollIntervalMs, signal);
        }
      },
      () => `last state: ${last}`,
    );
  }

  async runOneShot(
    spec: OneShotSpec,
    opts: {
      signal?: AbortSignal;
      timeoutMs?: number;
      onLog?: (line: string, stream: 'stdout' | 'stderr') => void;
      stdin?: NodeJS.ReadableStream;
    } = {},
  ): Promise<OneShotResult> {
    const timeoutMs = opts.timeoutMs ?? this.#opts.oneShotTimeoutMs;
    const started = this.#clock.now();
    let container: Dockerode.Container | undefined;
    // Set while the create request is in flight: an abort does not wait for it, the cleanup does.
    let creating: Promise<Dockerode.Container | undefined> | undefined;
    let label = spec.name ?? spec.image;
    let running = false;
    let finished = false;
    let attached: { destroy(): void } | undefined;
    try {
      const result = await this.#deadline(
        'runOneShot',
        label,
        timeoutMs,
        opts.signal,
        async (signal) => {
          // Not cancelled by `signal`: an aborted request may still create the container on the
          // engine without telling us its id. It is bounded by the request timeout instead, and
          // the cleanup below removes what it created once it answers.
          const request = this.#client.request('containers.create', (d) =>
            createContainer(d, createOptions(spec, opts.stdin !== undefined), {
              abortSignal: AbortSignal.timeout(this.#opts.requestTimeoutMs),
            }),
          );
          creating = request.catch(() => undefined);
          const created = await request;
          container = created;
          label = spec.name ?? created.id.slice(0, 12);
          if (signal.aborted) throw signal.reason;
          if (opts.stdin) {
            const input = opts.stdin;
            const stdinSocket = (await this.#client.streamRequest('containers.attach', () =>
              created.attach({
                stream: true,
                stdin: true,
                stdout: false,
                stderr: false,
                hijack: true,
              }),
            )) as NodeJS.ReadWriteStream & { destroy(): void };
            attached = stdinSocket;
            stdinSocket.on('error', () => {});
            stdinSocket.resume();
            // Never `end` it on abort: the cleanup kills the container first (see the interface).
            signal.addEventListener('abort', () => input.unpipe(stdinSocket), { once: true });
            input.pipe(stdinSocket);
          }
          await this.#client.request('containers.start', () =>
            created.start({ abortSignal: signal }),
          );
          running = true;
          const waiting = this.#client.streamRequest('containers.wait', (d) =>
            d.getContainer(created.id).wait({ abortSignal: signal }),
          ) as Promise<{ StatusCode: number }>;
          // Losing the log stream does not fail the job: its exit code still tells the outcome.
          const logsDone = opts.onLog
            ? this.#followLogs(created.id, opts.onLog, signal, waiting).catch((e: unknown) => {
                if (!signal.aborted) {
                  this.#logger?.warn('oneshot.logs_failed', {
                    container: created.id,
                    error: String(e),
                  });
                }
              })
            : undefined;
          const waited = await waiting;
          // The logs stream ends once the container stopped: every line is delivered before we return.
          await logsDone;
          return {
            exitCode: waited.StatusCode,
            containerId: created.id,
            durationMs: this.#clock.now() - started,
          };
        },
      );
      finished = true;
      this.#logger?.info('oneshot.finished', {
        container: label,
        image: spec.image,
        exitCode: result.exitCode,
        durationMs: result.durationMs,
      });
      return result;
    } finally {
      container ??= await creating;
      // A container that never ran has nothing worth keeping: removed even without autoRemove.
      // (`start` may have run on the engine although its request was aborted: kill it anyway.)
      if (container) {
        await this.#cleanUp(container, !finished, spec.autoRemove !== false || !running);
      }
      // Only now (the container is gone): closing it earlier could end a cut-off input cleanly.
      attached?.destroy();
    }
  }

  async removeLeftovers(
    labels: Record<string, string>,
    opts: { includeRunning?: boolean; signal?: AbortSignal } = {},
  ): Promise<string[]> {
    const pairs = Object.entries(labels).map(([k, v]) => `${k}=${v}`);
    // No label would match every container on the host.
    if (pairs.length === 0) {
      throw new ActionError(
        'Failed',
        '(no labels)',
        'removeLeftovers: at least one label is required (no label selects every container)',
      );
    }
    const target = pairs.join(',');
    return this.#deadline(
      'removeLeftovers',
      target,
      this.#opts.requestTimeoutMs,
      opts.signal,
      async (signal) => {
        const filters: Record<string, string[]> = { label: pairs };
        if (!opts.includeRunning) filters.status = ['created', 'exited', 'dead'];
        const found = await this.#client.request('containers.list', (d) =>
          d.listContainers({ all: true, filters, abortSignal: signal }),
        );
        const removed: string[] = [];
        for (const info of found) {
          try {
            await this.#client.request('containers.remove', (d) =>
              d.getContainer(info.Id).remove({ force: true, v: false, abortSignal: signal }),
            );
          } catch (err) {
            ignoreStatus(404, 409)(err); // gone meanwhile, or already being removed
            continue;
          }
          removed.push(info.Id);
          this.#logger?.info('oneshot.leftover_removed', {
            container: info.Names?.[0]?.replace(/^\//, '') ?? info.Id.slice(0, 12),
            state: info.State,
          });
        }
        return removed;
      },
    );
  }

  list(filters: Record<string, string[]>): Promise<Dockerode.ContainerInfo[]> {
    return this.#deadline(
      'list',
      JSON.stringify(filters),
      this.#opts.requestTimeoutMs,
      undefined,
      (signal) =>
        this.#client.request('containers.list', (d) =>
          d.listContainers({ all: true, filters, abortSignal: signal }),
        ),
    );
  }

  #inspect(target: string, signal: AbortSignal): Promise<Dockerode.ContainerInspectInfo> {
    return this.#client.request('containers.inspect', (d) =>
      d.getContainer(target).inspect({ abortSignal: signal }),
    );
  }

  /**
   * Follows the logs until the container stopped (`stopped` settled), then repairs the end: the
   * follow stream can close before dockerd wrote a final line without `\n` (it flushes that
   * partial line as the container exits), so the end of the log is read again (timestamps +
   * `since`) and the entries the stream missed are delivered before the unterminated lines are
   * flushed. Within one stream entries are in timestamp order (one copier per stream); across
   * stdout and stderr they are not, so each stream is matched on its own.
   */
  async #followLogs(
    id: string,
    onLog: (line: string, stream: 'stdout' | 'stderr') => void,
    signal: AbortSignal,
    stopped: Promise<unknown>,
  ): Promise<void> {
    const raw = (await this.#client.streamRequest('containers.logs', (d) =>
      d.getContainer(id).logs({
        follow: true,
        stdout: true,
        stderr: true,
        timestamps: true,
        abortSignal: signal,
      }),
    )) as NodeJS.ReadableStream;
    const emit = (line: string, stream: 'stdout' | 'stderr'): void => {
      try {
        onLog(line, stream);
      } catch (e) {
        this.#logger?.warn('oneshot.on_log_failed', { container: id, error: String(e) });
      }
    };
    const lines = { stdout: new LineBuffer(), stderr: new LineBuffer() };
    const deliver = (stream: 'stdout' | 'stderr', message: Buffer): void =>
      lines[stream].push(message).forEach((l) => emit(l, stream));
    // Per stream: the newest entry timestamp received and how many entries carried it.
    const last = { stdout: { at: '', count: 0 }, stderr: { at: '', count: 0 } };
    const followed = new LogFrames();
    await new Promise<void>((resolve) => {
      raw.on('data', (chunk: Buffer) =>
        followed.push(chunk, (stream, entry) => {
          const { at, message } = splitTimestamp(entry);
          const l = last[stream];
          if (at === l.at) l.count++;
          else [l.at, l.count] = [at, 1];
          deliver(stream, message);
        }),
      );
      raw.on('end', resolve);
      raw.on('close', resolve);
      raw.on('error', resolve);
    });
    await stopped;
    if (!signal.aborted) {
      // From a second before the older of the two streams' newest entries (none: everything).
      const received = [last.stdout.at, last.stderr.at].filter((a) => a !== '').sort();
      const since = received[0] ? unixTimestamp(received[0], -1) : undefined;
      const again = (await this.#client.request('containers.logs', (d) =>
        d.getContainer(id).logs({
          follow: false,
          stdout: true,
          stderr: true,
          timestamps: true,
          ...(since ? { since } : {}),
          abortSignal: signal,
        }),
      )) as unknown as Buffer;
      new LogFrames().push(Buffer.from(again), (stream, entry) => {
        const { at, message } = splitTimestamp(entry);
        const l = last[stream];
        // Fixed-width RFC 3339 timestamps of one engine compare as strings.
        if (at < l.at) return;
        if (at === l.at && l.count > 0) {
          l.count--;
          return;
        }
        deliver(stream, message);
      });
    }
    for (const stream of ['stdout', 'stderr'] as const) {
      lines[stream].flush().forEach((l) => emit(l, stream));
    }
  }

  // Best effort: the action already has its outcome; a cleanup failure is logged, not thrown.
  async #cleanUp(container: Dockerode.Container, kill: boolean, remove: boolean): Promise<void> {
    const bounded = AbortSignal.timeout(this.#opts.requestTimeoutMs);
    if (kill) {
      await this.#client
        .request('containers.kill', () => container.kill({ abortSignal: bounded }))
        .catch(ignoreStatus(404, 409))
        .catch((e: unknown) =>
          this.#logger?.warn('oneshot.kill_failed', { container: container.id, error: String(e) }),
        );
    }
    if (remove) {
      await this.#client
        .request('containers.remove', () =>
          container.remove({ force: true, v: false, abortSignal: bounded }),
        )
        .catch(ignoreStatus(404, 409))
        .catch((e: unknown) =>
          this.#logger?.warn('oneshot.remove_failed', {
            container: container.id,
            error: String(e),
          }),
        );
    }
  }

  /**
   * Runs `fn` with a signal that aborts when `ms` pass on the clock or the caller's signal aborts,
   * and maps every failure to an ActionError.
   */
  async #deadline<T>(
    action: string,
    target: string,
    ms: number,
    callerSignal: AbortSignal | undefined,
    fn: (signal: AbortSignal) => Promise<T>,
    detail?: () => string,
  ): Promise<T> {
    const controller = new AbortController();
    const timer = this.#clock.setTimeout(() => controller.abort(TIMED_OUT), ms);
    const onCallerAbort = (): void => controller.abort(callerSignal?.reason);
    if (callerSignal?.aborted) onCallerAbort();
    else callerSignal?.addEventListener('abort', onCallerAbort, { once: true });
    // Resolve promptly on abort even if the underlying request ignores its signal.
    let cancelAbortWait: () => void = () => {};
    const aborted = new Promise<never>((_, reject) => {
      const onAbort = (): void => reject(controller.signal.reason);
      if (controller.signal.aborted) onAbort();
      else controller.signal.addEventListener('abort', onAbort, { once: true });
      cancelAbortWait = () => controller.signal.removeEventListener('abort', onAbort);
    });
    aborted.catch(() => {});
    try {
      return await Promise.race([fn(controller.signal), aborted]);
    } catch (err) {
      const suffix = detail ? ` (${detail()})` : '';
      if (err instanceof ActionError) throw err;
      if (controller.signal.aborted && controller.signal.reason === TIMED_OUT) {
        throw new ActionError(
          'Timeout',
          target,
          `${action} ${target}: timed out after ${ms} ms${suffix}`,
          {
            cause: err,
          },
        );
      }
      if (controller.signal.aborted) {
        throw new ActionError('Aborted', target, `${action} ${target}: aborted${suffix}`, {
          cause: callerSignal?.reason ?? err,
        });
      }
      const status = (err as DockerHttpError | null)?.statusCode;
      const message = (err as DockerHttpError | null)?.message ?? String(err);
      if (status === 404) {
        throw new ActionError('NotFound', target, `${action} ${target}: not found (${message})`, {
          cause: err,
        });
      }
      throw new ActionError('Failed', target, `${action} ${target}: ${message}${suffix}`, {
        cause: err,
      });
    } finally {
      timer.cancel();
      cancelAbortWait();
      callerSignal?.removeEventListener('abort', onCallerAbort);
    }
  }
}

/** Docker's multiplexed log framing: an 8-byte header (stream type, payload length) per frame. */
class LogFrames {
  #buffer: Buffer = Buffer.alloc(0);

  push(chunk: Buffer, onFrame: (stream: 'stdout' | 'stderr', payload: Buffer) => void): void {
    this.#buffer = this.#buffer.length > 0 ? Buffer.concat([this.#buffer, chunk]) : chunk;
    while (this.#buffer.length >= 8) {
      const type = this.#buffer.readUInt8(0);
      const length = this.#buffer.readUInt32BE(4);
      if (this.#buffer.length < 8 + length) return;
      const payload = this.#buffer.subarray(8, 8 + length);
      this.#buffer = this.#buffer.subarray(8 + length);
      if (type === 1) onFrame('stdout', payload);
      else if (type === 2) onFrame('stderr', payload);
    }
  }
}

/** A log entry read with `timestamps: true`: `<RFC 3339 nano> <message>`. */
function splitTimestamp(entry: Buffer): { at: string; message: Buffer } {
  const space = entry.indexOf(0x20);
  if (space <= 0) return { at: '', message: entry };
  return { at: entry.subarray(0, space).toString('latin1'), message: entry.subarray(space + 1) };
}

/** `2026-01-02T03:04:05.123456789Z` → `1767323045.123456789` (+ `shiftSeconds`), as `since` takes it. */
function unixTimestamp(rfc3339: string, shiftSeconds = 0): string | undefined {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/.exec(rfc3339);
  if (!m) return undefined;
  const seconds = Date.parse(`${m[1]}${m[3]}`) / 1000 + shiftSeconds;
  if (!Number.isFinite(seconds)) return undefined;
  return `${seconds}.${(m[2] ?? '').padEnd(9, '0')}`;
}

function createOptions(spec: OneShotSpec, stdin = false): Dockerode.ContainerCreateOptions {
  return {
    Image: spec.image,
    ...(spec.name ? { name: spec.name } : {}),
    ...(spec.cmd ? { Cmd: spec.cmd } : {}),
    ...(spec.entrypoint ? { Entrypoint: spec.entrypoint } : {}),
    // Exactly the spec's own variables (never inherited keys, never our process env); a name
    // with `=` or a NUL byte is refused instead of smuggling in a second variable.
    ...(spec.env
      ? {
          Env: Object.entries(childEnv({ parent: {}, set: spec.env })).map(([k, v]) => `${k}=${v}`),
        }
      : {}),
    ...(spec.labels ? { Labels: spec.labels } : {}),
    ...(spec.user ? { User: spec.user } : {}),
    ...(spec.workingDir ? { WorkingDir: spec.workingDir } : {}),
    AttachStdout: false,
    AttachStderr: false,
    // StdinOnce: the container's stdin closes when our attach closes it (restic then sees EOF).
    ...(stdin ? { AttachStdin: true, OpenStdin: true, StdinOnce: true } : {}),
    Tty: false,
    HostConfig: {
      // We remove it ourselves after reading the exit code: the engine's AutoRemove races `wait`.
      AutoRemove: false,
      Mounts: (spec.mounts ?? []).map((m) => ({
        Type: m.type,
        Source: m.source,
        Target: m.target,
        ReadOnly: m.readOnly ?? false,
      })),
    },
  };
}

function describeState(info: Dockerode.ContainerInspectInfo): string {
  const s = info.State;
  const parts = [s.Status];
  if (s.Health?.Status) parts.push(`health ${s.Health.Status}`);
  if (!s.Running) parts.push(`exit code ${s.ExitCode}`);
  parts.push(`restarts ${info.RestartCount}`);
  return parts.join(', ');
}

function ignoreStatus(...codes: number[]): (err: unknown) => void {
  return (err) => {
    if (!codes.includes((err as DockerHttpError | null)?.statusCode ?? -1)) throw err;
  };
}
