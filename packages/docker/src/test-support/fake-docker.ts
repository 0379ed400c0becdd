// An in-memory Docker engine behind the DockerClient interface, for unit tests of the informer,
// the source and the actions. Only the calls those make are implemented.
import { PassThrough } from 'node:stream';
import type Dockerode from 'dockerode';
import type { DockerClient } from '../docker-client.js';

export interface FakeContainerInit {
  id: string;
  name: string;
  labels?: Record<string, string>;
  state?: string;
  image?: string;
  imageId?: string;
  health?: 'healthy' | 'unhealthy' | 'starting';
  restartCount?: number;
  startedAt?: string;
}

export interface FakeContainer extends Required<Omit<FakeContainerInit, 'health'>> {
  health?: 'healthy' | 'unhealthy' | 'starting';
}

export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(`(HTTP code ${statusCode}) ${message}`);
  }
}

export class FakeEngine {
  readonly containers = new Map<string, FakeContainer>();
  /** Images the engine has, by id; the default `sha256:img1` exists, without labels. */
  readonly imageLabels = new Map<string, Record<string, string>>([['sha256:img1', {}]]);
  /** Every API call, in order: `events`, `list <filters>`, `inspect <id>`, `image <id>`, `ping`. */
  readonly calls: string[] = [];
  readonly streams: PassThrough[] = [];
  up = true;
  /** `GET /events` answers 500 while the rest of the API works. */
  refuseEvents = false;
  /** `restart` hangs until its signal aborts. */
  hangRestart = false;

  add(init: FakeContainerInit): FakeContainer {
    const c: FakeContainer = {
      labels: {},
      state: 'running',
      image: 'img:1',
      imageId: 'sha256:img1',
      restartCount: 0,
      startedAt: '2026-01-01T00:00:00Z',
      ...init,
    };
    this.containers.set(c.id, c);
    return c;
  }

  /** Writes one event line to every open events stream. */
  emit(action: string, id: string, extra: Record<string, string> = {}): void {
    const c = this.containers.get(id);
    const line = JSON.stringify({
      Type: 'container',
      Action: action,
      Actor: { ID: id, Attributes: { ...(c?.labels ?? {}), name: c?.name ?? id, ...extra } },
      time: 1,
    });
    this.write(`${line}\n`);
  }

  write(raw: string): void {
    for (const s of this.open()) s.write(raw);
  }

  open(): PassThrough[] {
    return this.streams.filter((s) => !s.destroyed && !s.writableEnded);
  }

  /** The engine goes away: open streams end, calls fail. */
  stop(): void {
    this.up = false;
    for (const s of this.open()) s.end();
  }

  start(): void {
    this.up = true;
  }

  count(prefix: string): number {
    return this.calls.filter((c) => c.startsWith(prefix)).length;
  }

  #check(): void {
    if (!this.up)
      throw Object.assign(new Error('connect ECONNREFUSED /var/run/docker.sock'), {
        code: 'ECONNREFUSED',
      });
  }

  #find(idOrName: string): FakeContainer {
    const c =
      this.containers.get(idOrName) ??
      [...this.containers.values()].find((x) => x.name === idOrName);
    if (!c) throw new HttpError(404, `no such container - No such container: ${idOrName}`);
    return c;
  }

  #listed(c: FakeContainer): Dockerode.ContainerInfo {
    const status =
      c.state === 'running'
        ? `Up 1 minute${c.health ? ` (${c.health === 'starting' ? 'health: starting' : c.health})` : ''}`
        : 'Exited (0)';
    return {
      Id: c.id,
      Names: [`/${c.name}`],
      Image: c.image,
      ImageID: c.imageId,
      Command: '',
      Created: 1767225600,
      Ports: [],
      Labels: { ...c.labels },
      State: c.state,
      Status: status,
      HostConfig: { NetworkMode: 'none' },
      NetworkSettings: { Networks: {} },
      Mounts: [],
    } as Dockerode.ContainerInfo;
  }

  inspectInfo(c: FakeContainer): Dockerode.ContainerInspectInfo {
    return {
      Id: c.id,
      Name: `/${c.name}`,
      Image: c.imageId,
      Created: '2026-01-01T00:00:00.5Z',
      RestartCount: c.restartCount,
      Config: { Image: c.image, Labels: { ...c.labels } },
      State: {
        Status: c.state,
        Running: c.state === 'running',
        Restarting: c.state === 'restarting',
        ExitCode: c.state === 'running' ? 0 : 1,
        StartedAt: c.startedAt,
        ...(c.health ? { Health: { Status: c.health } } : {}),
      },
      Mounts: [],
    } as unknown as Dockerode.ContainerInspectInfo;
  }

  /** The dockerode subset the code under test uses. */
  dockerode(): Dockerode {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the fake methods below are not arrow functions
    const engine = this;
    return {
      async ping() {
        engine.calls.push('ping');
        engine.#check();
        return 'OK';
      },
      async getEvents(opts: { abortSignal?: AbortSignal }) {
        engine.calls.push('events');
        engine.#check();
        if (engine.refuseEvents) throw new HttpError(500, 'events refused');
        const s = new PassThrough();
        engine.streams.push(s);
        opts.abortSignal?.addEventListener('abort', () => s.destroy(), { once: true });
        return s;
      },
      async listContainers(opts: { filters?: Record<string, string[]> }) {
        engine.calls.push(`list ${JSON.stringify(opts.filters ?? {})}`);
        engine.#check();
        const want = opts.filters?.label ?? [];
        // Docker matches `id` filters against the full id (full ids only here).
        const ids = opts.filters?.id;
        return [...engine.containers.values()]
          .filter((c) => ids === undefined || ids.includes(c.id))
          .filter((c) =>
            want.every((f) => {
              const [k, v] = f.split('=');
              return (
                k !== undefined &&
                c.labels[k] !== undefined &&
                (v === undefined || c.labels[k] === v)
              );
            }),
          )
          .map((c) => engine.#listed(c));
      },
      getContainer(id: string) {
        return {
          id,
          async inspect() {
            engine.calls.push(`inspect ${id}`);
            engine.#check();
            return engine.inspectInfo(engine.#find(id));
          },
          async start() {
            engine.calls.push(`start ${id}`);
            engine.#check();
            const c = engine.#find(id);
            if (c.state === 'running') throw new HttpError(304, 'container already started');
            c.state = 'running';
          },
          async stop() {
            engine.calls.push(`stop ${id}`);
            engine.#check();
            const c = engine.#find(id);
            if (c.state !== 'running') throw new HttpError(304, 'container already stopped');
            c.state = 'exited';
          },
          async restart(opts: { abortSignal?: AbortSignal }) {
            engine.calls.push(`restart ${id}`);
            engine.#check();
            engine.#find(id);
            // Never answers until aborted: lets tests drive timeouts and aborts.
            if (engine.hangRestart) {
              await new Promise((_, reject) =>
                opts.abortSignal?.addEventListener(
                  'abort',
                  () => reject(new Error('socket hang up')),
                  { once: true },
                ),
              );
            }
          },
        };
      },
      getImage(id: string) {
        return {
          async inspect() {
            engine.calls.push(`image ${id}`);
            engine.#check();
            const labels = engine.imageLabels.get(id);
            if (!labels) throw new HttpError(404, `no such image: ${id}`);
            return { Id: id, Config: { Labels: labels } };
          },
        };
      },
    } as unknown as Dockerode;
  }

  client(): DockerClient {
    const d = this.dockerode();
    return {
      api: d,
      stream: d,
      request: (_op, fn) => fn(d),
      streamRequest: (_op, fn) => fn(d),
    };
  }
}

/** Lets stream callbacks, promise continuations and setImmediate work run. */
export async function settle(rounds = 10): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((r) => setImmediate(r));
}
