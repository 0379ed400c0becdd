import { expect } from 'chai';
import fc from 'fast-check';
import { Backoff } from './backoff.js';

describe('Backoff', () => {
  it('doubles the ceiling from 500 ms up to the 30 s cap', () => {
    const b = new Backoff();
    const ceilings: number[] = [];
    for (let i = 0; i < 10; i++) {
      ceilings.push(b.ceiling());
      b.next();
    }
    expect(ceilings).to.deep.equal([
      500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000, 30000,
    ]);
  });

  it('applies full jitter: random × ceiling', () => {
    const draws = [0, 0.5, 0.999, 0.25];
    const b = new Backoff({}, () => draws.shift() ?? 0);
    expect([b.next(), b.next(), b.next(), b.next()]).to.deep.equal([0, 500, 1998, 1000]);
  });

  it('never gives up and stays within [0, cap) even after many attempts', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5000 }),
        fc.double({ min: 0, max: 0.9999999, noNaN: true }),
        (n, r) => {
          const b = new Backoff({}, () => r);
          let d = 0;
          for (let i = 0; i < n; i++) d = b.next();
          expect(d).to.be.at.least(0).and.below(30000);
          expect(Number.isFinite(b.ceiling())).to.equal(true);
        },
      ),
      { numRuns: 50 },
    );
  });

  it('reset starts the schedule over', () => {
    const b = new Backoff({ initialMs: 100, factor: 3, maxMs: 1000 });
    b.next();
    b.next();
    expect(b.ceiling()).to.equal(900);
    b.reset();
    expect(b.ceiling()).to.equal(100);
  });

  it('refuses nonsense options', () => {
    expect(() => new Backoff({ initialMs: 0 })).to.throw(/invalid backoff/);
    expect(() => new Backoff({ factor: 0.5 })).to.throw(/invalid backoff/);
    expect(() => new Backoff({ initialMs: 1000, maxMs: 10 })).to.throw(/invalid backoff/);
  });

  it('without jitter waits exactly the ceiling: 1 s, 2 s, 4 s, then the cap', () => {
    const b = new Backoff({ initialMs: 1000, factor: 2, maxMs: 5000, jitter: false }, () => 0);
    expect([b.next(), b.next(), b.next(), b.next()]).to.deep.equal([1000, 2000, 4000, 5000]);
  });
});
