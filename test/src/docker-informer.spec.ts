// @dockop/docker against the real engine: latency, delete, stopped containers, recreate, scale.
import { expect } from 'chai';
import type Docker from 'dockerode';
import { createContainer, DockerodeClient, DockerSource } from '@dockop/docker';
import { removeLabeled, requireEngine, runId, WORKLOAD_IMAGE } from './support/engine.js';
import { inBatches, testDefinition, WatchingSink } from './support/docker-sink.js';

describe('docker informer (real engine)', function () {
  const id = runId().replace(/-/g, '');
  const prefix = `itinf${id}`;
  const def = testDefinition(`DockerInf${id}`, prefix);
  let engine: Docker;
  let source: DockerSource;
  let sink: WatchingSink;
  let controller: AbortController;

  before(async function () {
    engine = await requireEngine(this);
    source = new DockerSource(
      new DockerodeClient(),
      [def],
      undefined,
      undefined,
      undefined,
      undefined,
      {
        recreateGraceMs: 500,
      },
    );
    sink = new WatchingSink();
    controller = new AbortController();
    await source.start(sink, controller.signal);
  });

  after(async function () {
    this.timeout(120_000);
    controller?.abort();
    if (engine) await removeLabeled(engine, `${prefix}.run`);
  });

  function create(
    name: string,
    labels: Record<string, string> = {},
    cmd = ['sleep', '300'],
  ): Promise<Docker.Container> {
    return createContainer(engine, {
      name,
      Image: WORKLOAD_IMAGE,
      Cmd: cmd,
      Labels: { [`${prefix}.enable`]: 'true', [`${prefix}.run`]: id, ...labels },
      HostConfig: { RestartPolicy: { Name: 'no' } },
    });
  }

  const key = (name: string): string => `${def.kind}/${name}`;

  it('sees a labeled container in the cache within 1 s of docker run', async () => {
    const name = `${prefix}-fast`;
    const t0 = Date.now();
    const c = await create(name, { [`${prefix}.paths.include`]: '/data' });
    await c.start();
    const seenAt = await sink.waitFor(
      `${name} in the sink`,
      () => sink.get(key(name)) !== undefined,
      5_000,
    );
    const latency = seenAt - t0;
    console.log(`      create → sink: ${latency} ms`);
    expect(latency).to.be.below(1000);
    const r = sink.get(key(name));
    expect(r?.spec).to.deep.equal({ enable: 'true', run: id, paths: { include: '/data' } });
    expect(r?.metadata.uid).to.equal(c.id);
    expect(r?.status?.image).to.equal(WORKLOAD_IMAGE);
  });

  it('keeps a stopped container, with state exited, also across a resync', async () => {
    const name = `${prefix}-stopped`;
    const c = await create(name);
    await c.start();
    await sink.waitFor(`${name} running`, () => sink.get(key(name))?.status?.state === 'running');
    await c.stop({ t: 0 });
    await sink.waitFor(`${name} exited`, () => sink.get(key(name))?.status?.state === 'exited');
    await source.resync();
    expect(sink.get(key(name))?.status?.state).to.equal('exited');
    expect(sink.recordsFor(key(name)).some((r) => r.op === 'delete')).to.equal(false);
  });

  it('turns a removal into a delete', async () => {
    const name = `${prefix}-removed`;
    const c = await create(name);
    await sink.waitFor(`${name} created`, () => sink.get(key(name)) !== undefined);
    await c.remove({ force: true });
    await sink.waitFor(
      `${name} deleted`,
      () => sink.recordsFor(key(name)).some((r) => r.op === 'delete'),
      5_000,
    );
    expect(sink.get(key(name))).to.equal(undefined);
  });

  it('treats remove + create with the same name (compose-style relabel) as an update of the same key', async () => {
    const name = `${prefix}-relabel`;
    const first = await create(name, { [`${prefix}.retention.daily`]: '7' });
    await sink.waitFor(`${name} v1`, () => sink.get(key(name))?.metadata.uid === first.id);
    const generation = sink.get(key(name))?.metadata.generation;
    await first.remove({ force: true });
    const second = await create(name, { [`${prefix}.retention.daily`]: '14' });
    await sink.waitFor(`${name} v2`, () => sink.get(key(name))?.metadata.uid === second.id, 5_000);
    // Past the grace period: the old container's delete must not arrive late either.
    await new Promise((r) => setTimeout(r, 800));
    const ops = sink.recordsFor(key(name)).map((r) => r.op);
    expect(ops).to.not.include('delete');
    const r = sink.get(key(name));
    expect(r?.spec).to.deep.include({ retention: { daily: '14' } });
    expect(r?.metadata.generation).to.equal((generation ?? 0) + 1);
  });

  it('lists and decodes 500 labeled containers (created, not started)', async function () {
    this.timeout(300_000);
    const bulkPrefix = `${prefix}b`;
    const bulkDef = testDefinition(`DockerBulk${id}`, bulkPrefix);
    const names = Array.from({ length: 500 }, (_, i) => `${bulkPrefix}-${i}`);
    const tCreate = Date.now();
    await inBatches(names, 25, (name) =>
      createContainer(engine, {
        name,
        Image: WORKLOAD_IMAGE,
        Cmd: ['true'],
        Labels: {
          [`${bulkPrefix}.enable`]: 'true',
          [`${prefix}.run`]: id,
          [`${bulkPrefix}.paths.include`]: `/data/${name}`,
          [`${bulkPrefix}.retention.keepLast`]: '3',
        },
        HostConfig: { RestartPolicy: { Name: 'no' } },
      }),
    );
    const createMs = Date.now() - tCreate;
    const bulkSink = new WatchingSink();
    const bulkSource = new DockerSource(
      new DockerodeClient(),
      [bulkDef],
      undefined,
      undefined,
      undefined,
      undefined,
      {},
    );
    const ac = new AbortController();
    try {
      const t0 = Date.now();
      await bulkSource.start(bulkSink, ac.signal);
      const syncMs = Date.now() - t0;
      expect(bulkSink.store.size).to.equal(500);
      for (const name of names) {
        expect(bulkSink.get(`${bulkDef.kind}/${name}`)?.spec).to.deep.equal({
          enable: 'true',
          paths: { include: `/data/${name}` },
          retention: { keepLast: '3' },
        });
      }
      const t1 = Date.now();
      await bulkSource.resync();
      const resyncMs = Date.now() - t1;
      const tRemove = Date.now();
      const all = await engine.listContainers({
        all: true,
        filters: { label: [`${bulkPrefix}.enable`] },
      });
      await inBatches(all, 25, (c) => engine.getContainer(c.Id).remove({ force: true }));
      const removeMs = Date.now() - tRemove;
      console.log(
        `      500 containers: create ${createMs} ms, start→synced (list + decode) ${syncMs} ms, ` +
          `resync ${resyncMs} ms, remove ${removeMs} ms`,
      );
    } finally {
      ac.abort();
    }
  });
});
