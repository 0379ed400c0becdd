// ContainerActions against the real engine: no one-shot container survives an abort or timeout
// that lands while its create request is in flight, and removeLeftovers cleans up after a
// process that died between create and remove.
import { expect } from 'chai';
import type Docker from 'dockerode';
import {
  createContainer,
  ActionError,
  DockerContainerActions,
  DockerodeClient,
  type DockerClient,
} from '@dockop/docker';
import { VirtualClock } from '@dockop/runtime';
import { removeLabeled, requireEngine, runId, WORKLOAD_IMAGE } from './support/engine.js';

async function rejection(p: Promise<unknown>): Promise<ActionError> {
  try {
    await p;
  } catch (err) {
    expect(err).to.be.instanceOf(ActionError);
    return err as ActionError;
  }
  throw new Error('expected an ActionError');
}

/**
 * The real client, except that a `containers.create` answer is held back until `release()`:
 * the container exists on the engine, the caller has not heard of it yet.
 */
class HeldCreateClient implements DockerClient {
  readonly #inner = new DockerodeClient();
  readonly created: Promise<string>;
  #announce: (id: string) => void = () => {};
  #gate: Promise<void>;
  release: () => void = () => {};

  constructor() {
    this.created = new Promise((resolve) => (this.#announce = resolve));
    this.#gate = new Promise((resolve) => (this.release = resolve));
  }

  get api(): Docker {
    return this.#inner.api;
  }

  get stream(): Docker {
    return this.#inner.stream;
  }

  async request<T>(op: string, fn: (api: Docker) => Promise<T>): Promise<T> {
    const result = await this.#inner.request(op, fn);
    if (op === 'containers.create') {
      this.#announce((result as Docker.Container).id);
      await this.#gate;
    }
    return result;
  }

  streamRequest<T>(op: string, fn: (stream: Docker) => Promise<T>): Promise<T> {
    return this.#inner.streamRequest(op, fn);
  }
}

describe('docker actions: one-shot leftovers (real engine)', function () {
  const id = runId();
  const runLabel = 'itactleft.run';
  let engine: Docker;

  before(async function () {
    engine = await requireEngine(this);
  });

  after(async function () {
    this.timeout(60_000);
    if (engine) await removeLabeled(engine, `${runLabel}=${id}`);
  });

  async function labelled(labels: Record<string, string>): Promise<Docker.ContainerInfo[]> {
    const label = Object.entries(labels).map(([k, v]) => `${k}=${v}`);
    return engine.listContainers({ all: true, filters: { label } });
  }

  async function exists(containerId: string): Promise<boolean> {
    return engine
      .getContainer(containerId)
      .inspect()
      .then(() => true)
      .catch((e: { statusCode?: number }) => (e.statusCode === 404 ? false : Promise.reject(e)));
  }

  for (const how of ['abort', 'timeout'] as const) {
    it(`removes the container when the ${how} lands while create is in flight`, async () => {
      const labels = { [runLabel]: id, 'itactleft.case': how };
      const client = new HeldCreateClient();
      const clock = new VirtualClock();
      const actions = new DockerContainerActions(client, clock);
      const ac = new AbortController();
      const p = actions.runOneShot(
        { image: WORKLOAD_IMAGE, cmd: ['sleep', '60'], labels },
        { signal: ac.signal, timeoutMs: 10_000 },
      );
      p.catch(() => {});
      const containerId = await client.created;
      // The engine made it; runOneShot has not heard back yet.
      expect(await exists(containerId)).to.equal(true);
      if (how === 'abort') ac.abort(new Error('shutting down'));
      else clock.advance(10_000);
      client.release();
      const err = await rejection(p);
      expect(err.code).to.equal(how === 'abort' ? 'Aborted' : 'Timeout');
      // Cleaned up before the rejection, not eventually.
      expect(await exists(containerId)).to.equal(false);
      expect(await labelled(labels)).to.deep.equal([]);
    });
  }

  it('removes a never-started container on abort even with autoRemove false', async () => {
    const labels = { [runLabel]: id, 'itactleft.case': 'keep' };
    const client = new HeldCreateClient();
    const actions = new DockerContainerActions(client, new VirtualClock());
    const ac = new AbortController();
    const p = actions.runOneShot(
      { image: WORKLOAD_IMAGE, cmd: ['sleep', '60'], labels, autoRemove: false },
      { signal: ac.signal },
    );
    p.catch(() => {});
    const containerId = await client.created;
    ac.abort(new Error('shutting down'));
    client.release();
    expect((await rejection(p)).code).to.equal('Aborted');
    expect(await exists(containerId)).to.equal(false);
  });

  it('removeLeftovers removes created and exited containers with the labels, running ones on request', async () => {
    const mine = { [runLabel]: id, 'itactleft.case': 'leftovers' };
    const make = async (labels: Record<string, string>, cmd: string[]): Promise<string> => {
      const c = await createContainer(engine, {
        Image: WORKLOAD_IMAGE,
        Cmd: cmd,
        Labels: labels,
        HostConfig: { RestartPolicy: { Name: 'no' } },
      });
      return c.id;
    };
    const created = await make(mine, ['true']);
    const exited = await make(mine, ['true']);
    await engine.getContainer(exited).start();
    await engine.getContainer(exited).wait();
    const running = await make(mine, ['sleep', '300']);
    await engine.getContainer(running).start();
    const other = await make({ [runLabel]: id, 'itactleft.case': 'someone-else' }, ['true']);

    const actions = new DockerContainerActions(new DockerodeClient());
    const removed = await actions.removeLeftovers(mine);
    expect([...removed].sort()).to.deep.equal([created, exited].sort());
    expect(await exists(running)).to.equal(true);
    expect(await exists(other)).to.equal(true);

    expect(await actions.removeLeftovers(mine, { includeRunning: true })).to.deep.equal([running]);
    expect(await labelled(mine)).to.deep.equal([]);
    expect(await exists(other)).to.equal(true);

    const err = await rejection(actions.removeLeftovers({}));
    expect(err.message).to.contain('at least one label');
  });
});
