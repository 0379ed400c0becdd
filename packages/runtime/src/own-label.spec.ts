import { expect } from 'chai';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { ownLabel, ownLabels } from './own-label.js';

// V8's own answer, where the flag can still be set (it is read when a function is compiled).
setFlagsFromString('--allow-natives-syntax');
const hasFastProperties = runInNewContext('(o) => %HasFastProperties(o)') as (o: object) => boolean;

describe('ownLabels', () => {
  it('copies own string entries into a null-prototype map, hostile keys as plain keys', () => {
    const docker = JSON.parse(
      '{"a": "1", "__proto__": "x", "constructor": "c", "n": 5, "toString": "t"}',
    ) as Record<string, string>;
    const labels = ownLabels(docker);
    expect(Object.getPrototypeOf(labels)).to.equal(null);
    expect(Object.keys(labels)).to.deep.equal(['a', '__proto__', 'constructor', 'toString']);
    expect(labels['__proto__']).to.equal('x');
    expect(ownLabel(labels, 'constructor')).to.equal('c');
    expect(labels['hasOwnProperty']).to.equal(undefined);
    expect(Object.getPrototypeOf(ownLabels(undefined))).to.equal(null);
  });

  it('makes a map V8 keeps fast, not a dictionary (Object.create(null) makes one)', () => {
    // A status's labels are read by every step of a relist: a dictionary cost 5x the bytes and a
    // hash lookup per read.
    expect(hasFastProperties(Object.create(null) as object)).to.equal(false);
    const labels = ownLabels({ 'backrest.enable': 'true', 'com.docker.compose.project': 'p' });
    expect(hasFastProperties(labels)).to.equal(true);
  });
});
