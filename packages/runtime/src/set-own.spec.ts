import { expect } from 'chai';
import { setOwn } from './set-own.js';

describe('setOwn', () => {
  it('makes `__proto__` an own, enumerable, writable key and leaves the prototype alone', () => {
    const out: Record<string, unknown> = {};
    setOwn(out, '__proto__', { polluted: true });
    setOwn(out, 'a', 1);
    expect(Object.getPrototypeOf(out)).to.equal(Object.prototype);
    expect((out as { polluted?: boolean }).polluted).to.equal(undefined);
    expect(Object.keys(out)).to.deep.equal(['__proto__', 'a']);
    expect(JSON.stringify(out)).to.equal('{"__proto__":{"polluted":true},"a":1}');
    setOwn(out, '__proto__', 'again');
    expect(Object.getOwnPropertyDescriptor(out, '__proto__')).to.deep.equal({
      value: 'again',
      enumerable: true,
      writable: true,
      configurable: true,
    });
  });

  it('assigns every other key, `constructor` and `toString` included, as own keys', () => {
    const out: Record<string, string> = {};
    for (const k of ['constructor', 'toString', 'hasOwnProperty', 'b']) setOwn(out, k, k);
    expect(Object.keys(out)).to.deep.equal(['constructor', 'toString', 'hasOwnProperty', 'b']);
    expect(Object.getPrototypeOf(out)).to.equal(Object.prototype);
  });
});
