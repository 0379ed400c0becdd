import { expect } from 'chai';
import { InMemoryConditionStore } from './conditions.js';
import { InMemoryEventRecorder } from './event-recorder.js';
import type { Resource } from './resource.js';
import type { ResourceDefinition } from './resource-definition.js';
import {
  ResourceCache,
  describeValidationError,
  labelForPath,
  type ResourceEventHandler,
} from './resource-cache.js';
import { AjvSchemaRegistry, type ValidationResult } from './schema-registry.js';
import { VirtualClock } from './virtual-clock.js';

const def: ResourceDefinition = {
  group: 'test.dockop.io',
  version: 'v1',
  kind: 'Widget',
  plural: 'widgets',
  selector: { prefixes: ['widget.'], paths: { 'widget.sz': 'size' } },
  schemaId: 'widget',
};

function widget(
  name: string,
  spec: Record<string, unknown>,
  rv = '1',
  labels: Record<string, string> = {},
): Resource {
  return {
    apiVersion: 'test.dockop.io/v1',
    kind: 'Widget',
    metadata: {
      name,
      uid: `uid-${name}`,
      labels,
      annotations: {},
      generation: 1,
      resourceVersion: rv,
      creationTimestamp: '2026-01-01T00:00:00.000Z',
    },
    spec,
  };
}

function setup() {
  const clock = new VirtualClock(0);
  const schemas = new AjvSchemaRegistry();
  schemas.add({
    $id: 'widget',
    type: 'object',
    additionalProperties: false,
    properties: {
      size: { type: 'integer', minimum: 1 },
      tags: { type: 'array', items: { type: 'string', maxLength: 3 } },
      apiToken: { type: 'string', pattern: '^[A-Z_]+$' },
    },
  });
  const conditions = new InMemoryConditionStore(clock);
  const recorder = new InMemoryEventRecorder({ clock });
  const cache = new ResourceCache({ schemas, definitions: [def], conditions, recorder });
  const events: string[] = [];
  const handler: ResourceEventHandler = {
    onAdd: (r) => events.push(`add ${r.metadata.name}`),
    onUpdate: (o, n) =>
      events.push(
        `update ${o.metadata.name} ${o.metadata.resourceVersion}->${n.metadata.resourceVersion}`,
      ),
    onDelete: (r) => events.push(`delete ${r.metadata.name}`),
  };
  cache.addEventHandler(handler);
  return { clock, cache, conditions, recorder, events, sink: cache.sinkFor('src') };
}

describe('ResourceCache', () => {
  it('stores a valid resource with its coerced spec and dispatches add', () => {
    const { cache, sink, events } = setup();
    sink.upsert(widget('a', { size: '3', tags: 'x, y' }));
    expect(cache.get('Widget/a')?.spec).to.deep.equal({ size: 3, tags: ['x', 'y'] });
    expect(cache.list('Widget').map((r) => r.metadata.name)).to.deep.equal(['a']);
    expect(events).to.deep.equal(['add a']);
  });

  it('dispatches update with old and new, and skips an unchanged resourceVersion', () => {
    const { sink, events } = setup();
    sink.upsert(widget('a', { size: 1 }, '1'));
    sink.upsert(widget('a', { size: 2 }, '1'));
    sink.upsert(widget('a', { size: 2 }, '2'));
    expect(events).to.deep.equal(['add a', 'update a 1->2']);
  });

  it('keeps an invalid spec out, with InvalidSpec and Ready=False conditions and a Warning naming field, value and rule', () => {
    const { cache, sink, conditions, recorder } = setup();
    sink.upsert(widget('bad', { size: 'huge' }));
    expect(cache.get('Widget/bad')).to.equal(undefined);
    expect(conditions.get('Widget/bad', 'InvalidSpec')).to.deep.include({
      status: 'True',
      reason: 'InvalidSpec',
    });
    const ready = conditions.get('Widget/bad', 'Ready')!;
    expect(ready).to.deep.include({ status: 'False', reason: 'InvalidSpec' });
    const [ev] = recorder.list('Widget/bad');
    expect(ev).to.deep.include({ type: 'Warning', reason: 'InvalidSpec' });
    // Not label-derived (no labels): the spec path names the field.
    expect(ev!.message).to.equal(
      'Widget/bad: spec.size: "huge" violates type: integer (must be integer)',
    );
    expect(ready.message).to.equal(ev!.message);
    expect(cache.rejection('Widget/bad')!.errors![0]!.path).to.equal('size');
  });

  describe('invalid spec messages name the label and the value as written', () => {
    it('maps a spec path back through the prefix', () => {
      const { sink, recorder } = setup();
      sink.upsert(widget('a', { size: 'huge' }, '1', { 'widget.size': 'huge', other: 'x' }));
      expect(recorder.list('Widget/a')[0]!.message).to.equal(
        'Widget/a: label widget.size="huge": spec.size violates type: integer (must be integer)',
      );
    });

    it('maps through an explicit selector.paths entry first', () => {
      const { sink, recorder } = setup();
      sink.upsert(widget('a', { size: '0' }, '1', { 'widget.sz': '0' }));
      expect(recorder.list('Widget/a')[0]!.message).to.equal(
        'Widget/a: label widget.sz="0": spec.size violates minimum: 1 (must be >= 1)',
      );
    });

    it('strips array indexes, quoting the whole label and the failing item; one clause per error', () => {
      const { sink, recorder, cache } = setup();
      const labels = { 'widget.tags': 'ok,toolong', 'widget.size': 'x' };
      sink.upsert(widget('a', { tags: 'ok,toolong', size: 'x' }, '1', labels));
      const message = recorder.list('Widget/a')[0]!.message;
      const clauses = message.slice('Widget/a: '.length).split('; ');
      expect(message.startsWith('Widget/a: ')).to.equal(true);
      expect(clauses).to.have.members([
        'label widget.size="x": spec.size violates type: integer (must be integer)',
        'label widget.tags="ok,toolong": spec.tags[1] "toolong" violates maxLength: 3 (must NOT have more than 3 characters)',
      ]);
      expect(cache.rejected('Widget')[0]!.message).to.equal(message);
    });

    it('keeps the spec path when no label maps to it (a label outside the selector does not count)', () => {
      const { sink, recorder } = setup();
      sink.upsert(widget('a', { size: 'huge' }, '1', { size: 'huge', 'widget.enable': 'true' }));
      expect(recorder.list('Widget/a')[0]!.message).to.equal(
        'Widget/a: spec.size: "huge" violates type: integer (must be integer)',
      );
    });

    it('labelForPath only names a label that decodes back to the path', () => {
      const selector = {
        prefixes: ['app.', 'app.db.'],
        paths: { 'app.volumes': 'volumes.enabled' },
      };
      const labels = { 'app.volumes': 'x', 'app.db.port': '1', 'app.name': 'n' };
      expect(labelForPath(selector, 'volumes.enabled', labels)).to.equal('app.volumes');
      // app.volumes decodes to volumes.enabled, not to volumes.
      expect(labelForPath(selector, 'volumes', labels)).to.equal(undefined);
      // app.db.port decodes (longest prefix) to port, not to db.port.
      expect(labelForPath(selector, 'db.port', labels)).to.equal(undefined);
      expect(labelForPath(selector, 'port', labels)).to.equal('app.db.port');
      expect(labelForPath(selector, 'name[3]', labels)).to.equal('app.name');
      expect(labelForPath(selector, 'missing', labels)).to.equal(undefined);
      expect(labelForPath(selector, '', labels)).to.equal(undefined);
    });

    it('never shows the value of a label whose name says secret, nor a secret shape in another', () => {
      const { sink, recorder, cache } = setup();
      const planted = 'hunter2-Planted-Secret';
      sink.upsert(
        widget('a', { apiToken: planted, tags: ['--password=hunter2x'] }, '1', {
          'widget.apiToken': planted,
          'widget.tags': '--password=hunter2x',
        }),
      );
      const message = recorder.list('Widget/a')[0]!.message;
      expect(message).to.contain(
        `label widget.apiToken=(${planted.length} characters, not shown): spec.apiToken violates pattern`,
      );
      expect(message).to.contain('label widget.tags="--password=');
      expect(message).to.not.contain(planted);
      expect(message).to.not.contain('hunter2x');
      expect(cache.rejected('Widget')[0]!.message).to.equal(message);
      // Without a label to name (a spec from elsewhere), the field's name decides.
      sink.upsert(widget('b', { apiToken: planted }, '1', {}));
      expect(recorder.list('Widget/b')[0]!.message).to.equal(
        `Widget/b: spec.apiToken: (value not shown: the field's name says secret) violates pattern: ^[A-Z_]+$ (must match pattern "^[A-Z_]+$")`,
      );
    });

    it('cuts a very long label value in the message', () => {
      const { sink, recorder } = setup();
      const long = 'y'.repeat(300);
      sink.upsert(widget('a', { size: long }, '1', { 'widget.size': long }));
      const message = recorder.list('Widget/a')[0]!.message;
      expect(message).to.contain(`label widget.size="${'y'.repeat(200)}…" (300 characters)`);
      expect(message).to.not.contain('y'.repeat(201));
    });
  });

  it('rejected(kind) lists refused objects of the kind with labels and status, until fixed or deleted', () => {
    const { cache, sink } = setup();
    sink.upsert({ ...widget('b', { size: 'no' }, '1', { team: 'x' }), status: { id: 'c2' } });
    sink.upsert(widget('a', { size: 0 }, '1'));
    sink.reject('Widget/c', 'LabelTooLong', 'too long');
    sink.upsert({ ...widget('g', {}), kind: 'Gadget' });
    sink.reject('Gadget/h', 'Other', 'other kind');
    const rejected = cache.rejected('Widget');
    expect(rejected.map((r) => [r.key, r.name, r.reason])).to.deep.equal([
      ['Widget/a', 'a', 'InvalidSpec'],
      ['Widget/b', 'b', 'InvalidSpec'],
      ['Widget/c', 'c', 'LabelTooLong'],
    ]);
    expect(rejected[1]).to.deep.include({ labels: { team: 'x' }, status: { id: 'c2' } });
    expect(rejected[1]!.message).to.equal(cache.rejection('Widget/b')!.message);
    expect(rejected[2]).to.not.have.property('labels');
    sink.upsert(widget('a', { size: 2 }, '2'));
    sink.delete('Widget/b');
    expect(cache.rejected('Widget').map((r) => r.key)).to.deep.equal(['Widget/c']);
    expect(cache.rejected('Gadget').map((r) => r.key)).to.deep.equal(['Gadget/h']);
  });

  it('removes a previously valid version when an update is invalid (delete dispatched) and restores it when fixed', () => {
    const { cache, sink, events, conditions } = setup();
    sink.upsert(widget('a', { size: 1 }, '1'));
    sink.upsert(widget('a', { size: 0 }, '2'));
    expect(cache.get('Widget/a')).to.equal(undefined);
    expect(events).to.deep.equal(['add a', 'delete a']);
    sink.upsert(widget('a', { size: 5 }, '3'));
    expect(cache.get('Widget/a')?.spec).to.deep.equal({ size: 5 });
    expect(events).to.deep.equal(['add a', 'delete a', 'add a']);
    expect(conditions.get('Widget/a', 'InvalidSpec')!.status).to.equal('False');
    expect(conditions.get('Widget/a', 'Ready')).to.deep.include({
      status: 'Unknown',
      reason: 'SpecAccepted',
    });
    expect(cache.rejection('Widget/a')).to.equal(undefined);
  });

  it('records unknown fields as a Warning and drops them', () => {
    const { cache, sink, recorder } = setup();
    sink.upsert(widget('a', { size: 1, colour: 'red' }));
    expect(cache.get('Widget/a')?.spec).to.deep.equal({ size: 1 });
    expect(recorder.list('Widget/a')[0]).to.deep.include({
      reason: 'UnknownField',
      message: 'unknown field "colour" ignored',
    });
  });

  it('stores kinds without a definition unvalidated', () => {
    const { cache, sink } = setup();
    const r = { ...widget('x', { anything: true }), kind: 'Gadget' };
    sink.upsert(r);
    expect(cache.get('Gadget/x')).to.equal(r);
  });

  it('rejects when the definition names a schema that is not registered', () => {
    const schemas = new AjvSchemaRegistry();
    const recorder = new InMemoryEventRecorder();
    const cache = new ResourceCache({ schemas, definitions: () => [def], recorder });
    cache.sinkFor('s').upsert(widget('a', {}));
    expect(cache.get('Widget/a')).to.equal(undefined);
    expect(recorder.all()[0]!.message).to.contain('no JSON Schema registered with $id "widget"');
  });

  it('delete removes, dispatches and clears conditions; unknown keys are a no-op', () => {
    const { cache, sink, events, conditions } = setup();
    sink.upsert(widget('a', { size: 1 }));
    conditions.set('Widget/a', { type: 'Ready', status: 'True', reason: 'Ok', message: '' });
    sink.delete('Widget/a');
    sink.delete('Widget/zzz');
    expect(cache.get('Widget/a')).to.equal(undefined);
    expect(events).to.deep.equal(['add a', 'delete a']);
    expect(conditions.list('Widget/a')).to.deep.equal([]);
  });

  it('replace diff-deletes only the keys of the same source', () => {
    const { cache, events } = setup();
    const s1 = cache.sinkFor('one');
    const s2 = cache.sinkFor('two');
    s1.upsert(widget('a', { size: 1 }));
    s1.upsert(widget('b', { size: 1 }));
    s2.upsert(widget('c', { size: 1 }));
    s1.replace([widget('b', { size: 1 }), widget('d', { size: 1 })]);
    expect(cache.list('Widget').map((r) => r.metadata.name)).to.deep.equal(['b', 'c', 'd']);
    expect(events).to.deep.equal(['add a', 'add b', 'add c', 'delete a', 'add d']);
    // a delete from another source does not remove a key it does not own
    s2.delete('Widget/b');
    expect(cache.get('Widget/b')).to.not.equal(undefined);
  });

  it('replace validates a spec object shared by several resources once; they share its frozen value', () => {
    const { cache, sink, recorder } = setup();
    const validate = AjvSchemaRegistry.prototype.validate;
    let validations = 0;
    AjvSchemaRegistry.prototype.validate = function <T>(
      this: AjvSchemaRegistry,
      id: string,
      value: unknown,
    ) {
      validations++;
      return validate.call(this, id, value) as ValidationResult<T>;
    };
    after(() => (AjvSchemaRegistry.prototype.validate = validate));
    const valid = { size: '3', tags: 'x, y' };
    const unknownField = { size: '1', colour: 'red' };
    const invalid = { size: '0' };
    sink.replace([
      ...['a', 'b', 'c'].map((n) => widget(n, valid)),
      ...['d', 'e'].map((n) => widget(n, unknownField)),
      ...['f', 'g'].map((n) => widget(n, invalid)),
    ]);
    AjvSchemaRegistry.prototype.validate = validate;
    // The valid spec once; one with warnings or errors for each resource, as before.
    expect(validations).to.equal(5);
    const stored = ['a', 'b', 'c'].map((n) => cache.get(`Widget/${n}`)?.spec);
    for (const spec of stored) expect(spec).to.deep.equal({ size: 3, tags: ['x', 'y'] });
    // One value, no copy per resource: frozen, so no reader can change it for the others.
    expect(new Set(stored).size).to.equal(1);
    expect(stored[0]).to.not.equal(valid);
    expect(() => (stored[0] as { tags: string[] }).tags.push('z')).to.throw(TypeError);
    expect(() => ((stored[0] as { size: number }).size = 4)).to.throw(TypeError);
    expect(stored[1]).to.deep.equal({ size: 3, tags: ['x', 'y'] });
    expect(valid).to.deep.equal({ size: '3', tags: 'x, y' });
    // Warnings and refusals are per key, as without sharing.
    for (const n of ['d', 'e']) {
      expect(cache.get(`Widget/${n}`)?.spec).to.deep.equal({ size: 1 });
      expect(recorder.list(`Widget/${n}`).map((e) => e.reason)).to.deep.equal(['UnknownField']);
    }
    expect([...cache.rejections().keys()]).to.deep.equal(['Widget/f', 'Widget/g']);
  });

  it('stores every validated spec frozen, all the way down; the source keeps its own object', () => {
    const { cache, sink } = setup();
    const raw = { size: '2', tags: 'ab' };
    sink.upsert(widget('a', raw));
    cache.sinkFor('other').replace([widget('b', { size: 1, tags: ['x'] })]);
    for (const key of ['Widget/a', 'Widget/b']) {
      const spec = cache.get(key)?.spec as { tags: string[] };
      expect(Object.isFrozen(spec) && Object.isFrozen(spec.tags), key).to.equal(true);
    }
    expect(cache.get('Widget/a')?.spec).to.deep.equal({ size: 2, tags: ['ab'] });
    expect(Object.isFrozen(raw)).to.equal(false);
    // Unvalidated kinds are stored as given.
    const gadget = { ...widget('g', { any: 'thing' }), kind: 'Gadget' };
    sink.upsert(gadget);
    expect(Object.isFrozen(cache.get('Gadget/g')?.spec)).to.equal(false);
  });

  it("replace takes a source's key for a resource only when it names that resource", () => {
    const { cache, events } = setup();
    const s = cache.sinkFor('src');
    const a = widget('a', { size: 1 });
    const b = widget('b', { size: 1 });
    const c = widget('c', { size: 1 });
    // b's key is wrong (names a), c's is missing: each is stored under its own key.
    s.replace([a, b, c], ['Widget/a', 'Widget/a']);
    expect(cache.list('Widget').map((r) => r.metadata.name)).to.deep.equal(['a', 'b', 'c']);
    for (const k of ['Widget/a', 'Widget/b', 'Widget/c'])
      expect(cache.get(k), k).to.not.equal(undefined);
    // The next replace still diff-deletes what the source left out.
    s.replace([b], ['Widget/b']);
    expect(cache.list('Widget').map((r) => r.metadata.name)).to.deep.equal(['b']);
    expect(events).to.deep.equal(['add a', 'add b', 'add c', 'delete a', 'delete c']);
  });

  it('reject() keeps the key out, removes an old version and is cleared by replace', () => {
    const { cache, sink, conditions, recorder, events } = setup();
    sink.upsert(widget('a', { size: 1 }));
    sink.reject('Widget/a', 'HostileLabel', 'label widget.cmd comes from the image');
    expect(cache.get('Widget/a')).to.equal(undefined);
    expect(events).to.deep.equal(['add a', 'delete a']);
    expect(conditions.get('Widget/a', 'Ready')).to.deep.include({
      status: 'False',
      reason: 'HostileLabel',
    });
    expect(conditions.get('Widget/a', 'InvalidSpec')).to.deep.include({
      status: 'True',
      reason: 'HostileLabel',
    });
    expect(recorder.list('Widget/a').at(-1)).to.deep.include({
      type: 'Warning',
      reason: 'HostileLabel',
    });
    expect(cache.rejections().get('Widget/a')!.reason).to.equal('HostileLabel');
    sink.replace([]);
    expect(cache.rejections().size).to.equal(0);
  });

  it('indexes by label with and without a value, following updates and deletes', () => {
    const { cache, sink } = setup();
    sink.upsert(widget('a', { size: 1 }, '1', { team: 'x', tier: 'db' }));
    sink.upsert(widget('b', { size: 1 }, '1', { team: 'y' }));
    sink.upsert(widget('c', { size: 1 }, '1', { team: 'x' }));
    expect(cache.byLabel('Widget', 'team', 'x').map((r) => r.metadata.name)).to.deep.equal([
      'a',
      'c',
    ]);
    expect(cache.byLabel('Widget', 'team').map((r) => r.metadata.name)).to.deep.equal([
      'a',
      'b',
      'c',
    ]);
    sink.upsert(widget('a', { size: 1 }, '2', { team: 'y' }));
    expect(cache.byLabel('Widget', 'team', 'x').map((r) => r.metadata.name)).to.deep.equal(['c']);
    expect(cache.byLabel('Widget', 'tier')).to.deep.equal([]);
    sink.delete('Widget/c');
    expect(cache.byLabel('Widget', 'team', 'x')).to.deep.equal([]);
    expect(cache.byLabel('Nope', 'team')).to.deep.equal([]);
    expect(cache.kinds()).to.deep.equal(['Widget']);
  });

  it('per-kind handlers only see their kind; a throwing handler does not break others; unsubscribe works', () => {
    const { cache, sink } = setup();
    const seen: string[] = [];
    cache.addEventHandler({
      onAdd: () => {
        throw new Error('boom');
      },
    });
    const off = cache.addEventHandler({ onAdd: (r) => seen.push(r.kind) }, 'Gadget');
    sink.upsert(widget('a', { size: 1 }));
    sink.upsert({ ...widget('g', {}), kind: 'Gadget' });
    off();
    sink.upsert({ ...widget('h', {}), kind: 'Gadget' });
    expect(seen).to.deep.equal(['Gadget']);
  });

  describe('refusal events (onReject / onRejectCleared)', () => {
    function watchRefusals(cache: ResourceCache, kind?: string) {
      const seen: string[] = [];
      cache.addEventHandler(
        {
          onAdd: (r) => seen.push(`add ${r.metadata.name}`),
          onDelete: (r) => seen.push(`delete ${r.metadata.name}`),
          onReject: (r, prev) =>
            seen.push(`reject ${r.name} ${r.reason}${prev ? ` (was ${prev.reason})` : ''}`),
          onRejectCleared: (r, cause) => seen.push(`cleared ${r.name} ${cause}`),
        },
        kind,
      );
      return seen;
    }

    it('dispatches a new refusal once with what rejected() lists; the same content again dispatches nothing', () => {
      const { cache, sink } = setup();
      const got: unknown[] = [];
      cache.addEventHandler({ onReject: (r, prev) => got.push({ r, prev }) });
      const seen = watchRefusals(cache);
      const refused = { ...widget('a', { size: 0 }, '1', { team: 'x' }), status: { id: 'c1' } };
      sink.upsert(refused);
      expect(seen).to.deep.equal(['reject a InvalidSpec']);
      expect(got).to.deep.equal([{ r: cache.rejected('Widget')[0], prev: undefined }]);
      // a new resourceVersion with the same labels, status and message (a source repeating it)
      sink.upsert({ ...refused, metadata: { ...refused.metadata, resourceVersion: '2' } });
      sink.replace([{ ...refused, metadata: { ...refused.metadata, resourceVersion: '3' } }]);
      sink.reject('Widget/b', 'LabelTooLong', 'too long');
      sink.reject('Widget/b', 'LabelTooLong', 'too long');
      expect(seen).to.deep.equal(['reject a InvalidSpec', 'reject b LabelTooLong']);
    });

    it('dispatches again when the reason, message, labels or status change, with the previous one', () => {
      const { cache, sink } = setup();
      const seen = watchRefusals(cache);
      sink.upsert(widget('a', { size: 0 }, '1', { team: 'x' }));
      sink.upsert(widget('a', { size: 0 }, '2', { team: 'y' })); // labels
      sink.upsert({ ...widget('a', { size: 0 }, '3', { team: 'y' }), status: { s: 1 } }); // status
      sink.upsert({ ...widget('a', { size: -1 }, '4', { team: 'y' }), status: { s: 1 } }); // message
      sink.reject('Widget/a', 'HostileLabel', 'from the image'); // reason
      expect(seen).to.deep.equal([
        'reject a InvalidSpec',
        'reject a InvalidSpec (was InvalidSpec)',
        'reject a InvalidSpec (was InvalidSpec)',
        'reject a InvalidSpec (was InvalidSpec)',
        'reject a HostileLabel (was InvalidSpec)',
      ]);
    });

    it('a delete (or a relist without the key) clears the refusal; a valid version clears it before its add', () => {
      const { cache, sink } = setup();
      const seen = watchRefusals(cache);
      sink.upsert(widget('a', { size: 0 }));
      sink.delete('Widget/a');
      sink.reject('Widget/b', 'LabelTooLong', 'too long');
      sink.replace([]);
      sink.upsert(widget('c', { size: 0 }, '1'));
      sink.upsert(widget('c', { size: 2 }, '2'));
      expect(seen).to.deep.equal([
        'reject a InvalidSpec',
        'cleared a deleted',
        'reject b LabelTooLong',
        'cleared b deleted',
        'reject c InvalidSpec',
        'cleared c accepted',
        'add c',
      ]);
      // cleared: the same refusal later is new again
      sink.upsert(widget('a', { size: 0 }, '5'));
      expect(seen.at(-1)).to.equal('reject a InvalidSpec');
    });

    it('a valid version refused dispatches its delete, then the refusal; per-kind handlers see only their kind', () => {
      const { cache, sink } = setup();
      const all = watchRefusals(cache);
      const gadgets = watchRefusals(cache, 'Gadget');
      sink.upsert(widget('a', { size: 1 }));
      sink.upsert(widget('a', { size: 0 }, '2'));
      sink.reject('Gadget/g', 'Other', 'no');
      sink.delete('Gadget/g');
      expect(all).to.deep.equal([
        'add a',
        'delete a',
        'reject a InvalidSpec',
        'reject g Other',
        'cleared g deleted',
      ]);
      expect(gadgets).to.deep.equal(['reject g Other', 'cleared g deleted']);
    });

    it('refuses a malformed key from a source without storing it', () => {
      const { cache, sink } = setup();
      const seen = watchRefusals(cache);
      sink.reject('no-slash', 'Other', 'bad');
      expect(cache.rejections().size).to.equal(0);
      expect(seen).to.deep.equal([]);
    });
  });

  it('hasSynced follows every registered source; duplicate source names are refused', () => {
    const { cache } = setup();
    let synced = false;
    cache.addSource({ name: 's1', hasSynced: () => true });
    cache.addSource({ name: 's2', hasSynced: () => synced });
    expect(cache.hasSynced()).to.equal(false);
    synced = true;
    expect(cache.hasSynced()).to.equal(true);
    expect(() => cache.addSource({ name: 's1', hasSynced: () => true })).to.throw(
      /already registered/,
    );
  });

  it('describeValidationError names path, value and rule', () => {
    expect(
      describeValidationError({
        path: 'a.b',
        value: 'x',
        rule: 'type: integer',
        message: 'must be integer',
      }),
    ).to.equal('spec.a.b: "x" violates type: integer (must be integer)');
    expect(
      describeValidationError({ path: 'r', value: undefined, rule: 'required', message: 'm' }),
    ).to.contain('missing value');
  });
});
