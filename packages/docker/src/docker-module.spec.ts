import { expect } from 'chai';
import { Container } from 'inversify';
import { Registry } from 'prom-client';
import { HealthCheck, MetricsRegistry, ResourceDefinition, Source } from '@dockop/runtime';
import { ContainerActions, DockerContainerActions } from './container-actions.js';
import { DockerClient } from './docker-client.js';
import { DockerMetrics } from './docker-metrics.js';
import { dockerModule } from './docker-module.js';
import { DockerSource } from './docker-source.js';

describe('dockerModule', () => {
  function container(): Container {
    const c = new Container();
    c.bind(ResourceDefinition).toConstantValue({
      group: 'g.io',
      version: 'v1',
      kind: 'Thing',
      plural: 'things',
      selector: { prefixes: ['thing.'] },
      schemaId: 'thing',
    });
    c.load(dockerModule({ socketPath: '/nonexistent/docker.sock' }));
    return c;
  }

  it('binds one singleton DockerSource as the Source, with every ResourceDefinition', () => {
    const c = container();
    const source = c.get<Source>(Source);
    expect(source).to.be.instanceOf(DockerSource);
    expect(c.get(DockerSource)).to.equal(source);
    expect((source as DockerSource).definitions.map((d) => d.kind)).to.deep.equal(['Thing']);
  });

  it('binds ContainerActions, the client from options and two health checks', () => {
    const c = container();
    expect(c.get(ContainerActions)).to.be.instanceOf(DockerContainerActions);
    expect(
      (c.get<DockerClient>(DockerClient).api.modem as unknown as { socketPath: string }).socketPath,
    ).to.equal('/nonexistent/docker.sock');
    const checks = c.getAll<HealthCheck>(HealthCheck);
    expect(checks.map((h) => `${h.kind}:${h.name}`).sort()).to.deep.equal([
      'liveness:docker-events',
      'readiness:docker-source',
    ]);
    // Not started: not ready, but live (within the grace period).
    const ready = checks.find((h) => h.kind === 'readiness');
    expect(ready?.check()).to.equal(false);
  });

  it('registers its metrics on the runtime MetricsRegistry when bound', async () => {
    const c = container();
    const registry = new Registry();
    c.bind(MetricsRegistry).toConstantValue(registry);
    const metrics = c.get<DockerMetrics>(DockerMetrics);
    metrics.request('containers.inspect', 0.01, 'ok');
    metrics.event('start');
    metrics.reconnect();
    metrics.resync('periodic');
    const text = await registry.metrics();
    for (const name of [
      'dockop_docker_api_requests_total{op="containers.inspect",outcome="ok"} 1',
      'dockop_docker_api_request_duration_seconds_count{op="containers.inspect"} 1',
      'dockop_docker_events_total{action="start"} 1',
      'dockop_docker_reconnects_total 1',
      'dockop_docker_resyncs_total{reason="periodic"} 1',
    ]) {
      expect(text).to.contain(name);
    }
  });

  it('passes watchEvents to the informer (default true)', () => {
    const polling = new Container();
    polling.load(dockerModule({ watchEvents: false, resyncPeriodMs: 15_000 }));
    expect(polling.get(DockerSource).informer.watchEvents).to.equal(false);
    expect(container().get(DockerSource).informer.watchEvents).to.equal(true);
    const explicit = new Container();
    explicit.load(dockerModule({ watchEvents: true }));
    expect(explicit.get(DockerSource).informer.watchEvents).to.equal(true);
  });

  it('works without any ResourceDefinition bound', () => {
    const c = new Container();
    c.load(dockerModule());
    expect((c.get<Source>(Source) as DockerSource).definitions).to.deep.equal([]);
  });
});
