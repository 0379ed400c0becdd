import { randomBytes } from 'node:crypto';
import {
  createContainer,
  DockerodeClient,
  dockerModule,
  type DockerClientOptions,
  type DockerModuleOptions,
} from '@dockop/docker';
import {
  MemoryLogStream,
  createManager,
  type LogLevel,
  type Manager,
  type ManagerOptions,
} from '@dockop/runtime';
import type { ContainerModule } from 'inversify';

/** Anything with mocha's `this.skip()`. */
export interface Skippable {
  skip(): unknown;
}

export interface RealEngineOptions {
  /** Where the engine is (socketPath, host, apiVersion). Default: `DOCKER_HOST`, else /var/run/docker.sock. */
  docker?: DockerClientOptions;
  /** Label key put on every container `run` creates; its value is the run id. Default `dockop.test.run`. */
  runLabel?: string;
  /** Image of `run` when none is given. Default `dockop/busybox:local`. */
  image?: string;
  /** Read for `CI`. Default `process.env`. */
  env?: NodeJS.ProcessEnv;
}

export interface RealContainerSpec {
  /** Used as given: make it unique with `engine.name(base)`. */
  name: string;
  labels?: Record<string, string>;
  /** Default: the engine's `image` option. */
  image?: string;
  /** Default: a shell that sleeps until SIGTERM. */
  cmd?: string[];
  /**
   * A HEALTHCHECK (`docker run --health-cmd`): `test` as Docker takes it (`['CMD', 'false']`,
   * `['CMD-SHELL', 'exit 1']`), checked every `intervalMs` (default 1000), unhealthy after
   * `retries` failures in a row (default 1). Default: the image's own, if any.
   */
  healthcheck?: { test: string[]; intervalMs?: number; retries?: number };
}

export interface RealManagerOptions {
  /** Loaded before the plugins. */
  modules?: ContainerModule[];
  /** Paths or package names loaded with `manager.loadPlugin`, as `--plugin` does. */
  plugins?: string[];
  /** Options of the real Docker module; the engine's connection options are the default. */
  docker?: DockerModuleOptions;
  /** Default `debug`. */
  logLevel?: LogLevel;
  /** Defaults here: cacheSyncTimeoutMs 20000, gracefulShutdownMs 5000 (shorter than a test's timeout). */
  manager?: Omit<ManagerOptions, 'logger' | 'container'>;
}

export interface RealManager {
  readonly manager: Manager;
  /** Log lines so far, parsed. */
  logs(): Record<string, unknown>[];
}

export interface WaitOptions {
  /** Default 15000. */
  timeoutMs?: number;
  /** Default 100. */
  intervalMs?: number;
}

/** The real local engine, scoped to one run: what it creates is removed when the run ends. */
export interface RealEngine {
  /** Unique to this run (also the value of the run label). */
  readonly runId: string;
  /** `<runLabel>=<runId>`, the label every container of this run carries. */
  readonly runLabel: { key: string; value: string };
  readonly client: DockerodeClient;
  /** `<base>-<runId>`: a container name no other run uses. */
  name(base: string): string;
  /** Creates and starts a container (network `none`) carrying the run label. */
  run(spec: RealContainerSpec): Promise<{ id: string; name: string }>;
  /** Removes a container (force); a no-op when it is gone. */
  remove(name: string): Promise<void>;
  /** A started manager with the real Docker source; stopped when the run ends. */
  startManager(options?: RealManagerOptions): Promise<RealManager>;
  /** Polls `probe` until it returns something other than undefined/false; throws with `what` on timeout. */
  waitFor<T>(
    what: string,
    probe: () => T | undefined | false | Promise<T | undefined | false>,
    options?: WaitOptions,
  ): Promise<T>;
  /** Runs `fn` during cleanup (last registered, first run). */
  defer(fn: () => Promise<void> | void): void;
}

export const REAL_ENGINE_DEFAULTS = {
  runLabel: 'dockop.test.run',
  image: 'dockop/busybox:local',
  waitTimeoutMs: 15_000,
  waitIntervalMs: 100,
} as const;

/** Pings the engine; resolves to why it is unreachable, or undefined when it answers. */
export async function engineUnavailable(client: DockerodeClient): Promise<string | undefined> {
  try {
    await client.request('system.ping', (d) => d.ping());
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Runs `fn` against the real local Docker engine. When no engine answers the test is skipped
 * (`test.skip()`), unless `CI=true`, where it fails: a skipped integration test proves nothing.
 * Whatever happens in `fn`, managers it started are stopped and containers carrying this run's
 * label are removed.
 */
export async function withRealEngine<T>(
  test: Skippable,
  fn: (engine: RealEngine) => Promise<T>,
  options: RealEngineOptions = {},
): Promise<T> {
  const env = options.env ?? process.env;
  const client = new DockerodeClient(options.docker ?? {}, undefined, env);
  const why = await engineUnavailable(client);
  if (why !== undefined) {
    const message = `no Docker engine answers (${why}): run \`bash scripts/docker-engine.sh up\``;
    if (env.CI === 'true')
      throw new Error(`${message}; CI=true, so real-engine tests fail instead of skipping`);
    test.skip();
    // A skipper that returns (not mocha) must not run the test body either.
    throw new Error(`${message}; test skipped`);
  }

  const runId = `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  const labelKey = options.runLabel ?? REAL_ENGINE_DEFAULTS.runLabel;
  const cleanups: Array<() => Promise<void> | void> = [];

  const engine: RealEngine = {
    runId,
    runLabel: { key: labelKey, value: runId },
    client,
    name: (base) => `${base}-${runId}`,
    async run(spec) {
      const container = await client.request('containers.create', (d) =>
        createContainer(d, {
          name: spec.name,
          Image: spec.image ?? options.image ?? REAL_ENGINE_DEFAULTS.image,
          Cmd: spec.cmd ?? ['sh', '-c', 'trap "exit 0" TERM; while true; do sleep 1; done'],
          Labels: { ...spec.labels, [labelKey]: runId },
          HostConfig: { NetworkMode: 'none' },
          ...(spec.healthcheck
            ? {
                Healthcheck: {
                  Test: spec.healthcheck.test,
                  // Docker counts in nanoseconds.
                  Interval: (spec.healthcheck.intervalMs ?? 1000) * 1e6,
                  Retries: spec.healthcheck.retries ?? 1,
                },
              }
            : {}),
        }),
      );
      await client.request('containers.start', () => container.start());
      return { id: container.id, name: spec.name };
    },
    async remove(name) {
      await client
        .request('containers.remove', (d) => d.getContainer(name).remove({ force: true, v: true }))
        .catch((err: { statusCode?: number }) => {
          if (err.statusCode !== 404) throw err;
        });
    },
    async startManager(opts = {}) {
      const logs = new MemoryLogStream();
      const manager = createManager({
        cacheSyncTimeoutMs: 20_000,
        gracefulShutdownMs: 5_000,
        ...opts.manager,
        logger: { level: opts.logLevel ?? 'debug', format: 'json', stream: logs.writable },
      });
      manager.load(dockerModule({ ...options.docker, ...opts.docker }), ...(opts.modules ?? []));
      for (const p of opts.plugins ?? []) await manager.loadPlugin(p);
      cleanups.push(() => manager.stop('test finished'));
      await manager.start();
      return { manager, logs: () => logs.lines };
    },
    async waitFor(what, probe, wait = {}) {
      const timeoutMs = wait.timeoutMs ?? REAL_ENGINE_DEFAULTS.waitTimeoutMs;
      const deadline = Date.now() + timeoutMs;
      let lastError: unknown;
      for (;;) {
        try {
          const v = await probe();
          if (v !== undefined && v !== false) return v;
        } catch (err) {
          lastError = err;
        }
        if (Date.now() > deadline) {
          const cause = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
          throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${cause}`);
        }
        await sleep(wait.intervalMs ?? REAL_ENGINE_DEFAULTS.waitIntervalMs);
      }
    },
    defer(fn) {
      cleanups.push(fn);
    },
  };

  try {
    return await fn(engine);
  } finally {
    const errors: unknown[] = [];
    for (const c of cleanups.reverse()) {
      try {
        await c();
      } catch (err) {
        errors.push(err);
      }
    }
    try {
      const left = await client.request('containers.list', (d) =>
        d.listContainers({ all: true, filters: { label: [`${labelKey}=${runId}`] } }),
      );
      await Promise.all(left.map((c) => engine.remove(c.Id)));
    } catch (err) {
      errors.push(err);
    }
    if (errors.length > 0) console.warn(`withRealEngine cleanup of run ${runId}:`, ...errors);
  }
}
