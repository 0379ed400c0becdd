import { expect } from 'chai';
import type Dockerode from 'dockerode';
import { InMemoryEventRecorder, VirtualClock, type ResourceDefinition } from '@dockop/runtime';
import { observeListed, type ObservedContainer } from './container-resource.js';
import {
  ContainerResourceTracker,
  UNTRUSTED_LABELS_ANNOTATION,
  type ContainerResourceTrackerOptions,
} from './container-resource-tracker.js';
import { ImageLabelTrust } from './image-label-trust.js';
import { FakeEngine } from './test-support/fake-docker.js';
import { job } from './test-support/job-definition.js';
import { RecordingSink } from './test-support/recording-sink.js';

const app: ResourceDefinition = {
  group: 'apps.example.io',
  version: 'v1',
  kind: 'App',
  plural: 'apps',
  selector: { prefixes: ['app.'], enableLabel: 'app.enable', sensitiveLabels: ['app.command'] },
  schemaId: 'app',
};

/** A container as the list API shows it. */
function observed(
  id: string,
  name: string,
  labels: Record<string, string>,
  extra: { state?: string; imageId?: string } = {},
): ObservedContainer {
  return observeListed({
    Id: id,
    Names: [`/${name}`],
    Image: 'img:1',
    ImageID: extra.imageId ?? 'sha256:img1',
    Command: '',
    Created: 1_767_225_600,
    Ports: [],
    Labels: labels,
    State: extra.state ?? 'running',
    Status: 'Up 1 second',
    HostConfig: { NetworkMode: 'none' },
    NetworkSettings: { Networks: {} },
    Mounts: [],
  } as unknown as Dockerode.ContainerInfo);
}

function setup(options: Partial<ContainerResourceTrackerOptions> = {}): {
  tracker: ContainerResourceTracker;
  sink: RecordingSink;
  clock: VirtualClock;
  engine: FakeEngine;
  recorder: InMemoryEventRecorder;
} {
  const clock = new VirtualClock();
  const engine = new FakeEngine();
  const recorder = new InMemoryEventRecorder({ clock });
  const tracker = new ContainerResourceTracker({
    definitions: [app, job],
    trust: new ImageLabelTrust(engine.client()),
    clock,
    recorder,
    ...options,
  });
  const sink = new RecordingSink();
  tracker.attach(sink);
  return { tracker, sink, clock, engine, recorder };
}

const on = { 'app.enable': 'true', 'app.size': '1' };

describe('ContainerResourceTracker', () => {
  it('delivers an initial list as one replace, then only real changes as upserts', async () => {
    const t = setup();
    t.tracker.beginInitialList();
    await t.tracker.upsert(observed('a', 'web', { ...on, 'job.every': '1h' }));
    await t.tracker.upsert(observed('b', 'off', { 'app.enable': 'false' }));
    t.tracker.finishInitialList();
    expect(t.sink.log).to.deep.equal(['replace App/web,Job/web']);

    await t.tracker.upsert(observed('a', 'web', { ...on, 'job.every': '1h' }));
    expect(t.sink.log).to.have.length(1);
    await t.tracker.upsert(observed('a', 'web', { ...on, 'job.every': '1h' }, { state: 'exited' }));
    expect(t.sink.log.slice(1)).to.deep.equal(['update App/web', 'update Job/web']);
    expect(t.tracker.resources().map((r) => r.metadata.name)).to.deep.equal(['web', 'web']);
  });

  it('deletes a vacated key only after the recreate grace period', async () => {
    const t = setup({ recreateGraceMs: 2000 });
    await t.tracker.upsert(observed('a', 'web', on));
    t.tracker.delete(observed('a', 'web', on));
    t.clock.advance(1999);
    expect(t.sink.log).to.deep.equal(['create App/web']);
    t.clock.advance(1);
    expect(t.sink.log).to.deep.equal(['create App/web', 'delete App/web']);
    expect(t.tracker.resources()).to.deep.equal([]);
  });

  it('makes a recreate within the grace period one update of the same key', async () => {
    const t = setup();
    await t.tracker.upsert(observed('a', 'web', on));
    t.tracker.delete(observed('a', 'web', on));
    await t.tracker.upsert(observed('b', 'web', { ...on, 'app.size': '2' }));
    t.clock.advance(10_000);
    expect(t.sink.log).to.deep.equal(['create App/web', 'update App/web']);
    expect(t.sink.get('App/web')?.metadata.uid).to.equal('b');
  });

  it('releases a key at once with recreateGraceMs 0, and when labels stop selecting', async () => {
    const t = setup({ recreateGraceMs: 0 });
    await t.tracker.upsert(observed('a', 'web', { ...on, 'job.every': '1h' }));
    await t.tracker.upsert(observed('a', 'web', on));
    // App/web's status.labels changed too: an update.
    expect(t.sink.log).to.deep.equal([
      'create App/web',
      'create Job/web',
      'update App/web',
      'delete Job/web',
    ]);
  });

  it('reports a rejection once per container and message, and clears it on delete', async () => {
    const t = setup({ recreateGraceMs: 0, maxLabelBytes: 8 });
    await t.tracker.upsert(observed('a', 'web', on));
    const bad = { ...on, 'app.size': 'x'.repeat(9) };
    await t.tracker.upsert(observed('a', 'web', bad));
    await t.tracker.upsert(observed('a', 'web', bad));
    expect(t.sink.log).to.deep.equal([
      'create App/web',
      'delete App/web',
      'reject App/web LabelTooLong',
    ]);
    expect(t.sink.rejections[0]?.message).to.include('web').and.include('app.size');
    await t.tracker.upsert(observed('b', 'web', bad));
    expect(t.sink.log.filter((l) => l.startsWith('reject'))).to.have.length(2);
    t.tracker.delete(observed('b', 'web', bad));
    expect(t.sink.log.at(-1)).to.equal('delete App/web');
  });

  it("ignores compose v2's temporary <id[:12]>_<name> replacement", async () => {
    const t = setup();
    const id = 'f'.repeat(64);
    await t.tracker.upsert(observed(id, `${id.slice(0, 12)}_web`, on));
    expect(t.sink.log).to.deep.equal([]);
    // Only that exact prefix: another id's, a '-' instead of the '_', or one char short is a name.
    await t.tracker.upsert(observed('e'.repeat(64), `${id.slice(0, 12)}_api`, on));
    await t.tracker.upsert(observed('d'.repeat(64), `${'d'.repeat(12)}-db`, on));
    await t.tracker.upsert(observed('c'.repeat(64), `${'c'.repeat(11)}_x`, on));
    // A short id (a test engine's) counts whole.
    await t.tracker.upsert(observed('ab', 'ab_tmp', on));
    await t.tracker.upsert(observed('ab2', 'ab_y', on));
    expect(t.sink.log).to.deep.equal([
      `create App/${id.slice(0, 12)}_api`,
      `create App/${'d'.repeat(12)}-db`,
      `create App/${'c'.repeat(11)}_x`,
      'create App/ab_y',
    ]);
  });

  it('drops a sensitive label the image set, annotates and warns once; trusts on request', async () => {
    const t = setup();
    t.engine.imageLabels.set('sha256:evil', { 'app.command': 'rm -rf /' });
    const labels = { ...on, 'app.command': 'rm -rf /' };
    await t.tracker.upsert(observed('a', 'web', labels, { imageId: 'sha256:evil' }));
    await t.tracker.upsert(
      observed('a', 'web', labels, { imageId: 'sha256:evil', state: 'exited' }),
    );
    const r = t.sink.get('App/web');
    expect(r?.spec).to.deep.equal({ enable: 'true', size: '1' });
    expect(r?.metadata.annotations[UNTRUSTED_LABELS_ANNOTATION]).to.equal('app.command');
    expect(t.recorder.list('App/web').map((e) => e.reason)).to.deep.equal(['UntrustedImageLabel']);

    const trusting = setup({ trustImageLabels: true });
    trusting.engine.imageLabels.set('sha256:evil', { 'app.command': 'rm -rf /' });
    await trusting.tracker.upsert(observed('a', 'web', labels, { imageId: 'sha256:evil' }));
    expect(trusting.sink.get('App/web')?.spec).to.deep.include({ command: 'rm -rf /' });
  });

  it('fails closed when the image is gone: sensitive labels dropped with a Warning naming the image', async () => {
    const t = setup();
    const labels = { ...on, 'app.command': 'echo mine' };
    await t.tracker.upsert(observed('a', 'web', labels, { imageId: 'sha256:deleted' }));
    expect(t.sink.get('App/web')?.spec).to.deep.equal({ enable: 'true', size: '1' });
    const events = t.recorder.list('App/web');
    expect(events.map((e) => [e.type, e.reason])).to.deep.equal([
      ['Warning', 'UntrustedImageLabel'],
    ]);
    expect(events[0]?.message)
      .to.contain('app.command')
      .and.contain('"web"')
      .and.contain('sha256:deleted')
      .and.contain('could not be inspected');
    // The image is back (or the engine answers again): asked again, now trusted.
    t.engine.imageLabels.set('sha256:deleted', {});
    await t.tracker.upsert(
      observed('a', 'web', labels, { imageId: 'sha256:deleted', state: 'exited' }),
    );
    expect(t.sink.get('App/web')?.spec).to.deep.include({ command: 'echo mine' });
  });

  it('reads definitions given as a function at every observation', async () => {
    const defs: ResourceDefinition[] = [];
    const t = setup({ definitions: () => defs });
    await t.tracker.upsert(observed('a', 'web', on));
    defs.push(app);
    await t.tracker.upsert(observed('a', 'web', on));
    expect(t.sink.log).to.deep.equal(['create App/web']);
  });

  it('cancelPendingDeletes leaves no timer behind', async () => {
    const t = setup();
    await t.tracker.upsert(observed('a', 'web', on));
    t.tracker.delete(observed('a', 'web', on));
    t.tracker.cancelPendingDeletes();
    expect(t.clock.pending()).to.equal(0);
    t.clock.advance(10_000);
    expect(t.sink.log).to.deep.equal(['create App/web']);
  });

  it('decodes equal owned labels once in an initial list; refusals still name each container', async () => {
    const t = setup();
    t.tracker.beginInitialList();
    const fleet = ['a', 'b', 'c'].map((id) =>
      observed(id, `web-${id}`, { ...on, 'job.every': '1h', 'compose.service': id }),
    );
    for (const c of fleet) await t.tracker.upsert(c);
    // Same owned values as the fleet's, but a control character makes it hostile.
    await t.tracker.upsert(observed('d', 'web-d', { ...on, 'app.size': '1\u0000' }));
    await t.tracker.upsert(observed('e', 'web-e', { ...on, 'app.size': '1\u0000' }));
    t.tracker.finishInitialList();
    const specs = ['a', 'b', 'c'].map((id) => t.sink.get(`App/web-${id}`)?.spec);
    expect(specs[0]).to.deep.equal({ enable: 'true', size: '1' });
    // One spec object for the three: the cache validates it once.
    expect(specs[1]).to.equal(specs[0]);
    expect(specs[2]).to.equal(specs[0]);
    expect(t.sink.get('Job/web-a')?.spec).to.deep.equal({ every: '1h' });
    expect(
      t.sink.rejections.map((r) => [r.key, r.message.includes(`"${r.key.slice(4)}"`)]),
    ).to.deep.equal([
      ['App/web-d', true],
      ['App/web-e', true],
    ]);

    // After the initial list each observation decodes on its own again.
    await t.tracker.upsert(observed('a', 'web-a', { ...on, 'app.size': '2' }));
    await t.tracker.upsert(observed('b', 'web-b', { ...on, 'app.size': '2' }));
    expect(t.sink.get('App/web-a')?.spec).to.deep.equal({ enable: 'true', size: '2' });
    expect(t.sink.get('App/web-b')?.spec).to.not.equal(t.sink.get('App/web-a')?.spec);
  });

  it('asks the image check once per distinct owned labels in an initial list; sensitive ones per image', async () => {
    const engine = new FakeEngine();
    engine.imageLabels.set('sha256:evil', { 'app.command': 'rm -rf /' });
    engine.imageLabels.set('sha256:clean', {});
    const trust = new ImageLabelTrust(engine.client());
    const filterNow = trust.filterNow.bind(trust);
    let asked = 0;
    trust.filterNow = (...args) => (asked++, filterNow(...args));
    const t = setup({ trust });
    t.tracker.beginInitialList();
    for (const id of ['a', 'b', 'c']) {
      expect(t.tracker.upsert(observed(id, `web-${id}`, { ...on, 'other.x': id }))).to.equal(
        undefined,
      );
    }
    expect(asked).to.equal(1);
    // The same sensitive owned labels on two images: each container is judged by its own.
    const labels = { ...on, 'app.command': 'rm -rf /' };
    await t.tracker.upsert(observed('d', 'evil', labels, { imageId: 'sha256:evil' }));
    await t.tracker.upsert(observed('e', 'clean', labels, { imageId: 'sha256:clean' }));
    t.tracker.finishInitialList();
    expect(t.sink.get('App/web-c')?.spec).to.deep.equal({ enable: 'true', size: '1' });
    expect(t.sink.get('App/evil')?.spec).to.deep.equal({ enable: 'true', size: '1' });
    expect(t.sink.get('App/evil')?.metadata.annotations).to.deep.equal({
      [UNTRUSTED_LABELS_ANNOTATION]: 'app.command',
    });
    expect(t.sink.get('App/clean')?.spec).to.deep.include({ command: 'rm -rf /' });
    expect(t.sink.get('App/clean')?.metadata.annotations).to.deep.equal({});
  });

  it('answers containers of an inspected image without an await, sharing the decode in an initial list', async () => {
    const t = setup();
    // The image sets labels, none of them the sensitive one.
    t.engine.imageLabels.set('sha256:app', { 'app.enable': 'true', 'app.size': '1' });
    const labels = { ...on, 'app.command': 'backup' };
    t.tracker.beginInitialList();
    const answers: unknown[] = [];
    for (let i = 0; i < 100; i++) {
      const answer = t.tracker.upsert(
        observed(`c${i}`, `web-${i}`, labels, { imageId: 'sha256:app' }),
      );
      answers.push(answer);
      await answer;
    }
    t.tracker.finishInitialList();
    // Only the first waits, for the one inspect.
    expect(answers[0]).to.be.instanceOf(Promise);
    expect(answers.slice(1).every((a) => a === undefined)).to.equal(true);
    expect(t.engine.calls.filter((c) => c.startsWith('image'))).to.deep.equal(['image sha256:app']);
    const specs = answers.map((_, i) => t.sink.get(`App/web-${i}`)?.spec);
    expect(specs[1]).to.deep.equal({ enable: 'true', size: '1', command: 'backup' });
    // The 99 answered at once share one decoded spec.
    expect(new Set(specs.slice(1)).size).to.equal(1);
    expect(specs[0]).to.deep.equal(specs[1]);
    expect(t.recorder.all()).to.deep.equal([]);

    // After the list too (no memo): no await for that image.
    const changed = observed(
      'c1',
      'web-1',
      { ...labels, 'app.size': '2' },
      { imageId: 'sha256:app' },
    );
    expect(t.tracker.upsert(changed)).to.equal(undefined);
    expect(t.sink.log.at(-1)).to.equal('update App/web-1');
    expect(t.sink.get('App/web-1')?.spec).to.deep.include({ command: 'backup', size: '2' });
    expect(t.engine.count('image')).to.equal(1);
  });

  it('judges the same sensitive owned labels per image in an initial list, whatever came before', async () => {
    const t = setup();
    t.engine.imageLabels.set('sha256:clean', { 'app.command': 'echo other' });
    t.engine.imageLabels.set('sha256:evil', { 'app.command': 'rm -rf /' });
    const labels = { ...on, 'app.command': 'rm -rf /' };
    // The first of each image waits for its inspect; the rest are answered at once, a clean one
    // right before an evil one.
    const images = ['clean', 'evil', 'clean', 'evil', 'evil', 'clean', 'evil'];
    t.tracker.beginInitialList();
    for (const [i, image] of images.entries()) {
      await t.tracker.upsert(
        observed(`c${i}`, `${image}-${i}`, labels, { imageId: `sha256:${image}` }),
      );
    }
    t.tracker.finishInitialList();
    expect(t.engine.count('image')).to.equal(2);
    for (const [i, image] of images.entries()) {
      const key = `App/${image}-${i}`;
      const r = t.sink.get(key);
      if (image === 'clean') {
        expect(r?.spec, key).to.deep.equal({ enable: 'true', size: '1', command: 'rm -rf /' });
        expect(r?.metadata.annotations, key).to.deep.equal({});
        expect(t.recorder.list(key), key).to.deep.equal([]);
      } else {
        expect(r?.spec, key).to.deep.equal({ enable: 'true', size: '1' });
        expect(r?.metadata.annotations, key).to.deep.equal({
          [UNTRUSTED_LABELS_ANNOTATION]: 'app.command',
        });
        expect(
          t.recorder.list(key).map((e) => e.reason),
          key,
        ).to.deep.equal(['UntrustedImageLabel']);
      }
    }
  });

  it('fails closed for every container of an image that cannot be inspected, asking each time', async () => {
    const t = setup();
    const labels = { ...on, 'app.command': 'echo mine' };
    t.tracker.beginInitialList();
    for (const id of ['a', 'b', 'c']) {
      const answer = t.tracker.upsert(
        observed(id, `web-${id}`, labels, { imageId: 'sha256:gone' }),
      );
      expect(answer).to.be.instanceOf(Promise);
      await answer;
    }
    t.tracker.finishInitialList();
    expect(t.engine.count('image')).to.equal(3);
    for (const id of ['a', 'b', 'c']) {
      expect(t.sink.get(`App/web-${id}`)?.spec).to.deep.equal({ enable: 'true', size: '1' });
      expect(t.recorder.list(`App/web-${id}`).map((e) => e.message)).to.have.length(1);
    }
  });

  it('shares a decoded spec in an initial list only between exactly equal owned labels', async () => {
    const t = setup();
    t.tracker.beginInitialList();
    // Owned labels that are a prefix of others', the same values under other keys, a value
    // that is another's key and value run together, an empty value: each its own spec.
    const labels: Record<string, Record<string, string>> = {
      a: { 'app.enable': 'true' },
      b: { 'app.enable': 'true', 'app.size': '1' },
      c: { 'app.enable': 'true', 'app.size': '1', 'app.x': '' },
      d: { 'app.enable': 'true', 'app.x': '1' },
      e: { 'app.enable': 'true', 'app.size': '1app.x' },
      f: { 'app.enable': 'true', 'app.size': '' },
      g: { 'app.enable': 'true', 'app.size': '1', 'other.label': 'x' },
    };
    for (const [id, l] of Object.entries(labels)) await t.tracker.upsert(observed(id, id, l));
    t.tracker.finishInitialList();
    const spec = (id: string): unknown => t.sink.get(`App/${id}`)?.spec;
    expect(Object.keys(labels).map((id) => ({ ...(spec(id) as object) }))).to.deep.equal([
      { enable: 'true' },
      { enable: 'true', size: '1' },
      { enable: 'true', size: '1', x: '' },
      { enable: 'true', x: '1' },
      { enable: 'true', size: '1app.x' },
      { enable: 'true', size: '' },
      { enable: 'true', size: '1' },
    ]);
    // Only g (b's owned labels, plus one no kind owns) shares.
    expect(spec('g')).to.equal(spec('b'));
    expect(new Set(Object.keys(labels).map(spec)).size).to.equal(6);
  });

  it('delivers every kind of a container whose second kind waits for an image inspect', async () => {
    const sensitiveJob = { ...job, selector: { prefixes: ['job.'], sensitiveLabels: ['job.run'] } };
    const t = setup({ definitions: [app, sensitiveJob] });
    t.engine.imageLabels.set('sha256:img1', {});
    const done = t.tracker.upsert(observed('a', 'web', { ...on, 'job.run': 'date' }));
    expect(done).to.be.instanceOf(Promise);
    await done;
    expect(t.sink.log).to.deep.equal(['create App/web', 'create Job/web']);
    expect(t.sink.get('Job/web')?.spec).to.deep.equal({ run: 'date' });
    // No sensitive label: answered synchronously.
    expect(t.tracker.upsert(observed('b', 'api', on))).to.equal(undefined);
    expect(t.sink.log).to.deep.equal(['create App/web', 'create Job/web', 'create App/api']);
  });

  it('refuses to deliver before attach()', async () => {
    const tracker = new ContainerResourceTracker({
      definitions: [app],
      trust: new ImageLabelTrust(new FakeEngine().client()),
      clock: new VirtualClock(),
    });
    let error: Error | undefined;
    try {
      // Synchronous when no image is inspected: the error is thrown, not a rejection.
      await tracker.upsert(observed('a', 'web', on));
    } catch (e) {
      error = e as Error;
    }
    expect(error?.message).to.equal('ContainerResourceTracker used before attach()');
  });
});
