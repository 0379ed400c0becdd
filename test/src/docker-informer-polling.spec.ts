// dockerModule({ watchEvents: false }) against the real engine: no events stream, a relist every
// resyncPeriodMs (on the injected clock) that finds new and removed containers.
import { expect } from 'chai';
import type Docker from 'dockerode';
import { Container } from 'inversify';
import { Registry } from 'prom-client';
import { createContainer, DockerSource, dockerModule } from '@dockop/docker';
import {
  Clock,
  HealthCheck,
  MetricsRegistry,
  ResourceDefinition,
  VirtualClock,
} from '@dockop/runtime';
import { removeLabeled, requireEngine, runId, WORKLOAD_IMAGE } from './support/engine.js';
import { testDefinition, WatchingSink } from './support/docker-sink.js';

describe('docker informer without events (real engine)', function () {
  const id = runId().replace(/-/g, '');
  const prefix = `itpoll${id}`;
  const def = testDefinition(`DockerPoll${id}`, prefix);
  const period = 30_000;
  let engine: Docker;
  let controller: AbortController | undefined;

  before(async function () {
    engine = await requireEngine(this);
  });

  after(async function () {
    this.timeout(60_000);
    controller?.abort();
    if (engine) await removeLabeled(engine, `${prefix}.run`);
  });

  async function run(name: string): Promise<Docker.Container> {
    const c = await createContainer(engine, {
      name,
      Image: WORKLOAD_IMAGE,
      Cmd: ['sleep', '300'],
      Labels: { [`${prefix}.enable`]: 'true', [`${prefix}.run`]: id },
      HostConfig: { RestartPolicy: { Name: 'no' } },
    });
    await c.start();
    return c;
  }

  const key = (name: string): string => `${def.kind}/${name}`;

  it('opens no events stream and finds creates and removes at the next periodic relist', async () => {
    const clock = new VirtualClock();
    const registry = new Registry();
    const c = new Container();
    c.bind(Clock).toConstantValue(clock);
    c.bind(MetricsRegistry).toConstantValue(registry);
    c.bind(ResourceDefinition).toConstantValue(def);
    c.load(dockerModule({ watchEvents: false, resyncPeriodMs: period, recreateGraceMs: 0 }));
    const source = c.get(DockerSource);
    const ready = c.getAll<HealthCheck>(HealthCheck).find((h) => h.kind === 'readiness');

    const first = await run(`${prefix}-first`);
    const sink = new WatchingSink();
    controller = new AbortController();
    expect(ready?.check()).to.equal(false);
    await source.start(sink, controller.signal);
    expect(sink.get(key(`${prefix}-first`))?.metadata.uid).to.equal(first.id);
    expect(ready?.check()).to.be.a('string');

    const second = await run(`${prefix}-second`);
    await first.remove({ force: true });
    await clock.advanceAsync(period);
    await sink.waitFor(
      'the periodic relist to add the second container and delete the first',
      () =>
        sink.get(key(`${prefix}-second`)) !== undefined &&
        sink.get(key(`${prefix}-first`)) === undefined,
    );
    expect(sink.get(key(`${prefix}-second`))?.metadata.uid).to.equal(second.id);
    expect(sink.recordsFor(key(`${prefix}-first`)).map((r) => r.op)).to.deep.equal(['delete']);
    expect(ready?.check()).to.be.a('string');

    const text = await registry.metrics();
    expect(text).to.contain('dockop_docker_resyncs_total{reason="initial"} 1');
    expect(text).to.contain('dockop_docker_resyncs_total{reason="periodic"} 1');
    expect(text).to.contain('op="containers.list"');
    // Neither a stream nor per-container inspects: lists only.
    expect(text).not.to.contain('op="events"');
    expect(text).not.to.contain('op="containers.inspect"');
  });
});
