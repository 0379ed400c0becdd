import { expect } from 'chai';
import { InMemoryConditionStore } from './conditions.js';
import { SecretRedactor } from './redactor.js';
import { VirtualClock } from './virtual-clock.js';

describe('InMemoryConditionStore', () => {
  it('sets lastTransitionTime only when the status changes', () => {
    const clock = new VirtualClock(Date.UTC(2026, 0, 1));
    const s = new InMemoryConditionStore(clock);
    s.set('K/a', { type: 'Ready', status: 'False', reason: 'Pending', message: 'wait' });
    const t0 = s.get('K/a', 'Ready')!.lastTransitionTime;
    expect(t0).to.equal('2026-01-01T00:00:00.000Z');
    clock.advance(60_000);
    s.set('K/a', { type: 'Ready', status: 'False', reason: 'StillPending', message: 'still' });
    expect(s.get('K/a', 'Ready')).to.deep.equal({
      type: 'Ready',
      status: 'False',
      reason: 'StillPending',
      message: 'still',
      lastTransitionTime: t0,
    });
    clock.advance(60_000);
    s.set('K/a', { type: 'Ready', status: 'True', reason: 'Done', message: '' });
    expect(s.get('K/a', 'Ready')!.lastTransitionTime).to.equal('2026-01-01T00:02:00.000Z');
  });

  it('keeps the observedGeneration a caller gives, and a new generation is an update, not a transition', () => {
    const clock = new VirtualClock(Date.UTC(2026, 0, 1));
    const s = new InMemoryConditionStore(clock);
    s.set('K/a', {
      type: 'Ready',
      status: 'True',
      reason: 'Ok',
      message: '',
      observedGeneration: 1,
    });
    expect(s.get('K/a', 'Ready')).to.have.property('observedGeneration', 1);
    clock.advance(1_000);
    s.set('K/a', {
      type: 'Ready',
      status: 'True',
      reason: 'Ok',
      message: '',
      observedGeneration: 2,
    });
    expect(s.get('K/a', 'Ready')).to.deep.equal({
      type: 'Ready',
      status: 'True',
      reason: 'Ok',
      message: '',
      lastTransitionTime: '2026-01-01T00:00:00.000Z',
      observedGeneration: 2,
    });
    // Without one: none is kept (not the previous generation's, which would claim a newer spec was seen).
    s.set('K/a', { type: 'Ready', status: 'True', reason: 'Ok', message: '' });
    expect(s.get('K/a', 'Ready')).to.not.have.property('observedGeneration');
    expect(s.list('K/a')[0]).to.not.have.property('observedGeneration');
  });

  it('stamps transitions with the clock of each set (one text per millisecond) and redacts messages', () => {
    const clock = new VirtualClock(Date.UTC(2026, 0, 1));
    const redactor = new SecretRedactor();
    redactor.addSecretValue('hunter2-secret');
    const s = new InMemoryConditionStore(clock, redactor);
    s.set('K/a', { type: 'Ready', status: 'False', reason: 'r', message: 'pw hunter2-secret' });
    s.set('K/b', { type: 'Ready', status: 'True', reason: 'r', message: '' });
    clock.advance(1);
    s.set('K/c', { type: 'Ready', status: 'True', reason: 'r', message: '' });
    // Set again unchanged (the raw message redacts to what is stored): nothing moves.
    s.set('K/a', { type: 'Ready', status: 'False', reason: 'r', message: 'pw hunter2-secret' });
    s.set('K/b', { type: 'Ready', status: 'False', reason: 'r', message: '' });
    const times = ['K/a', 'K/b', 'K/c'].map((k) => s.get(k, 'Ready')!.lastTransitionTime);
    expect(times).to.deep.equal([
      '2026-01-01T00:00:00.000Z',
      '2026-01-01T00:00:00.001Z',
      '2026-01-01T00:00:00.001Z',
    ]);
    expect(s.get('K/a', 'Ready')!.message).to.not.contain('hunter2-secret');
    expect(s.get('K/a', 'Ready')!.message).to.match(/^pw \S/);
    expect(s.get('K/b', 'Ready')).to.deep.include({ status: 'False', message: '' });
  });

  it('lists per key in first-set order, returns copies, tracks keys and clears', () => {
    const s = new InMemoryConditionStore();
    s.set('K/a', { type: 'Ready', status: 'True', reason: 'r', message: '' });
    s.set('K/a', { type: 'Synced', status: 'Unknown', reason: 'r', message: '' });
    s.set('K/b', { type: 'Ready', status: 'False', reason: 'r', message: '' });
    expect(s.list('K/a').map((c) => c.type)).to.deep.equal(['Ready', 'Synced']);
    s.get('K/a', 'Ready')!.status = 'False';
    expect(s.get('K/a', 'Ready')!.status).to.equal('True');
    expect(s.keys()).to.deep.equal(['K/a', 'K/b']);
    s.clear('K/a');
    expect(s.list('K/a')).to.deep.equal([]);
    expect(s.get('K/a', 'Ready')).to.equal(undefined);
    expect(s.keys()).to.deep.equal(['K/b']);
  });
});
