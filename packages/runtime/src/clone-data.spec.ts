import { deepStrictEqual } from 'node:assert/strict';
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

/**
 * chai's deep equality, or node's strict one where chai can't compare: chai sorts Map entries by
 * stringifying their keys, which throws a TypeError for a key like `{ toString: 0 }` (a failure of
 * the oracle, not of the clone). node's treats two invalid Dates as different, so it can't be the
 * only one.
 */
function sameOutcome(a: unknown, b: unknown): void {
  try {
    expect(a).to.deep.equal(b);
  } catch (err) {
    if (!(err instanceof TypeError)) throw err;
    deepStrictEqual(a, b);
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
          sameOutcome(mine, theirs);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('agrees with structuredClone on the Map CI once drew (an object key with an own toString)', () => {
    const v = new Map<unknown, unknown>([
      [new Date(0), null],
      [{ toString: 0 }, {}],
    ]);
    sameOutcome(
      outcome(() => cloneData(v)),
      outcome(() => structuredClone(v)),
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

  it('finds a cycle back to any ancestor, and copies an object shared by siblings twice', () => {
    // The ancestors are a chain made only on the way down: a cycle through a grandchild (an
    // array's item) must still reach the root, and a shared, acyclic object is no cycle.
    const root: Record<string, unknown> = { a: 1 };
    root['list'] = [{ back: root }];
    const copy = cloneData(root) as { list: { back: unknown }[] };
    expect(copy).to.not.equal(root);
    expect(copy.list[0]!.back).to.equal(copy);
    const shared = { x: [1] };
    const dag = cloneData({ l: shared, r: shared, deep: [[shared]] }) as Record<string, unknown>;
    expect(dag).to.deep.equal({ l: { x: [1] }, r: { x: [1] }, deep: [[{ x: [1] }]] });
    expect(dag['l']).to.not.equal(dag['r']);
    expect(dag['l']).to.not.equal(shared);
  });
});
