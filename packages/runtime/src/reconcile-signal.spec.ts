import { expect } from 'chai';
import { ReconcileSignal } from './reconcile-signal.js';

describe('ReconcileSignal', () => {
  it('a signal read before abort is aborted by it, with its reason', () => {
    const s = new ReconcileSignal();
    const signal = s.signal;
    const heard: unknown[] = [];
    signal.addEventListener('abort', () => heard.push(signal.reason));
    expect(signal.aborted).to.equal(false);
    const reason = new Error('stop');
    s.abort(reason);
    expect(heard).to.deep.equal([reason]);
    expect(s.signal).to.equal(signal);
  });

  it('a signal first read after abort is already aborted; the first reason wins', () => {
    const s = new ReconcileSignal();
    const first = new Error('timeout');
    s.abort(first);
    s.abort(new Error('stop'));
    expect(s.signal.aborted).to.equal(true);
    expect(s.signal.reason).to.equal(first);
    s.abort(new Error('later'));
    expect(s.signal.reason).to.equal(first);
  });

  it('never aborted: a plain live signal', () => {
    const s = new ReconcileSignal();
    expect(s.signal).to.be.instanceOf(AbortSignal);
    expect(s.signal.aborted).to.equal(false);
  });
});
