import { expect } from 'chai';
import { KeyTrigger } from './key-trigger.js';

describe('KeyTrigger', () => {
  it('delivers keys to subscribers; keys fired before any subscriber wait for the first', () => {
    const t = new KeyTrigger('t');
    t.fire('K/a');
    t.fire('K/a');
    const got: string[] = [];
    const off = t.subscribe((k) => got.push(k));
    expect(got).to.deep.equal(['K/a']);
    t.fire('K/b');
    off();
    t.fire('K/c');
    expect(got).to.deep.equal(['K/a', 'K/b']);
  });
});
