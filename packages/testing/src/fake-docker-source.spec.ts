import { expect } from 'chai';
import {
  AjvSchemaRegistry,
  InMemoryEventRecorder,
  ResourceCache,
  VirtualClock,
  type Resource,
} from '@dockop/runtime';
import { UNTRUSTED_LABELS_ANNOTATION, type ContainerStatus } from '@dockop/docker';
import { FakeDockerSource } from './fake-docker-source.js';
import { widgetDefinition, widgetSchema } from './widget-kind.spec-support.js';

interface Harness {
  fake: FakeDockerSource;
  cache: ResourceCache;
  clock: VirtualClock;
  recorder: InMemoryEventRecorder;
  changes: string[];
  start(): Promise<void>;
}

function harness(options: { recreateGraceMs?: number } = {}): Harness {
  const clock = new VirtualClock();
  const schemas = new AjvSchemaRegistry();
  schemas.add(widgetSchema);
  const recorder = new InMemoryEventRecorder({ clock });
  const cache = new ResourceCache({ schemas, definitions: [widgetDefinition], recorder });
  const fake = new FakeDockerSource({
    clock,
    definitions: [widgetDefinition],
    recorder,
    ...options,
  });
  const changes: string[] = [];
  cache.addEventHandler({
    onAdd: (r) => changes.push(`add ${r.metadata.name}`),
    onUpdate: (_o, n) => changes.push(`update ${n.metadata.name}`),
    onDelete: (r) => changes.push(`delete ${r.metadata.name}`),
  });
  return {
    fake,
    cache,
    clock,
    recorder,
    changes,
    start: () => fake.start(cache.addSource(fake), new AbortController().signal),
  };
}

async function failure(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('expected a rejection');
}

describe('FakeDockerSource', () => {
  it('delivers a selected container as the Docker source does: decoded spec, status, compose, mounts', async () => {
    const h = harness();
    await h.start();
    await h.fake.run({
      name: 'db',
      image: 'postgres:16',
      labels: {
        'widget.enable': 'true',
        'widget.size': '3',
        'widget.nested.a': 'x',
        other: 'kept',
      },
      compose: { project: 'shop', service: 'db', dependsOn: ['cache'] },
      mounts: [
        { name: 'pgdata', destination: '/var/lib/postgresql/data' },
        { source: '/srv/conf', destination: '/etc/conf', readOnly: true },
      ],
    });
    const r = h.cache.get<Resource<Record<string, unknown>, ContainerStatus>>('Widget/db');
    expect(r?.apiVersion).to.equal('testing.dockop.dev/v1');
    // Coerced by the runtime's schema validation, as with the real source.
    expect(r?.spec).to.deep.equal({ enable: true, size: 3, nested: { a: 'x' } });
    expect(r?.metadata.labels['other']).to.equal('kept');
    expect(r?.metadata.generation).to.equal(1);
    expect(r?.status?.image).to.equal('postgres:16');
    expect(r?.status?.state).to.equal('running');
    expect(r?.status?.compose).to.deep.equal({
      project: 'shop',
      service: 'db',
      dependsOn: ['cache'],
    });
    expect(r?.status?.mounts.map((m) => [m.type, m.destination, m.readOnly])).to.deep.equal([
      ['bind', '/etc/conf', true],
      ['volume', '/var/lib/postgresql/data', false],
    ]);
    expect(r?.metadata.uid).to.match(/^[0-9a-f]{64}$/);
  });

  it('ignores containers whose enable label is not true', async () => {
    const h = harness();
    await h.start();
    await h.fake.run({ name: 'a', labels: { 'widget.enable': 'false', 'widget.size': '1' } });
    await h.fake.run({ name: 'b', labels: { 'widget.size': '1' } });
    expect(h.cache.list('Widget')).to.deep.equal([]);
    expect(h.changes).to.deep.equal([]);
  });

  it('delivers containers run before start as the first list', async () => {
    const h = harness();
    await h.fake.run({ name: 'early', labels: { 'widget.enable': 'TRUE' } });
    expect(h.fake.hasSynced()).to.equal(false);
    await h.start();
    expect(h.fake.hasSynced()).to.equal(true);
    expect(h.cache.list('Widget').map((r) => r.metadata.name)).to.deep.equal(['early']);
  });

  it('rejects hostile labels with a message naming container, label and value', async () => {
    const h = harness();
    await h.start();
    await h.fake.run({
      name: 'evil',
      labels: { 'widget.enable': 'true', 'widget.nested.a': 'x\u0007y' },
    });
    expect(h.cache.get('Widget/evil')).to.equal(undefined);
    const rejection = h.cache.rejection('Widget/evil');
    expect(rejection?.reason).to.equal('LabelControlCharacters');
    expect(rejection?.message)
      .to.include('container "evil"')
      .and.include('widget.nested.a')
      .and.include('x\\u0007y');
  });

  it('keeps a stopped container (state exited) and deletes a removed one after the grace period', async () => {
    const h = harness();
    await h.start();
    await h.fake.run({ name: 'w', labels: { 'widget.enable': 'true' } });
    await h.fake.stop('w');
    expect(h.cache.get<Resource<unknown, ContainerStatus>>('Widget/w')?.status?.state).to.equal(
      'exited',
    );
    await h.fake.remove('w');
    expect(h.cache.get('Widget/w')).to.not.equal(undefined);
    h.clock.advance(1_999);
    expect(h.cache.get('Widget/w')).to.not.equal(undefined);
    h.clock.advance(1);
    expect(h.cache.get('Widget/w')).to.equal(undefined);
    expect(h.changes).to.deep.equal(['add w', 'update w', 'delete w']);
  });

  it('setHealth and setState change a container in place: one update each, same id', async () => {
    const h = harness();
    await h.start();
    const record = await h.fake.run({ name: 'w', labels: { 'widget.enable': 'true' } });
    const status = (): ContainerStatus | undefined =>
      h.cache.get<Resource<unknown, ContainerStatus>>('Widget/w')?.status;
    expect(status()?.health).to.equal(undefined);
    await h.fake.setHealth('w', 'starting');
    expect(status()?.health).to.equal('starting');
    await h.fake.setHealth('w', 'unhealthy');
    expect(status()?.health).to.equal('unhealthy');
    await h.fake.setHealth('w', undefined);
    expect(status()?.health).to.equal(undefined);
    await h.fake.setState('w', 'paused');
    expect(status()?.state).to.equal('paused');
    expect(status()?.id).to.equal(record.id);
    expect(h.changes).to.deep.equal(['add w', 'update w', 'update w', 'update w', 'update w']);
    expect(await failure(h.fake.setHealth('nope', 'healthy'))).to.equal('No such container: nope');
  });

  it('relabel recreates the container: new id, same key, one update with a bumped generation', async () => {
    const h = harness();
    await h.start();
    const first = await h.fake.run({
      name: 'w',
      labels: { 'widget.enable': 'true', 'widget.size': '1' },
    });
    const second = await h.fake.relabel('w', { 'widget.enable': 'true', 'widget.size': '2' });
    h.clock.advance(10_000);
    expect(second.id).to.not.equal(first.id);
    const r = h.cache.get<Resource<{ size: number }>>('Widget/w');
    expect(r?.spec.size).to.equal(2);
    expect(r?.metadata.uid).to.equal(second.id);
    expect(r?.metadata.generation).to.equal(2);
    expect(h.changes).to.deep.equal(['add w', 'update w']);
  });

  it('relabel that drops the enable label deletes the key', async () => {
    const h = harness({ recreateGraceMs: 0 });
    await h.start();
    await h.fake.run({ name: 'w', labels: { 'widget.enable': 'true' } });
    await h.fake.relabel('w', { unrelated: 'x' });
    expect(h.cache.get('Widget/w')).to.equal(undefined);
    expect(h.changes).to.deep.equal(['add w', 'delete w']);
  });

  it('drops a sensitive label inherited from the image, with an UntrustedImageLabel warning', async () => {
    const h = harness();
    await h.start();
    await h.fake.run({
      name: 'img',
      image: 'third/party:1',
      imageLabels: { 'widget.command': 'rm -rf /' },
      labels: { 'widget.enable': 'true', 'widget.command': 'rm -rf /' },
    });
    const r = h.cache.get<Resource<Record<string, unknown>>>('Widget/img');
    expect(r?.spec).to.not.have.property('command');
    expect(r?.metadata.annotations[UNTRUSTED_LABELS_ANNOTATION]).to.equal('widget.command');
    const warnings = h.recorder
      .list('Widget/img')
      .filter((e) => e.reason === 'UntrustedImageLabel');
    expect(warnings).to.have.length(1);
    expect(warnings[0]?.message).to.include('third/party:1');
  });

  it('refuses a second container with a taken name, like Docker', async () => {
    const h = harness();
    await h.fake.run({ name: 'same', labels: {} });
    expect(await failure(h.fake.run({ name: 'same', labels: {} }))).to.include(
      '"/same" is already in use',
    );
    expect(await failure(h.fake.stop('nope'))).to.equal('No such container: nope');
    expect(await failure(h.fake.relabel('nope', {}))).to.equal('No such container: nope');
  });

  it('resync of unchanged containers changes nothing', async () => {
    const h = harness();
    await h.start();
    await h.fake.run({ name: 'w', labels: { 'widget.enable': 'true' } });
    const before = h.cache.get('Widget/w')?.metadata.resourceVersion;
    await h.fake.resync();
    expect(h.cache.get('Widget/w')?.metadata.resourceVersion).to.equal(before);
    expect(h.changes).to.deep.equal(['add w']);
    expect(h.fake.resyncCount).to.equal(1);
  });
});
