import { expect } from 'chai';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LeaderElector, type LeaseRecord } from './leader-election.js';
import { VirtualClock } from './virtual-clock.js';

/**
 * Lets real file I/O finish between virtual-time steps: polls a condition (bounded). Nothing is
 * asserted about wall-clock time; lease timing runs on the virtual clock.
 */
async function until(cond: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 5000; i++) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 1));
  }
  throw new Error(`condition never met: ${what}`);
}

describe('LeaderElector', () => {
  let dir: string;
  let lease: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'dockop-lease-'));
    lease = path.join(dir, 'sub', 'leader.lease');
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('only one of two instances holds the lease; the other takes over after it expires', async () => {
    const clock = new VirtualClock(1_000_000);
    const a = new LeaderElector({ leasePath: lease, identity: 'a' }, { clock });
    const b = new LeaderElector({ leasePath: lease, identity: 'b' }, { clock });
    expect(await a.tryAcquireOrRenew()).to.equal(true);
    expect(await b.tryAcquireOrRenew()).to.equal(false);
    const rec = (await a.read())!;
    expect(rec).to.deep.include({
      holderIdentity: 'a',
      leaseDurationMs: 15_000,
      renewTime: 1_000_000,
      leaderTransitions: 1,
    });
    clock.advance(14_999);
    expect(await b.tryAcquireOrRenew()).to.equal(false);
    clock.advance(1);
    expect(await b.tryAcquireOrRenew()).to.equal(true);
    expect((await b.read())!).to.deep.include({
      holderIdentity: 'b',
      acquireTime: 1_015_000,
      leaderTransitions: 2,
    });
  });

  it('a holder renewing keeps its acquire time', async () => {
    const clock = new VirtualClock(0);
    const a = new LeaderElector({ leasePath: lease, identity: 'a' }, { clock });
    await a.tryAcquireOrRenew();
    clock.advance(2000);
    await a.tryAcquireOrRenew();
    expect((await a.read())!).to.deep.include({
      acquireTime: 0,
      renewTime: 2000,
      leaderTransitions: 1,
    });
  });

  it('acquire waits in retry periods until the lease is free; release hands it over at once', async () => {
    const clock = new VirtualClock(0);
    const a = new LeaderElector({ leasePath: lease, identity: 'a' }, { clock });
    const b = new LeaderElector({ leasePath: lease, identity: 'b' }, { clock });
    let aLeading = false;
    await a.run(new AbortController().signal, {
      onStartedLeading: () => void (aLeading = true),
      onStoppedLeading: () => undefined,
    });
    expect(aLeading).to.equal(true);
    expect(a.isLeader).to.equal(true);
    let bLeading = false;
    const ac = new AbortController();
    const bRun = b.run(ac.signal, {
      onStartedLeading: () => void (bLeading = true),
      onStoppedLeading: () => undefined,
    });
    await until(() => clock.pending() >= 2, 'b waiting for its retry timer');
    expect(bLeading).to.equal(false);
    await a.release();
    expect(a.isLeader).to.equal(false);
    expect((await a.read())!.holderIdentity).to.equal('');
    clock.advance(2000); // b's retry period
    await bRun;
    expect(bLeading).to.equal(true);
    await b.release();
  });

  it('renews every retry period; losing the lease to another holder calls onStoppedLeading once', async () => {
    const clock = new VirtualClock(0);
    const a = new LeaderElector({ leasePath: lease, identity: 'a' }, { clock });
    let lost = 0;
    await a.run(new AbortController().signal, {
      onStartedLeading: () => undefined,
      onStoppedLeading: () => void lost++,
    });
    clock.advance(2000);
    await until(
      async () => (await a.read())?.renewTime === 2000 && clock.pending() === 1,
      'renew written and rescheduled',
    );
    expect(a.isLeader).to.equal(true);
    // Someone else holds a fresh lease (e.g. after a long pause of this process).
    const other: LeaseRecord = {
      holderIdentity: 'intruder',
      leaseDurationMs: 15_000,
      acquireTime: 2000,
      renewTime: 2000,
      leaderTransitions: 2,
    };
    await writeFile(lease, JSON.stringify(other));
    clock.advance(2000);
    await until(() => lost === 1, 'lease loss noticed');
    expect(a.isLeader).to.equal(false);
    clock.advance(20_000);
    expect(lost).to.equal(1);
    expect(JSON.parse(await readFile(lease, 'utf8')).holderIdentity).to.equal('intruder');
  });

  it('acquire stops when its signal aborts', async () => {
    const clock = new VirtualClock(0);
    await new LeaderElector({ leasePath: lease, identity: 'a' }, { clock }).tryAcquireOrRenew();
    const b = new LeaderElector({ leasePath: lease, identity: 'b' }, { clock });
    const ac = new AbortController();
    const p = b.acquire(ac.signal);
    await until(() => clock.pending() === 1, 'b waiting');
    ac.abort(new Error('shutting down'));
    await p.then(
      () => expect.fail('must reject'),
      (e: Error) => expect(e.message).to.equal('shutting down'),
    );
  });

  it('validates its timing and treats an unreadable lease as free', async () => {
    const clock = new VirtualClock(0);
    expect(
      () =>
        new LeaderElector({ leasePath: lease, leaseDurationMs: 5, renewDeadlineMs: 10 }, { clock }),
    ).to.throw(/leaseDurationMs > renewDeadlineMs/);
    expect(() => new LeaderElector({ leasePath: '' }, { clock })).to.throw(/leasePath/);
    const a = new LeaderElector({ leasePath: lease }, { clock });
    expect(a.identity).to.match(/-\d+-[0-9a-f]{8}$/);
    await a.tryAcquireOrRenew();
    await writeFile(lease, 'garbage');
    expect(await a.read()).to.equal(undefined);
    expect(
      await new LeaderElector({ leasePath: lease, identity: 'z' }, { clock }).tryAcquireOrRenew(),
    ).to.equal(true);
  });
});
