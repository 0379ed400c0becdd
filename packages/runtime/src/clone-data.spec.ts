import { expect } from 'chai';
import fc from 'fast-check';
import { cloneData } from './clone-data.js';

function outcome(f: () => unknown): { value?: unknown; error?: string } {
  try {
    return { value: f() };
  } catch (err) {
    return { error: (err as Error).name };
  }
}

describe('cloneData (structuredClone of plain data, faster)', () => {
  it('gives what structuredClone gives, or throws what it throws, for any value', () => {
    fc.assert(
      fc.property(
        fc.anything({
          withDate: true,
          withMap: true,
          withSet: true,
          withNullPrototype: true,
          withSparseArray: true,
          withObjectString: true,
        }),
        (v) => {
          const mine = outcome(() => cloneData(v));
          const theirs = outcome(() => structuredClone(v));
          expect(mine).to.deep.equal(theirs);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('copies deeply: the clone shares nothing with the original', () => {
    const spec = { paths: ['/a'], hooks: { pre: [{ cmd: 'x' }] } };
    const copy = cloneData(spec) as typeof spec;
    copy.paths.push('/b');
    copy.hooks.pre[0]!.cmd = 'y';
    expect(spec).to.deep.equal({ paths: ['/a'], hooks: { pre: [{ cmd: 'x' }] } });
  });

  it('keeps an own __proto__ key a key, drops a null prototype like structuredClone', () => {
    const hostile = JSON.parse('{"__proto__": {"polluted": true}, "a": 1}') as object;
    const copy = cloneData(hostile) as Record<string, unknown>;
    expect(Object.getPrototypeOf(copy)).to.equal(Object.prototype);
    expect(Object.keys(copy)).to.deep.equal(['__proto__', 'a']);
    expect(({} as Record<string, unknown>)['polluted']).to.equal(undefined);
    const bare = Object.assign(Object.create(null) as object, { x: 1 });
    expect(Object.getPrototypeOf(cloneData(bare))).to.equal(Object.prototype);
  });

  it('a cycle, a function or a Date goes to structuredClone (same result or DataCloneError)', () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic['self'] = cyclic;
    const copy = cloneData(cyclic) as Record<string, unknown>;
    expect(copy['self']).to.equal(copy);
    expect(() => cloneData({ f: () => 1 }))
      .to.throw()
      .with.property('name', 'DataCloneError');
    expect(cloneData({ d: new Date(0) })).to.deep.equal({ d: new Date(0) });
  });
});
