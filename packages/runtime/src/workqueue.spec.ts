import { expect } from 'chai';
import fc from 'fast-check';
import type { RateLimiter } from './rate-limiter.js';
import { VirtualClock, flushMicrotasks } from './virtual-clock.js';
import {
  WorkQueue,
  type WorkQueueMetrics,
  type WorkQueueMetricsProvider,
  type WorkQueueProbe,
} from './workqueue.js';

function newQueue(
  clock = new VirtualClock(0),
  extra: Partial<ConstructorParameters<typeof WorkQueue>[0]> = {},
) {
  return { clock, q: new WorkQueue<string>({ clock, ...extra }) };
}

function drain(q: WorkQueue<string>): string[] {
  const out: string[] = [];
  for (let k = q.tryGet(); k !== undefined; k = q.tryGet()) {
    out.push(k);
    q.done(k);
  }
  return out;
}

describe('WorkQueue', () => {
  describe('dirty set and FIFO', () => {
    it('queues a key at most once and hands keys out in order', async () => {
      const { q } = newQueue();
      q.add('a');
      q.add('b');
      q.add('a');
      q.add('c');
      q.add('b');
      expect(q.len()).to.equal(3);
      expect(await q.get()).to.equal('a');
      expect(await q.get()).to.equal('b');
      expect(q.tryGet()).to.equal('c');
      expect(q.tryGet()).to.equal(undefined);
    });

    it('keeps order across many keys (compaction of the internal array)', () => {
      const { q } = newQueue();
      for (let i = 0; i < 5000; i++) q.add(`k${i}`);
      for (let i = 0; i < 3000; i++) {
        expect(q.tryGet()).to.equal(`k${i}`);
        q.done(`k${i}`);
      }
      q.add('late');
      expect(q.len()).to.equal(2001);
      const rest = drain(q);
      expect(rest[0]).to.equal('k3000');
      expect(rest.at(-1)).to.equal('late');
    });
  });

  describe('processing set', () => {
    it('does not hand out a key again until done, then re-queues it once', async () => {
      const { q } = newQueue();
      q.add('a');
      const a = await q.get();
      expect(a).to.equal('a');
      expect(q.isProcessing('a')).to.equal(true);
      q.add('a');
      q.add('a');
      expect(q.len()).to.equal(0);
      expect(q.tryGet()).to.equal(undefined);
      q.done('a');
      expect(q.isProcessing('a')).to.equal(false);
      expect(q.len()).to.equal(1);
      expect(q.tryGet()).to.equal('a');
      q.done('a');
      expect(q.len()).to.equal(0);
    });

    it('ignores done for a key not in processing', () => {
      const { q } = newQueue();
      q.add('a');
      q.done('a');
      expect(q.len()).to.equal(1);
      expect(q.processingCount()).to.equal(0);
    });
  });

  describe('get', () => {
    it('waits for an add and serves waiters first come first served', async () => {
      const { q } = newQueue();
      const order: string[] = [];
      const w1 = q.get().then((k) => order.push(`w1:${k}`));
      const w2 = q.get().then((k) => order.push(`w2:${k}`));
      await flushMicrotasks();
      expect(order).to.deep.equal([]);
      q.add('x');
      q.add('y');
      await Promise.all([w1, w2]);
      expect(order).to.deep.equal(['w1:x', 'w2:y']);
      expect(q.processingCount()).to.equal(2);
    });

    it('a waiter gets a key re-queued by done', async () => {
      const { q } = newQueue();
      q.add('a');
      const a = q.tryGet()!;
      q.add('a');
      const waiting = q.get();
      q.done(a);
      expect(await waiting).to.equal('a');
    });
  });

  describe('shutdown', () => {
    it('wakes waiters with undefined and ignores later adds', async () => {
      const { q } = newQueue();
      const w = q.get();
      q.shutDown();
      expect(await w).to.equal(undefined);
      expect(q.shuttingDown).to.equal(true);
      q.add('a');
      q.addAfter('b', 0);
      q.addRateLimited('c');
      expect(q.len()).to.equal(0);
      expect(await q.get()).to.equal(undefined);
    });

    it('still hands out keys queued before shutdown, then undefined', async () => {
      const { q } = newQueue();
      q.add('a');
      q.add('b');
      q.shutDown();
      expect(await q.get()).to.equal('a');
      expect(await q.get()).to.equal('b');
      expect(await q.get()).to.equal(undefined);
    });

    it('drops waiting and debounced keys and cancels their timers', () => {
      const clock = new VirtualClock(0);
      const q = new WorkQueue<string>({ clock, debounce: { quietMs: 10, maxWaitMs: 100 } });
      q.addAfter('later', 50);
      q.add('debounced');
      expect(q.delayedCount()).to.equal(2);
      q.shutDown();
      expect(clock.pending()).to.equal(0);
      clock.advance(1000);
      expect(q.len()).to.equal(0);
    });

    it('shutDownWithDrain resolves when the last in-flight key finishes even if it was re-added', async () => {
      const { q } = newQueue();
      q.add('a');
      const a = q.tryGet()!;
      q.add('a'); // dirty while processing
      let drained = false;
      const p = q.shutDownWithDrain().then(() => (drained = true));
      q.done(a); // re-queued (client-go), nothing in processing any more
      await p;
      expect(drained).to.equal(true);
      expect(await q.get()).to.equal('a'); // still handed out after shutdown
      q.done('a');
      expect(await q.get()).to.equal(undefined);
    });

    it('shutDownWithDrain waits for in-flight keys', async () => {
      const { q } = newQueue();
      q.add('a');
      q.add('b');
      const a = q.tryGet()!;
      const b = q.tryGet()!;
      let drained = false;
      const p = q.shutDownWithDrain().then(() => (drained = true));
      await flushMicrotasks();
      expect(drained).to.equal(false);
      q.done(a);
      await flushMicrotasks();
      expect(drained).to.equal(false);
      q.done(b);
      await p;
      expect(drained).to.equal(true);
      await q.shutDownWithDrain(); // idle: resolves at once
    });
  });

  describe('addAfter', () => {
    it('adds the key once the delay passed', () => {
      const { q, clock } = newQueue();
      q.addAfter('a', 100);
      expect(q.len()).to.equal(0);
      expect(q.delayedCount()).to.equal(1);
      clock.advance(99);
      expect(q.len()).to.equal(0);
      clock.advance(1);
      expect(q.len()).to.equal(1);
      expect(q.delayedCount()).to.equal(0);
    });

    it('keeps the earliest time for a key already waiting', () => {
      const { q, clock } = newQueue();
      q.addAfter('a', 100);
      q.addAfter('a', 50);
      q.addAfter('a', 80);
      clock.advance(50);
      expect(q.len()).to.equal(1);
      q.done(q.tryGet()!);
      clock.advance(100);
      expect(q.len()).to.equal(0);
      expect(clock.pending()).to.equal(0);
    });

    it('adds at once for a delay <= 0', () => {
      const { q } = newQueue();
      q.addAfter('a', 0);
      q.addAfter('b', -5);
      expect(drain(q)).to.deep.equal(['a', 'b']);
    });

    it("cancelWaiting drops a waiting key and its timer; add and the key's other state are untouched", () => {
      const { q, clock } = newQueue();
      q.addAfter('a', 100);
      q.addAfter('b', 100);
      expect(q.isWaiting('a')).to.equal(true);
      expect(q.cancelWaiting('a')).to.equal(true);
      expect(q.cancelWaiting('a')).to.equal(false);
      expect(q.isWaiting('a')).to.equal(false);
      expect(q.delayedCount()).to.equal(1);
      expect(clock.pending()).to.equal(1);
      clock.advance(100);
      expect(drain(q)).to.deep.equal(['b']);
      q.add('c');
      expect(q.cancelWaiting('c')).to.equal(false);
      expect(q.len()).to.equal(1); // a queued key is not a waiting one
    });

    it('flushDelayed queues waiting keys now', () => {
      const { q, clock } = newQueue();
      q.addAfter('a', 100);
      q.flushDelayed();
      expect(q.len()).to.equal(1);
      expect(clock.pending()).to.equal(0);
    });
  });

  describe('rate limiting', () => {
    it('addRateLimited waits the limiter delay; forget and numRequeues go to the limiter', () => {
      const calls: string[] = [];
      const limiter: RateLimiter = {
        n: 0,
        when(key: string) {
          calls.push(`when:${key}`);
          return 10 * ++(this as { n: number }).n;
        },
        forget(key: string) {
          calls.push(`forget:${key}`);
        },
        numRequeues: () => 7,
      } as RateLimiter & { n: number };
      const { q, clock } = newQueue(new VirtualClock(0), { rateLimiter: limiter });
      q.addRateLimited('a');
      clock.advance(9);
      expect(q.len()).to.equal(0);
      clock.advance(1);
      expect(q.len()).to.equal(1);
      q.done(q.tryGet()!);
      q.addRateLimited('a');
      clock.advance(19);
      expect(q.len()).to.equal(0);
      clock.advance(1);
      expect(q.len()).to.equal(1);
      q.forget('a');
      expect(q.numRequeues('a')).to.equal(7);
      expect(calls).to.deep.equal(['when:a', 'when:a', 'forget:a']);
    });

    it('uses the default controller limiter: 5 ms, 10 ms, 20 ms', () => {
      const { q, clock } = newQueue();
      const readyAt: number[] = [];
      for (let i = 0; i < 3; i++) {
        q.addRateLimited('a');
        const start = clock.now();
        while (q.len() === 0) clock.advance(1);
        readyAt.push(clock.now() - start);
        q.done(q.tryGet()!);
      }
      expect(readyAt).to.deep.equal([5, 10, 20]);
      expect(q.numRequeues('a')).to.equal(3);
      q.forget('a');
      expect(q.numRequeues('a')).to.equal(0);
    });
  });

  describe('debounce', () => {
    const opts = { quietMs: 100, maxWaitMs: 300 };

    it('leading: a lone add goes at once; a burst after it is merged into one trailing add', () => {
      const { q, clock } = newQueue(new VirtualClock(0), {
        debounce: { ...opts, leading: true },
      });
      q.add('a');
      expect(q.len()).to.equal(1); // not delayed
      const first = q.tryGet();
      q.add('a'); // while processing: trailing
      clock.advance(50);
      q.add('a');
      q.done(first!);
      expect(q.len()).to.equal(0);
      clock.advance(100);
      expect(drain(q)).to.deep.equal(['a']);
      clock.advance(100); // quiet again: the next add is leading
      q.add('a');
      expect(q.len()).to.equal(1);
    });

    it('leading: remembers only recently added keys, not every key ever added (churn)', () => {
      const { q, clock } = newQueue(new VirtualClock(0), {
        debounce: { ...opts, leading: true },
      });
      // 10,000 containers, each created and destroyed (two adds) and never seen again.
      for (let i = 0; i < 10_000; i++) {
        q.add(`c${i}`);
        q.done(q.tryGet()!);
        clock.advance(10);
        q.add(`c${i}`); // within the quiet period: trailing
        clock.advance(opts.quietMs);
        q.done(q.tryGet()!);
      }
      // Only keys of the last quiet period matter; the prune threshold is at least 64.
      expect(q.leadingTracked()).to.be.at.most(64);
      // Still leading-edge: a key quiet for quietMs goes at once, a repeat is held.
      q.add('c0');
      expect(q.len()).to.equal(1);
      q.done(q.tryGet()!);
      q.add('c0');
      expect(q.len()).to.equal(0);
    });

    it('merges a burst into one hand-out after the quiet period', () => {
      const { q, clock } = newQueue(new VirtualClock(0), { debounce: opts });
      q.add('a');
      clock.advance(50);
      q.add('a');
      clock.advance(50);
      q.add('a');
      clock.advance(99);
      expect(q.len()).to.equal(0);
      clock.advance(1);
      expect(q.len()).to.equal(1);
      expect(drain(q)).to.deep.equal(['a']);
    });

    it('never postpones a key past maxWait from the first add', () => {
      const { q, clock } = newQueue(new VirtualClock(0), { debounce: opts });
      const handedAt: number[] = [];
      for (let t = 0; t < 1000; t += 50) {
        q.add('a');
        clock.advance(50);
        const k = q.tryGet();
        if (k) {
          handedAt.push(clock.now());
          q.done(k);
        }
      }
      // a new burst starts after each hand-out; each is cut at 300 ms
      expect(handedAt[0]).to.equal(300);
      for (let i = 1; i < handedAt.length; i++) {
        expect(handedAt[i]! - handedAt[i - 1]!).to.be.at.most(350);
      }
    });

    it('does not debounce a key that is already queued', () => {
      const { q, clock } = newQueue(new VirtualClock(0), { debounce: opts });
      q.add('a');
      clock.advance(100);
      expect(q.len()).to.equal(1);
      q.add('a');
      expect(q.delayedCount()).to.equal(0);
      expect(drain(q)).to.deep.equal(['a']);
    });

    it('debounces keys independently', () => {
      const { q, clock } = newQueue(new VirtualClock(0), { debounce: opts });
      q.add('a');
      clock.advance(60);
      q.add('b');
      clock.advance(40);
      expect(drain(q)).to.deep.equal(['a']);
      clock.advance(60);
      expect(drain(q)).to.deep.equal(['b']);
    });

    it('an immediate add (addAfter 0) supersedes a pending debounce', () => {
      const { q, clock } = newQueue(new VirtualClock(0), { debounce: opts });
      q.add('a');
      q.addAfter('a', 0);
      expect(q.len()).to.equal(1);
      expect(clock.pending()).to.equal(0);
    });

    it('flushDebounced queues debounced keys now', () => {
      const { q } = newQueue(new VirtualClock(0), { debounce: opts });
      q.add('a');
      q.add('b');
      q.flushDebounced();
      expect(drain(q)).to.deep.equal(['a', 'b']);
    });

    it('rejects quietMs > maxWaitMs', () => {
      expect(() => new WorkQueue({ debounce: { quietMs: 10, maxWaitMs: 5 } })).to.throw(/quietMs/);
    });
  });

  describe('metrics hooks', () => {
    it('reports adds, depth, queue and work durations, retries and in-flight probes', () => {
      const clock = new VirtualClock(0);
      const rec = {
        adds: 0,
        depth: [] as number[],
        queue: [] as number[],
        work: [] as number[],
        retries: 0,
      };
      let probe: WorkQueueProbe | undefined;
      let name = '';
      const provider: WorkQueueMetricsProvider = {
        forQueue(n, p): WorkQueueMetrics {
          name = n;
          probe = p;
          return {
            add: () => rec.adds++,
            depth: (d) => rec.depth.push(d),
            queueDuration: (s) => rec.queue.push(s),
            workDuration: (s) => rec.work.push(s),
            retry: () => rec.retries++,
          };
        },
      };
      const q = new WorkQueue<string>({ name: 'demo', clock, metrics: provider });
      expect(name).to.equal('demo');
      q.add('a');
      q.add('a');
      q.add('b');
      expect(rec.adds).to.equal(2);
      expect(rec.depth).to.deep.equal([1, 2]);
      clock.advance(2000);
      const a = q.tryGet()!;
      expect(rec.queue).to.deep.equal([2]);
      clock.advance(500);
      const b = q.tryGet()!;
      clock.advance(1000);
      expect(probe!.unfinishedWorkSeconds()).to.equal(1.5 + 1);
      expect(probe!.longestRunningProcessorSeconds()).to.equal(1.5);
      q.done(a);
      q.done(b);
      expect(rec.work).to.deep.equal([1.5, 1]);
      expect(probe!.unfinishedWorkSeconds()).to.equal(0);
      q.addAfter('c', 10);
      q.addRateLimited('d');
      expect(rec.retries).to.equal(2);
    });

    it('times a key added during processing from that add, and a key taken by a waiter as 0', async () => {
      const clock = new VirtualClock();
      const queue: number[] = [];
      const work: number[] = [];
      const provider: WorkQueueMetricsProvider = {
        forQueue: () => ({
          add() {},
          depth() {},
          queueDuration: (s) => queue.push(s),
          workDuration: (s) => work.push(s),
          retry() {},
        }),
      };
      const q = new WorkQueue<string>({ clock, metrics: provider });
      q.add('a');
      clock.advance(100);
      const a = q.tryGet()!;
      clock.advance(300);
      q.add('a'); // dirty while processing: queued by done(), timed from now
      clock.advance(200);
      q.done(a);
      clock.advance(50);
      expect(q.tryGet()).to.equal('a');
      expect(queue).to.deep.equal([0.1, 0.25]);
      expect(work).to.deep.equal([0.5]);
      q.done('a');
      const waiting = q.get();
      clock.advance(1000);
      q.add('b');
      expect(await waiting).to.equal('b');
      expect(queue).to.deep.equal([0.1, 0.25, 0]);
      // Compaction of the FIFO keeps each key's add time with it.
      for (let i = 0; i < 3000; i++) q.add(`k${i}`);
      for (let i = 0; i < 2000; i++) q.done(q.tryGet()!);
      clock.advance(7000);
      q.add('late');
      clock.advance(1000);
      for (let k = q.tryGet(); k !== undefined; k = q.tryGet()) q.done(k);
      expect(queue.slice(-1001)).to.deep.equal([...Array<number>(1000).fill(8), 1]);
    });
  });
});

describe('WorkQueue properties (fast-check)', () => {
  type Op =
    | { op: 'add'; key: string }
    | { op: 'addAfter'; key: string; ms: number }
    | { op: 'get'; worker: number }
    | { op: 'done'; worker: number }
    | { op: 'advance'; ms: number }
    | { op: 'shutdown' };

  const key = fc.constantFrom('a', 'b', 'c', 'd');
  const worker = fc.integer({ min: 0, max: 3 });
  const op: fc.Arbitrary<Op> = fc.oneof(
    { weight: 4, arbitrary: key.map((k) => ({ op: 'add' as const, key: k })) },
    {
      weight: 2,
      arbitrary: fc.record({
        op: fc.constant('addAfter' as const),
        key,
        ms: fc.integer({ min: -5, max: 50 }),
      }),
    },
    { weight: 3, arbitrary: worker.map((w) => ({ op: 'get' as const, worker: w })) },
    { weight: 3, arbitrary: worker.map((w) => ({ op: 'done' as const, worker: w })) },
    {
      weight: 2,
      arbitrary: fc.integer({ min: 0, max: 60 }).map((ms) => ({ op: 'advance' as const, ms })),
    },
  );

  /**
   * Drives a queue with simulated workers. Checks after every step that no key is held by two
   * workers, and at the end (after draining) that every add made before shutdown was followed by
   * a hand-out of that key.
   */
  async function run(ops: Op[], debounce: boolean): Promise<void> {
    const clock = new VirtualClock(0);
    const q = new WorkQueue<string>({
      clock,
      ...(debounce ? { debounce: { quietMs: 10, maxWaitMs: 30 } } : {}),
    });
    const held: (string | undefined)[] = [undefined, undefined, undefined, undefined];
    const waiting = [false, false, false, false];
    let seq = 0;
    const lastAdd = new Map<string, number>();
    const lastGet = new Map<string, number>();
    let shut = false;

    const assertExclusive = (): void => {
      const keys = held.filter((k): k is string => k !== undefined);
      expect(new Set(keys).size, `held: ${JSON.stringify(held)}`).to.equal(keys.length);
    };
    const startGet = (w: number): void => {
      waiting[w] = true;
      void q.get().then((k) => {
        waiting[w] = false;
        if (k === undefined) return;
        expect(held[w]).to.equal(undefined);
        expect(held.includes(k), `key ${k} handed to two workers`).to.equal(false);
        held[w] = k;
        lastGet.set(k, ++seq);
        assertExclusive();
      });
    };

    for (const o of ops) {
      switch (o.op) {
        case 'add':
          q.add(o.key);
          if (!shut) lastAdd.set(o.key, ++seq);
          break;
        case 'addAfter':
          q.addAfter(o.key, o.ms);
          if (!shut) lastAdd.set(o.key, ++seq);
          break;
        case 'get':
          if (held[o.worker] === undefined && !waiting[o.worker]) startGet(o.worker);
          break;
        case 'done': {
          const k = held[o.worker];
          if (k !== undefined) {
            held[o.worker] = undefined;
            q.done(k);
          }
          break;
        }
        case 'advance':
          clock.advance(o.ms);
          break;
        case 'shutdown':
          q.shutDown();
          shut = true;
          break;
      }
      await flushMicrotasks();
      assertExclusive();
    }

    // Drain: run timers, release every worker, keep taking until nothing is left.
    for (let round = 0; round < 100; round++) {
      clock.runAll();
      await flushMicrotasks();
      for (let w = 0; w < held.length; w++) {
        const k = held[w];
        if (k !== undefined) {
          held[w] = undefined;
          q.done(k);
        }
      }
      await flushMicrotasks();
      for (let w = 0; w < held.length; w++) if (held[w] === undefined && !waiting[w]) startGet(w);
      await flushMicrotasks();
      if (held.every((k) => k === undefined) && q.len() === 0 && clock.pending() === 0) break;
    }
    q.shutDown();
    await flushMicrotasks();

    if (!shut) {
      for (const [k, addSeq] of lastAdd) {
        expect(lastGet.get(k) ?? -1, `key ${k} lost: added at ${addSeq}`).to.be.greaterThan(addSeq);
      }
    }
    expect(q.processingCount()).to.equal(0);
  }

  it('never hands one key to two workers and never loses a key', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 80 }), (ops) => run(ops, false)),
      { numRuns: 300 },
    );
  });

  it('debounce: every add is followed by a hand-out within maxWait, and a burst is handed out once per window', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 2000 }), { minLength: 1, maxLength: 60 }),
        fc.integer({ min: 1, max: 200 }),
        fc.integer({ min: 0, max: 400 }),
        (times, quietMs, extra) => {
          const maxWaitMs = quietMs + extra;
          const clock = new VirtualClock(0);
          const q = new WorkQueue<string>({ clock, debounce: { quietMs, maxWaitMs } });
          const adds = [...times].sort((a, b) => a - b);
          const handouts: number[] = [];
          let i = 0;
          const end = adds.at(-1)! + maxWaitMs + 1;
          for (let t = 0; t <= end; t++) {
            if (t > 0) clock.advance(1);
            while (i < adds.length && adds[i] === t) {
              q.add('k');
              i++;
            }
            const k = q.tryGet();
            if (k !== undefined) {
              handouts.push(t);
              q.done(k);
            }
          }
          for (const t of adds) {
            expect(
              handouts.some((h) => h >= t && h <= t + maxWaitMs),
              `add at ${t}: ${handouts}`,
            ).to.equal(true);
          }
          // Merging: never more hand-outs than adds, and two hand-outs are at least quietMs apart
          // unless maxWait cut the burst.
          expect(handouts.length).to.be.at.most(adds.length);
          for (let j = 1; j < handouts.length; j++) {
            expect(handouts[j]! - handouts[j - 1]!).to.be.at.least(Math.min(quietMs, maxWaitMs));
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('holds with debounce', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 80 }), (ops) => run(ops, true)),
      { numRuns: 300 },
    );
  });

  it('holds across shutdown: keys queued before it are still handed out exactly once per add', async () => {
    const withShutdown = fc.oneof(
      { weight: 12, arbitrary: op },
      { weight: 1, arbitrary: fc.constant<Op>({ op: 'shutdown' }) },
    );
    await fc.assert(
      fc.asyncProperty(fc.array(withShutdown, { maxLength: 80 }), async (ops) => {
        await run(ops, false);
        // Immediate adds before shutdown must survive it.
        const clock = new VirtualClock(0);
        const q = new WorkQueue<string>({ clock });
        const added = new Set<string>();
        for (const o of ops) {
          if (o.op === 'shutdown') break;
          if (o.op === 'add') {
            q.add(o.key);
            added.add(o.key);
          }
        }
        q.shutDown();
        const out: string[] = [];
        for (let k = await q.get(); k !== undefined; k = await q.get()) {
          out.push(k);
          q.done(k);
        }
        expect(new Set(out)).to.deep.equal(added);
        expect(out.length).to.equal(added.size);
      }),
      { numRuns: 200 },
    );
  });
});
