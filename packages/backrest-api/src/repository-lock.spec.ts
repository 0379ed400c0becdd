import { expect } from 'chai';
import { RepositoryLock } from './repository-lock.js';

describe('RepositoryLock', () => {
  it('runs holders one at a time, in order', async () => {
    const lock = new RepositoryLock();
    const log: string[] = [];
    let releaseFirst!: () => void;
    const first = lock.run(async () => {
      log.push('first start');
      await new Promise<void>((r) => (releaseFirst = r));
      log.push('first end');
    });
    const second = lock.run(async () => {
      log.push('second');
      return 2;
    });
    await new Promise((r) => setImmediate(r));
    expect(lock.held).to.equal(true);
    expect(log).to.deep.equal(['first start']);
    releaseFirst();
    expect(await second).to.equal(2);
    await first;
    expect(log).to.deep.equal(['first start', 'first end', 'second']);
    expect(lock.held).to.equal(false);
  });

  it('a failing holder releases the lock; an aborted waiter gives up its place', async () => {
    const lock = new RepositoryLock();
    let releaseFirst!: () => void;
    const first = lock.run(() => new Promise<void>((r) => (releaseFirst = r)));
    const abort = new AbortController();
    const waiter = lock.run(async () => 'never', abort.signal);
    abort.abort(new Error('stopping'));
    let reason = '';
    await waiter.catch((err: Error) => (reason = err.message));
    expect(reason).to.equal('stopping');
    const third = lock.run(async () => {
      throw new Error('restic failed');
    });
    releaseFirst();
    await first;
    await third.catch(() => undefined);
    expect(await lock.run(async () => 'after')).to.equal('after');
  });
});
