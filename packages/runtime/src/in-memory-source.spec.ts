import { expect } from 'chai';
import { InMemorySource } from './in-memory-source.js';
import type { Resource, ResourceKey } from './resource.js';
import type { ResourceSink } from './source.js';
import { flushMicrotasks } from './virtual-clock.js';

function res(name: string, rv = '1'): Resource {
  return {
    apiVersion: 'v1',
    kind: 'Thing',
    metadata: {
      name,
      uid: name,
      labels: {},
      annotations: {},
      generation: 1,
      resourceVersion: rv,
      creationTimestamp: '',
    },
    spec: {},
  };
}

function recordingSink(): ResourceSink & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    upsert: (r) => calls.push(`upsert ${r.metadata.name}`),
    delete: (k: ResourceKey) => calls.push(`delete ${k}`),
    replace: (rs) => calls.push(`replace ${rs.map((r) => r.metadata.name).join(',')}`),
    reject: (k, reason) => calls.push(`reject ${k} ${reason}`),
  };
}

describe('InMemorySource', () => {
  it('delivers the initial list on start, then forwards changes', async () => {
    const src = new InMemorySource('mem', { resources: [res('a')] });
    src.set(res('b'));
    const sink = recordingSink();
    const ac = new AbortController();
    await src.start(sink, ac.signal);
    expect(src.hasSynced()).to.equal(true);
    src.set(res('c'));
    src.remove('Thing/a');
    src.remove('Thing/zzz');
    src.reject('Thing/x', 'Bad', 'msg');
    await src.resync();
    expect(sink.calls).to.deep.equal([
      'replace a,b',
      'upsert c',
      'delete Thing/a',
      'reject Thing/x Bad',
      'replace b,c',
    ]);
    expect(src.resyncCount).to.equal(1);
    expect(src.list().map((r) => r.metadata.name)).to.deep.equal(['b', 'c']);
    ac.abort();
    src.set(res('d')); // no longer forwarded
    expect(sink.calls).to.have.length(5);
  });

  it('with autoSync false, start resolves only after markSynced', async () => {
    const src = new InMemorySource('slow', { autoSync: false });
    let resolved = false;
    const p = src
      .start(recordingSink(), new AbortController().signal)
      .then(() => (resolved = true));
    await flushMicrotasks();
    expect(resolved).to.equal(false);
    expect(src.hasSynced()).to.equal(false);
    src.markSynced();
    await p;
    expect(resolved).to.equal(true);
  });

  it('start rejects when aborted before sync, and refuses a second start', async () => {
    const src = new InMemorySource('slow', { autoSync: false });
    const ac = new AbortController();
    const p = src.start(recordingSink(), ac.signal);
    ac.abort(new Error('bye'));
    await p.then(
      () => expect.fail('should reject'),
      (e: Error) => expect(e.message).to.equal('bye'),
    );
    const other = new InMemorySource('x');
    await other.start(recordingSink(), new AbortController().signal);
    await other.start(recordingSink(), new AbortController().signal).then(
      () => expect.fail('should reject'),
      (e: Error) => expect(e.message).to.match(/already started/),
    );
  });

  it('reports health as set', () => {
    const src = new InMemorySource();
    expect(src.name).to.equal('in-memory');
    expect(src.healthy()).to.equal(true);
    src.setHealthy(false);
    expect(src.healthy()).to.equal(false);
  });
});
