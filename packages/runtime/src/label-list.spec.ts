import { expect } from 'chai';
import fc from 'fast-check';
import { labelListOrSplit, parseLabelList } from './label-list.js';

const items = (v: string): string[] => {
  const r = parseLabelList(v);
  if (!r.ok) throw new Error(r.message);
  return r.items;
};

describe('parseLabelList', () => {
  it('keeps the seed CSV for simple values: split, trimmed, empties dropped', () => {
    expect(items(' /data , /config,, ')).to.deep.equal(['/data', '/config']);
    expect(items('')).to.deep.equal([]);
  });

  it('never splits a hook inside double or single quotes', () => {
    expect(items('sh -c "pg_dump -t users,orders", echo done')).to.deep.equal([
      'sh -c "pg_dump -t users,orders"',
      'echo done',
    ]);
    expect(items("sh -c 'a,b' ,x")).to.deep.equal(["sh -c 'a,b'", 'x']);
    expect(items(`sh -c "it's, fine"`)).to.deep.equal([`sh -c "it's, fine"`]);
    expect(items('echo \\"a,b')).to.deep.equal(['echo \\"a', 'b']);
  });

  it('accepts a JSON array for items with commas and quotes', () => {
    expect(items('["cmd one", "cmd, two"]')).to.deep.equal(['cmd one', 'cmd, two']);
    expect(items(' [ "a" ] ')).to.deep.equal(['a']);
    expect(items('[]')).to.deep.equal([]);
  });

  it('reads a shell test as CSV, not JSON', () => {
    expect(items('[ -f /x ] && echo y')).to.deep.equal(['[ -f /x ] && echo y']);
  });

  it('refuses a broken JSON array, non-string items and an unterminated quote', () => {
    for (const v of ['["a", "b",]', '["a", 1]', '["a", "b"', 'sh -c "a,b']) {
      expect(parseLabelList(v).ok, v).to.equal(false);
    }
    expect(items('[ "$A" = b ] && c, d')).to.deep.equal(['[ "$A" = b ] && c', 'd']);
    expect(labelListOrSplit('sh -c "a,b')).to.deep.equal(['sh -c "a', 'b']);
  });

  it('round-trips any list of strings through the JSON form (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.string()), (list) => {
        const expected = list.map((s) => s.trim()).filter((s) => s !== '');
        expect(items(JSON.stringify(list))).to.deep.equal(expected);
      }),
    );
  });

  it('never throws (property)', () => {
    fc.assert(
      fc.property(fc.string(), (v) => {
        parseLabelList(v);
      }),
    );
  });
});
