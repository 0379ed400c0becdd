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

  it('a listener (un)subscribed during a fire hears from the next key on; twice counts once', () => {
    const t = new KeyTrigger('t');
    const got: string[] = [];
    const late = (k: string): number => got.push(`late:${k}`);
    let offSelf = (): void => {};
    const first = (k: string): void => {
      got.push(`first:${k}`);
      if (k === 'K/a') t.subscribe(late);
      if (k === 'K/b') offSelf();
    };
    offSelf = t.subscribe(first);
    t.subscribe(first);
    t.fire('K/a');
    t.fire('K/b');
    t.fire('K/c');
    expect(got).to.deep.equal(['first:K/a', 'first:K/b', 'late:K/b', 'late:K/c']);
  });
});
