import Dockerode from 'dockerode';
import { Agent, type AgentOptions } from 'node:http';
import { inspect } from 'node:util';
import { resolveDockerConnection, type DockerConnectionOptions } from './docker-connection.js';
import type { DockerMetrics } from './docker-metrics.js';

/** The configured Docker API client (dockerode). */
export const DockerClient = Symbol.for('dockop.DockerClient');

export interface DockerClient {
  /** For short requests (list, inspect, create...): carries the request timeout. */
  readonly api: Dockerode;
  /**
   * For long-lived responses (events stream, logs follow, wait, stop/restart with a long grace
   * period): no request timeout, callers bound them with an AbortSignal instead.
   */
  readonly stream: Dockerode;
  /** Runs one API request, counted and timed under `op` (e.g. `containers.inspect`). */
  request<T>(op: string, fn: (api: Dockerode) => Promise<T>): Promise<T>;
  /** Same, on the client without request timeout. */
  streamRequest<T>(op: string, fn: (stream: Dockerode) => Promise<T>): Promise<T>;
}

export interface DockerClientOptions extends DockerConnectionOptions {
  /** Socket idle timeout of ordinary requests, in ms. Default 30000. */
  requestTimeoutMs?: number;
}

export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

/** dockerode-backed DockerClient: two modems on the same endpoint, one without timeout. */
export class DockerodeClient implements DockerClient {
  readonly api: Dockerode;
  readonly stream: Dockerode;
  readonly #metrics: DockerMetrics | undefined;

  constructor(
    options: DockerClientOptions = {},
    metrics?: DockerMetrics,
    env: NodeJS.ProcessEnv = process.env,
  ) {
    const connection = resolveDockerConnection(options, env);
    const agent = connection.socketPath ? { agent: unixSocketAgent() } : {};
    this.api = new Dockerode({
      ...connection,
      ...agent,
      timeout: options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
    });
    this.stream = new Dockerode({ ...connection, ...agent, timeout: undefined });
    this.#metrics = metrics;
  }

  request<T>(op: string, fn: (api: Dockerode) => Promise<T>): Promise<T> {
    return this.#timed(op, () => fn(this.api));
  }

  streamRequest<T>(op: string, fn: (stream: Dockerode) => Promise<T>): Promise<T> {
    return this.#timed(op, () => fn(this.stream));
  }

  async #timed<T>(op: string, run: () => Promise<T>): Promise<T> {
    // process.hrtime, not performance.now(): the `performance` global loads perf_hooks, ~1 ms at
    // a one-shot command's first request.
    const started = process.hrtime.bigint();
    const seconds = (): number => Number(process.hrtime.bigint() - started) / 1e9;
    try {
      const result = await run();
      this.#metrics?.request(op, seconds(), 'ok');
      return result;
    } catch (err) {
      this.#metrics?.request(op, seconds(), 'error');
      throw err;
    }
  }
}

/**
 * Node's global agent's settings, plus an empty TLS server name. Without one, Node derives it from
 * the request's host (`localhost` for a socket) at every request, and `net.isIP` runs its IPv6
 * regular expression on it: ~6 ms at the first request of a process, ~0.2 ms each after. A unix
 * socket has no TLS, so the name is never used.
 */
function unixSocketAgent(): Agent {
  // Agent options reach every request's options (`servername` is a TLS one, hence the type).
  const options: AgentOptions & { servername: string } = {
    keepAlive: true,
    scheduling: 'lifo',
    timeout: 5000,
    servername: '',
  };
  return new UnixSocketAgent(options);
}

/**
 * docker-modem logs every request's options with `util.inspect(options, { showHidden: true,
 * depth: null })`, debug on or off; an agent in them is walked whole (its keep-alive sockets,
 * their handles and parsers): ~1 ms a request warm, more cold. It prints as its name instead.
 */
class UnixSocketAgent extends Agent {
  [inspect.custom](): string {
    return 'UnixSocketAgent';
  }
}

/**
 * `GET /_ping`, abandoned (its request aborted, not just raced) when `signal` aborts, counted
 * under `op`. dockerode's ping takes `{ abortSignal }` (lib/docker.js); its typings do not say so.
 */
export function pingEngine(
  client: DockerClient,
  op: string,
  signal: AbortSignal,
): Promise<unknown> {
  type Pinger = { ping(opts: { abortSignal: AbortSignal }): Promise<unknown> };
  return client.request(op, (d) => (d as unknown as Pinger).ping({ abortSignal: signal }));
}
