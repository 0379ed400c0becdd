import { expect } from 'chai';
import fc from 'fast-check';
import {
  MAX_JSON_DEPTH,
  compareCodePoints,
  compareCodePointsSlow,
  freezeJson,
  isFrozenJson,
  jsonEqual,
} from './json-util.js';

describe('compareCodePoints', () => {
  it('orders by code point, not UTF-16 unit', () => {
    expect(compareCodePoints('\uFF5E', '\u{1F600}')).to.equal(-1);
    expect(compareCodePoints('\u{1F600}', '\uFF5E')).to.equal(1);
    expect(compareCodePoints('a', 'ab')).to.equal(-1);
    expect(compareCodePoints('b', 'ab')).to.equal(1);
    expect(compareCodePoints('\uD800', '\u{10000}')).to.equal(-1); // a lone surrogate, completed
    expect(compareCodePoints('', '')).to.equal(0);
  });

  it('fast-check: the same answer as the code point by code point reference', () => {
    // Few distinct units, so strings share prefixes and differ at surrogates (lone ones too).
    const unit = fc.constantFrom(
      'a',
      'b',
      '\uD800',
      '\uDBFF',
      '\uDC00',
      '\uDFFF',
      '\uE000',
      '\uFFFF',
    );
    const str = fc.array(unit, { maxLength: 6 }).map((u) => u.join(''));
    const any = fc.oneof(str, fc.string({ unit: 'binary', maxLength: 6 }));
    fc.assert(
      fc.property(any, any, (a, b) => {
        expect(compareCodePoints(a, b)).to.equal(compareCodePointsSlow(a, b));
        expect(compareCodePoints(a, a)).to.equal(0);
      }),
      { numRuns: 5000 },
    );
  });
});

describe('freezeJson', () => {
  it('freezes plain JSON data whole and remembers the root', () => {
    const doc = JSON.parse('{"a":[{"b":1}],"__proto__":{"c":"d"}}') as Record<string, unknown>;
    expect(isFrozenJson(doc)).to.equal(false);
    expect(freezeJson(doc)).to.equal(true);
    expect(isFrozenJson(doc)).to.equal(true);
    expect(Object.isFrozen((doc['a'] as object[])[0])).to.equal(true);
    expect(Object.isFrozen(Object.getOwnPropertyDescriptor(doc, '__proto__')?.value)).to.equal(
      true,
    );
  });

  it('refuses (and freezes nothing of) what JSON would not give back as it is', () => {
    const nested = { ok: { x: 1 } };
    for (const bad of [
      { ...nested, x: undefined },
      { ...nested, x: -0 },
      { ...nested, x: Number.NaN },
      { ...nested, x: [1, , 2] }, // eslint-disable-line no-sparse-arrays
      { ...nested, x: new Date(0) },
      { ...nested, x: { toJSON: () => 1 } },
      { ...nested, x: () => 1 },
    ]) {
      expect(freezeJson(bad)).to.equal(false);
      expect(Object.isFrozen(bad)).to.equal(false);
      expect(Object.isFrozen(bad.ok)).to.equal(false);
    }
    let deep: unknown = 1;
    for (let i = 0; i < MAX_JSON_DEPTH + 1; i++) deep = [deep];
    expect(freezeJson(deep)).to.equal(false);
  });

  it('fast-check: true exactly for what survives a JSON round trip unchanged', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const same = JSON.stringify(JSON.parse(JSON.stringify(v) ?? 'null')) === JSON.stringify(v);
        expect(freezeJson(v)).to.equal(same && !hasMinusZero(v));
      }),
      { numRuns: 300 },
    );
  });
});

function hasMinusZero(v: unknown): boolean {
  if (Object.is(v, -0)) return true;
  if (typeof v !== 'object' || v === null) return false;
  return Object.values(v).some(hasMinusZero);
}

describe('jsonEqual', () => {
  it('compares content, not key order', () => {
    expect(jsonEqual({ a: 1, b: [1, { c: 2 }] }, { b: [1, { c: 2 }], a: 1 })).to.equal(true);
    expect(jsonEqual({ a: 1 }, { a: 1, b: undefined })).to.equal(false);
    expect(jsonEqual([1, 2], [2, 1])).to.equal(false);
    expect(jsonEqual({ 0: 'x' }, ['x'])).to.equal(false);
    expect(jsonEqual(null, {})).to.equal(false);
  });

  it('fast-check: agrees with deep equality', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.jsonValue(), (a, b) => {
        expect(jsonEqual(a, structuredClone(a))).to.equal(true);
        let deep = true;
        try {
          expect(a).to.deep.equal(b);
        } catch {
          deep = false;
        }
        expect(jsonEqual(a, b)).to.equal(deep);
      }),
      { numRuns: 300 },
    );
  });
});
