import { expect } from 'chai';
import {
  BucketRateLimiter,
  ItemExponentialFailureRateLimiter,
  MaxOfRateLimiter,
  defaultControllerRateLimiter,
  type RateLimiter,
} from './rate-limiter.js';
import { VirtualClock } from './virtual-clock.js';

describe('ItemExponentialFailureRateLimiter', () => {
  it('doubles per failure from the base delay, per key', () => {
    const l = new ItemExponentialFailureRateLimiter(5, 1_000_000);
    expect([l.when('a'), l.when('a'), l.when('a'), l.when('a')]).to.deep.equal([5, 10, 20, 40]);
    expect(l.when('b')).to.equal(5);
    expect(l.numRequeues('a')).to.equal(4);
    expect(l.numRequeues('b')).to.equal(1);
  });

  it('caps at the max delay (1000 s by default) and never overflows', () => {
    const l = new ItemExponentialFailureRateLimiter();
    let last = 0;
    for (let i = 0; i < 2000; i++) last = l.when('k');
    expect(last).to.equal(1_000_000);
    // 5 ms * 2^17 = 655 s < 1000 s < 5 ms * 2^18
    const m = new ItemExponentialFailureRateLimiter();
    const delays = Array.from({ length: 20 }, () => m.when('k'));
    expect(delays[17]).to.equal(5 * 2 ** 17);
    expect(delays[18]).to.equal(1_000_000);
  });

  it('forget resets the key', () => {
    const l = new ItemExponentialFailureRateLimiter(1, 100);
    l.when('k');
    l.when('k');
    l.forget('k');
    expect(l.numRequeues('k')).to.equal(0);
    expect(l.when('k')).to.equal(1);
  });

  it('rejects negative delays', () => {
    expect(() => new ItemExponentialFailureRateLimiter(-1, 5)).to.throw(RangeError);
  });
});

describe('BucketRateLimiter', () => {
  it('lets a burst through, then spaces requests at 1/qps on the clock', () => {
    const clock = new VirtualClock(0);
    const l = new BucketRateLimiter(clock, 10, 3);
    expect([l.when(), l.when(), l.when()]).to.deep.equal([0, 0, 0]);
    expect(l.when()).to.be.closeTo(100, 1e-9);
    expect(l.when()).to.be.closeTo(200, 1e-9);
    clock.advance(1000); // refills, but never above burst
    expect([l.when(), l.when(), l.when()]).to.deep.equal([0, 0, 0]);
    expect(l.when()).to.be.closeTo(100, 1e-9);
  });

  it('uses 10/s burst 100 by default and is not per key', () => {
    const clock = new VirtualClock(0);
    const l = new BucketRateLimiter(clock);
    for (let i = 0; i < 100; i++) expect(l.when()).to.equal(0);
    expect(l.when()).to.be.closeTo(100, 1e-9);
    expect(l.numRequeues()).to.equal(0);
    l.forget();
  });

  it('rejects a bad configuration', () => {
    expect(() => new BucketRateLimiter(new VirtualClock(), 0, 1)).to.throw(RangeError);
    expect(() => new BucketRateLimiter(new VirtualClock(), 1, 0)).to.throw(RangeError);
  });
});

describe('MaxOfRateLimiter', () => {
  const fixed = (
    delay: number,
    requeues: number,
  ): RateLimiter & { whens: number; forgets: number } => ({
    whens: 0,
    forgets: 0,
    when() {
      this.whens++;
      return delay;
    },
    forget() {
      this.forgets++;
    },
    numRequeues: () => requeues,
  });

  it('returns the longest delay and asks every limiter', () => {
    const a = fixed(5, 1);
    const b = fixed(50, 3);
    const l = new MaxOfRateLimiter(a, b);
    expect(l.when('k')).to.equal(50);
    expect(a.whens).to.equal(1);
    expect(b.whens).to.equal(1);
    expect(l.numRequeues('k')).to.equal(3);
    l.forget('k');
    expect(a.forgets + b.forgets).to.equal(2);
  });

  it('needs a limiter', () => {
    expect(() => new MaxOfRateLimiter()).to.throw(/at least one/);
  });
});

describe('defaultControllerRateLimiter', () => {
  it('is exponential per item from 5 ms, bounded by the shared bucket after a burst of 100', () => {
    const clock = new VirtualClock(0);
    const l = defaultControllerRateLimiter(clock);
    expect(l.when('a')).to.equal(5);
    expect(l.when('a')).to.equal(10);
    for (let i = 0; i < 98; i++) l.when(`k${i}`);
    // bucket exhausted: the next distinct key waits for the bucket, not 5 ms
    expect(l.when('fresh')).to.be.closeTo(100, 1e-9);
    expect(l.numRequeues('a')).to.equal(2);
    l.forget('a');
    expect(l.numRequeues('a')).to.equal(0);
  });
});
