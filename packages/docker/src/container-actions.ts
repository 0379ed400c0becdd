import type Dockerode from 'dockerode';
import { inject, injectable, optional } from 'inversify';
import { Clock, Logger, SystemClock } from '@dockop/runtime';
import {
  ignoreStatus,
  inspectContainer,
  withDeadline,
  type ActionContext,
} from './action-deadline.js';
import {
  CONTAINER_ACTIONS_DEFAULTS,
  ContainerActionsOptions,
  type ContainerActions,
  type OneShotResult,
  type OneShotSpec,
  type WaitCondition,
} from './container-actions-api.js';
import { removeLeftovers } from './container-cleanup.js';
import { waitForContainer } from './container-wait.js';
import { DockerClient } from './docker-client.js';
import { runOneShot } from './one-shot-runner.js';

// The contract lives in container-actions-api.ts; this file is the dockerode implementation's
// facade and the container lifecycle (restart, stop, start, inspect, top, list). Waiting, the
// one-shot runner, cleanup and deadlines are one file each.
export * from './container-actions-api.js';

/** dockerode implementation of ContainerActions; all deadlines run on the injected Clock. */
@injectable()
export class DockerContainerActions implements ContainerActions {
  readonly #client: DockerClient;
  readonly #clock: Clock;
  readonly #logger: Logger | undefined;
  readonly #opts: Required<ContainerActionsOptions>;
  readonly #ctx: ActionContext;

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
    const actionClock = this.#clock;
    this.#ctx = {
      client,
      clock: actionClock,
      logger: this.#logger,
      opts: this.#opts,
      deadline: (action, target, ms, signal, fn, detail) =>
        withDeadline(actionClock, action, target, ms, signal, fn, detail),
    };
  }

  waitFor(
    target: string,
    condition: WaitCondition,
    opts: { timeoutMs: number; stableMs?: number; signal?: AbortSignal },
  ): Promise<void> {
    return waitForContainer(this.#ctx, target, condition, opts);
  }

  runOneShot(
    spec: OneShotSpec,
    opts: {
      signal?: AbortSignal;
      timeoutMs?: number;
      onLog?: (line: string, stream: 'stdout' | 'stderr') => void;
      stdin?: NodeJS.ReadableStream;
    } = {},
  ): Promise<OneShotResult> {
    return runOneShot(this.#ctx, spec, opts);
  }

  removeLeftovers(
    labels: Record<string, string>,
    opts: { includeRunning?: boolean; signal?: AbortSignal } = {},
  ): Promise<string[]> {
    return removeLeftovers(this.#ctx, labels, opts);
  }

  async restart(
    target: string,
    opts: { timeoutSec?: number; signal?: AbortSignal } = {},
  ): Promise<void> {
    const t = opts.timeoutSec ?? this.#opts.stopTimeoutSec;
    await this.#ctx.deadline(
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
    await this.#ctx.deadline(
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
    await this.#ctx.deadline('start', target, this.#opts.requestTimeoutMs, opts.signal, (signal) =>
      this.#client
        .request('containers.start', (d) => d.getContainer(target).start({ abortSignal: signal }))
        .catch(ignoreStatus(304)),
    );
  }

  inspect(target: string): Promise<Dockerode.ContainerInspectInfo> {
    return this.#ctx.deadline('inspect', target, this.#opts.requestTimeoutMs, undefined, (signal) =>
      inspectContainer(this.#client, target, signal),
    );
  }

  processes(target: string): Promise<string[]> {
    return this.#ctx.deadline(
      'top',
      target,
      this.#opts.requestTimeoutMs,
      undefined,
      async (signal) => {
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
      },
    );
  }

  list(filters: Record<string, string[]>): Promise<Dockerode.ContainerInfo[]> {
    return this.#ctx.deadline(
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
}
