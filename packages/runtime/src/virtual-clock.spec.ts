import { expect } from 'chai';
import { VirtualClock, flushMicrotasks } from './virtual-clock.js';
import { SystemClock } from './system-clock.js';

describe('VirtualClock', () => {
  it('starts at the given epoch ms and only moves when advanced', () => {
    const clock = new VirtualClock(1000);
    expect(clock.now()).to.equal(1000);
    clock.advance(250);
    expect(clock.now()).to.equal(1250);
  });

  it('runs due timers in due order, ties in creation order, with now() at each due time', () => {
    const clock = new VirtualClock(0);
    const seen: string[] = [];
    clock.setTimeout(() => seen.push(`b@${clock.now()}`), 20);
    clock.setTimeout(() => seen.push(`a@${clock.now()}`), 10);
    clock.setTimeout(() => seen.push(`c@${clock.now()}`), 20);
    clock.setTimeout(() => seen.push(`late@${clock.now()}`), 31);
    clock.advance(30);
    expect(seen).to.deep.equal(['a@10', 'b@20', 'c@20']);
    expect(clock.now()).to.equal(30);
    expect(clock.pending()).to.equal(1);
    expect(clock.nextDue()).to.equal(31);
  });

  it('runs timers scheduled by timers when they fall within the advance', () => {
    const clock = new VirtualClock(0);
    const seen: number[] = [];
    clock.setTimeout(() => {
      seen.push(clock.now());
      clock.setTimeout(() => seen.push(clock.now()), 5);
      clock.setTimeout(() => seen.push(clock.now()), 50);
    }, 10);
    clock.advance(20);
    expect(seen).to.deep.equal([10, 15]);
    expect(clock.pending()).to.equal(1);
  });

  it('cancelled timers never run', () => {
    const clock = new VirtualClock(0);
    let ran = false;
    const h = clock.setTimeout(() => (ran = true), 5);
    h.cancel();
    h.cancel();
    clock.advance(10);
    expect(ran).to.equal(false);
    expect(clock.pending()).to.equal(0);
  });

  it('treats negative and non-finite delays as 0', () => {
    const clock = new VirtualClock(0);
    const seen: number[] = [];
    clock.setTimeout(() => seen.push(1), -5);
    clock.setTimeout(() => seen.push(2), Number.NaN);
    clock.advance(0);
    expect(seen).to.deep.equal([1, 2]);
  });

  it('rejects a negative advance', () => {
    expect(() => new VirtualClock(0).advance(-1)).to.throw(RangeError);
  });

  it('runAll runs everything, including rescheduled timers, and guards endless loops', () => {
    const clock = new VirtualClock(0);
    let n = 0;
    clock.setTimeout(() => {
      n++;
      clock.setTimeout(() => n++, 100);
    }, 10);
    expect(clock.runAll()).to.equal(2);
    expect(n).to.equal(2);
    expect(clock.now()).to.equal(110);
    const forever = (): void => void clock.setTimeout(forever, 1);
    forever();
    expect(() => clock.runAll(50)).to.throw(/more than 50/);
  });

  it('sleep resolves at its time and rejects with the abort reason', async () => {
    const clock = new VirtualClock(0);
    let done = false;
    const p = clock.sleep(100).then(() => (done = true));
    await clock.advanceAsync(99);
    expect(done).to.equal(false);
    await clock.advanceAsync(1);
    await p;
    expect(done).to.equal(true);

    const ac = new AbortController();
    const s = clock.sleep(100, ac.signal);
    ac.abort(new Error('stop'));
    let caught: unknown;
    await s.catch((e: unknown) => (caught = e));
    expect((caught as Error).message).to.equal('stop');
    expect(clock.pending()).to.equal(0);

    const pre = new AbortController();
    pre.abort(new Error('already'));
    await clock.sleep(5, pre.signal).then(
      () => expect.fail('should reject'),
      (e: Error) => expect(e.message).to.equal('already'),
    );
  });

  it('advanceAsync lets promise chains driven by timers see each step', async () => {
    const clock = new VirtualClock(0);
    const seen: number[] = [];
    const loop = async (): Promise<void> => {
      for (let i = 0; i < 3; i++) {
        await clock.sleep(10);
        seen.push(clock.now());
      }
    };
    const p = loop();
    await clock.advanceAsync(30);
    await p;
    expect(seen).to.deep.equal([10, 20, 30]);
    expect(await clock.runAllAsync()).to.equal(0);
  });

  it('flushMicrotasks runs queued continuations', async () => {
    let x = 0;
    void Promise.resolve().then(() => (x = 1));
    await flushMicrotasks();
    expect(x).to.equal(1);
  });
});

describe('SystemClock', () => {
  it('reads Date.now and runs/cancels real timers', async () => {
    const clock = new SystemClock({ unref: true });
    const before = Date.now();
    expect(clock.now()).to.be.within(before, Date.now());
    let ran = false;
    clock.setTimeout(() => (ran = true), 0).cancel();
    await clock.sleep(1);
    expect(ran).to.equal(false);
    const ac = new AbortController();
    const p = clock.sleep(10_000, ac.signal);
    ac.abort(new Error('bye'));
    await p.then(
      () => expect.fail('should reject'),
      (e: Error) => expect(e.message).to.equal('bye'),
    );
  });
});
