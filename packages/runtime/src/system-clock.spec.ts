import { expect } from 'chai';
import { SystemClock } from './system-clock.js';

describe('SystemClock', () => {
  it('sleep rejects with the abort reason and leaves no timer behind', async () => {
    // unref: false, so a timer left behind would keep mocha's process alive for a minute.
    const clock = new SystemClock();
    const ac = new AbortController();
    const sleeping = clock.sleep(60_000, ac.signal);
    ac.abort(new Error('stop'));
    const err = await sleeping.then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err?.message).to.equal('stop');
    const already = await clock.sleep(60_000, ac.signal).catch((e: unknown) => e as Error);
    expect((already as Error).message).to.equal('stop');
  });

  it('sleep(0) resolves', async () => {
    await new SystemClock().sleep(0);
  });
});
