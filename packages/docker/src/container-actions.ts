import { PassThrough } from 'node:stream';
import type Dockerode from 'dockerode';
import { inject, injectable, optional } from 'inversify';
import { Clock, Logger, SystemClock } from '@dockop/runtime';
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
   * kills and removes the container and rejects `Aborted` / `Timeout`.
   */
  runOneShot(
    spec: OneShotSpec,
    opts?: {
      signal?: AbortSignal;
      timeoutMs?: number;
      onLog?: (line: string, stream: 'stdout' | 'stderr') => void;
    },
  ): Promise<OneShotResult>;
  /** Every container (running or not) matching Docker list `filters`, e.g. `{ label: ['a=b'] }`. */
  list(filters: Record<string, string[]>): Promise<Dockerode.ContainerInfo[]>;
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
    } = {},
  ): Promise<OneShotResult> {
    const timeoutMs = opts.timeoutMs ?? this.#opts.oneShotTimeoutMs;
    const started = this.#clock.now();
    let container: Dockerode.Container | undefined;
    let label = spec.name ?? spec.image;
    let finished = false;
    try {
      const result = await this.#deadline(
        'runOneShot',
        label,
        timeoutMs,
        opts.signal,
        async (signal) => {
          const created = await this.#client.request('containers.create', (d) =>
            d.createContainer({ ...createOptions(spec), abortSignal: signal }),
          );
          container = created;
          label = spec.name ?? created.id.slice(0, 12);
          await this.#client.request('containers.start', () =>
            created.start({ abortSignal: signal }),
          );
          // Losing the log stream does not fail the job: its exit code still tells the outcome.
          const logsDone = opts.onLog
            ? this.#followLogs(created.id, opts.onLog, signal).catch((e: unknown) => {
                if (!signal.aborted) {
                  this.#logger?.warn('oneshot.logsFailed', {
                    container: created.id,
                    error: String(e),
                  });
                }
              })
            : undefined;
          const waited = (await this.#client.streamRequest('containers.wait', (d) =>
            d.getContainer(created.id).wait({ abortSignal: signal }),
          )) as { StatusCode: number };
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
      if (container) await this.#cleanUp(container, !finished, spec.autoRemove !== false);
    }
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

  async #followLogs(
    id: string,
    onLog: (line: string, stream: 'stdout' | 'stderr') => void,
    signal: AbortSignal,
  ): Promise<void> {
    const raw = (await this.#client.streamRequest('containers.logs', (d) =>
      d.getContainer(id).logs({ follow: true, stdout: true, stderr: true, abortSignal: signal }),
    )) as NodeJS.ReadableStream;
    const out = new PassThrough();
    const err = new PassThrough();
    const emit = (line: string, stream: 'stdout' | 'stderr'): void => {
      try {
        onLog(line, stream);
      } catch (e) {
        this.#logger?.warn('oneshot.onLogFailed', { container: id, error: String(e) });
      }
    };
    const pump = (pt: PassThrough, stream: 'stdout' | 'stderr'): Promise<void> =>
      new Promise((resolve) => {
        const lines = new LineBuffer();
        pt.on('data', (chunk: Buffer) => lines.push(chunk).forEach((l) => emit(l, stream)));
        pt.on('end', () => {
          lines.flush().forEach((l) => emit(l, stream));
          resolve();
        });
      });
    const done = Promise.all([pump(out, 'stdout'), pump(err, 'stderr')]);
    this.#client.stream.modem.demuxStream(raw, out, err);
    await new Promise<void>((resolve) => {
      const finish = (): void => {
        out.end();
        err.end();
        resolve();
      };
      raw.on('end', finish);
      raw.on('close', finish);
      raw.on('error', finish);
    });
    await done;
  }

  // Best effort: the action already has its outcome; a cleanup failure is logged, not thrown.
  async #cleanUp(container: Dockerode.Container, kill: boolean, remove: boolean): Promise<void> {
    const bounded = AbortSignal.timeout(this.#opts.requestTimeoutMs);
    if (kill) {
      await this.#client
        .request('containers.kill', () => container.kill({ abortSignal: bounded }))
        .catch(ignoreStatus(404, 409))
        .catch((e: unknown) =>
          this.#logger?.warn('oneshot.killFailed', { container: container.id, error: String(e) }),
        );
    }
    if (remove) {
      await this.#client
        .request('containers.remove', () =>
          container.remove({ force: true, v: false, abortSignal: bounded }),
        )
        .catch(ignoreStatus(404, 409))
        .catch((e: unknown) =>
          this.#logger?.warn('oneshot.removeFailed', { container: container.id, error: String(e) }),
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

function createOptions(spec: OneShotSpec): Dockerode.ContainerCreateOptions {
  return {
    Image: spec.image,
    ...(spec.name ? { name: spec.name } : {}),
    ...(spec.cmd ? { Cmd: spec.cmd } : {}),
    ...(spec.entrypoint ? { Entrypoint: spec.entrypoint } : {}),
    ...(spec.env ? { Env: Object.entries(spec.env).map(([k, v]) => `${k}=${v}`) } : {}),
    ...(spec.labels ? { Labels: spec.labels } : {}),
    ...(spec.user ? { User: spec.user } : {}),
    ...(spec.workingDir ? { WorkingDir: spec.workingDir } : {}),
    AttachStdout: false,
    AttachStderr: false,
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
