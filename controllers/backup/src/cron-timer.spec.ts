import { expect } from 'chai';
import { CronTimer } from './cron-timer.js';

/** A hand-driven clock and timer queue: `advance` runs due timers in time order. */
class FakeTime {
  now = 0;
  #timers: { at: number; fn: () => void; id: number }[] = [];
  #id = 0;
  readonly sleeps: number[] = [];
  set = (fn: () => void, ms: number): unknown => {
    this.sleeps.push(ms);
    const id = ++this.#id;
    this.#timers.push({ at: this.now + ms, fn, id });
    return id;
  };
  clear = (h: unknown): void => {
    this.#timers = this.#timers.filter((t) => t.id !== h);
  };
  advance(ms: number): void {
    const end = this.now + ms;
    for (;;) {
      this.#timers.sort((a, b) => a.at - b.at);
      const t = this.#timers[0];
      if (!t || t.at > end) break;
      this.#timers.shift();
      this.now = Math.max(this.now, t.at);
      t.fn();
    }
    this.now = end;
  }
  get pending(): number {
    return this.#timers.length;
  }
}

describe('CronTimer (Backrest dialect, our own next-fire computation)', () => {
  const start = Date.parse('2026-01-15T10:17:30Z'); // a Thursday

  function timer(expr: string, fired: string[], time: FakeTime) {
    time.now = start;
    return new CronTimer(expr, () => void fired.push(new Date(time.now).toISOString()), {
      clock: 'utc',
      now: () => time.now,
      setTimer: time.set,
      clearTimer: time.clear,
    });
  }

  it('fires at the runs Backrest computes: Friday the 13th is dom AND dow', () => {
    const time = new FakeTime();
    const fired: string[] = [];
    const t = timer('0 0 13 * 5', fired, time);
    t.start();
    expect(t.nextRun?.toISOString()).to.equal('2026-02-13T00:00:00.000Z');
    time.advance(400 * 86_400_000);
    // 2026: Feb 13, Mar 13, Nov 13 are the Fridays the 13th; 2027: Aug 13.
    expect(fired).to.deep.equal([
      '2026-02-13T00:00:00.000Z',
      '2026-03-13T00:00:00.000Z',
      '2026-11-13T00:00:00.000Z',
    ]);
    // Never one long sleep: Node's setTimeout overflows past 24.8 days.
    expect(Math.max(...time.sleeps)).to.be.at.most(3_600_000);
    t.stop();
    expect(time.pending).to.equal(0);
  });

  it('translates a descriptor and runs every hour on the hour', () => {
    const time = new FakeTime();
    const fired: string[] = [];
    const t = timer('@hourly', fired, time);
    t.start();
    time.advance(3 * 3_600_000);
    expect(fired).to.deep.equal([
      '2026-01-15T11:00:00.000Z',
      '2026-01-15T12:00:00.000Z',
      '2026-01-15T13:00:00.000Z',
    ]);
    t.destroy();
  });

  it('skips runs missed while the host slept (one run, not a burst)', () => {
    const time = new FakeTime();
    const fired: string[] = [];
    const t = timer('*/5 * * * *', fired, time);
    t.start();
    // The clock jumps 2 h while the timer is asleep: it wakes once, fires once, re-arms.
    time.now += 2 * 3_600_000;
    time.advance(60_000);
    expect(fired).to.have.length(1);
    expect(t.nextRun!.getTime()).to.be.greaterThan(time.now);
    t.stop();
  });

  it('keeps running after a tick throws or rejects', () => {
    const time = new FakeTime();
    time.now = start;
    const errors: unknown[] = [];
    let n = 0;
    const t = new CronTimer(
      '* * * * *',
      () => {
        n++;
        if (n === 1) throw new Error('boom');
        return Promise.reject(new Error('later'));
      },
      {
        clock: 'utc',
        now: () => time.now,
        setTimer: time.set,
        clearTimer: time.clear,
        onError: (e) => errors.push(e),
      },
    );
    t.start();
    time.advance(3 * 60_000);
    expect(n).to.equal(3);
    t.stop();
  });

  it('fires on real timers (the clock read 1 s before a minute boundary)', async () => {
    const offset = 60_000 - (Date.now() % 60_000) - 1_000;
    const t0 = Date.now();
    let firedAfter: number | undefined;
    const t = new CronTimer('* * * * *', () => void (firedAfter = Date.now() - t0), {
      now: () => Date.now() + offset,
    });
    t.start();
    while (firedAfter === undefined && Date.now() - t0 < 10_000) {
      await new Promise((r) => setTimeout(r, 50));
    }
    t.stop();
    expect(firedAfter).to.be.within(900, 5_000);
  });

  it('refuses what Backrest refuses, with the reason', () => {
    expect(() => new CronTimer('0 0 1 * ?', () => undefined)).to.throw(/"\?"/);
    expect(() => new CronTimer('0 0 * * 7', () => undefined)).to.throw(/never fires/);
  });
});
