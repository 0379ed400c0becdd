import { expect } from 'chai';
import {
  InMemoryEventRecorder,
  VirtualClock,
  createNullLogger,
  flushMicrotasks,
} from '@dockop/runtime';
import { RestartApplier, CommandApplier, type ApplyContext } from './apply.js';

/** A fake Backrest container: records restarts on the virtual clock; can be told to crash. */
class FakeBackrest {
  restarts: number[] = [];
  crashAfterRestart = new Set<number>();
  constructor(readonly clock: VirtualClock) {}
  async restart(): Promise<void> {
    this.restarts.push(this.clock.now());
  }
  async waitFor(): Promise<void> {
    // The nth restart (1-based) "dies" when listed in crashAfterRestart.
    if (this.crashAfterRestart.has(this.restarts.length))
      throw new Error('container exited (code 1)');
  }
}

class FakeStore {
  rollbacks = 0;
  constructor(readonly hasBackup = true) {}
  async rollback(): Promise<boolean> {
    this.rollbacks++;
    return this.hasBackup;
  }
}

function ctx(recorder = new InMemoryEventRecorder()): ApplyContext {
  return { logger: createNullLogger(), recorder, key: 'BackrestConfig//etc/backrest/config.json' };
}

async function settle(clock: VirtualClock, ms: number): Promise<void> {
  for (let i = 0; i < 20; i++) await flushMicrotasks();
  clock.advance(ms);
  for (let i = 0; i < 20; i++) await flushMicrotasks();
}

describe('RestartApplier', () => {
  it('restarts immediately the first time', async () => {
    const clock = new VirtualClock();
    const backrest = new FakeBackrest(clock);
    const applier = new RestartApplier(backrest, new FakeStore(), clock, { container: 'backrest' });
    const outcome = await applier.apply(ctx());
    expect(outcome).to.deep.equal({ status: 'applied', restarts: 1 });
    expect(backrest.restarts).to.deep.equal([clock.now()]);
  });

  it('merges every change during the cooldown into exactly one trailing restart', async () => {
    const clock = new VirtualClock();
    const t0 = clock.now();
    const backrest = new FakeBackrest(clock);
    const applier = new RestartApplier(backrest, new FakeStore(), clock, {
      container: 'backrest',
      cooldownMs: 10_000,
    });
    await applier.apply(ctx());
    const pending: Promise<unknown>[] = [];
    for (const at of [1_000, 2_000, 5_000, 9_999]) {
      await settle(clock, at - (clock.now() - t0));
      pending.push(applier.apply(ctx()));
    }
    expect(backrest.restarts).to.have.length(1);
    await settle(clock, 10_000 - (clock.now() - t0));
    await Promise.all(pending);
    expect(backrest.restarts.map((t) => t - t0)).to.deep.equal([0, 10_000]);
    // The trailing restart at 10 s starts a new cooldown; a change at 25 s is past it.
    await settle(clock, 15_000);
    await applier.apply(ctx());
    expect(backrest.restarts.map((t) => t - t0)).to.deep.equal([0, 10_000, 25_000]);
  });

  it('a change right after a restart waits for the full cooldown', async () => {
    const clock = new VirtualClock();
    const t0 = clock.now();
    const backrest = new FakeBackrest(clock);
    const applier = new RestartApplier(backrest, new FakeStore(), clock, {
      container: 'b',
      cooldownMs: 3_000,
    });
    await applier.apply(ctx());
    const p = applier.apply(ctx());
    await settle(clock, 2_999);
    expect(backrest.restarts).to.have.length(1);
    await settle(clock, 1);
    await p;
    expect(backrest.restarts.map((t) => t - t0)).to.deep.equal([0, 3_000]);
  });

  it('rolls back, restarts again and records a Warning when Backrest dies after the restart', async () => {
    const clock = new VirtualClock();
    const backrest = new FakeBackrest(clock);
    backrest.crashAfterRestart.add(1);
    const store = new FakeStore();
    const recorder = new InMemoryEventRecorder();
    const applier = new RestartApplier(backrest, store, clock, { container: 'backrest' });
    const outcome = await applier.apply(ctx(recorder));
    expect(outcome.status).to.equal('failed');
    expect(outcome).to.include({ rolledBack: true });
    expect(store.rollbacks).to.equal(1);
    expect(backrest.restarts).to.have.length(2);
    const warnings = recorder.all().filter((e) => e.type === 'Warning');
    expect(warnings.map((e) => e.reason)).to.deep.equal(['ApplyFailed']);
    expect(warnings[0]?.message).to.include('backrest').and.include('container exited');
  });

  it('reports rolledBack false when there is no previous config', async () => {
    const clock = new VirtualClock();
    const backrest = new FakeBackrest(clock);
    backrest.crashAfterRestart.add(1);
    const applier = new RestartApplier(backrest, new FakeStore(false), clock, { container: 'x' });
    const outcome = await applier.apply(ctx());
    expect(outcome).to.deep.include({ status: 'failed', rolledBack: false });
  });
});

describe('CommandApplier', () => {
  it('succeeds on exit 0 and fails with a Warning on a non-zero exit', async () => {
    const ok = await new CommandApplier({ command: 'true' }).apply(ctx());
    expect(ok.status).to.equal('applied');
    const recorder = new InMemoryEventRecorder();
    const bad = await new CommandApplier({ command: 'echo boom >&2; exit 3' }).apply(ctx(recorder));
    expect(bad.status).to.equal('failed');
    expect(recorder.all()[0]?.message).to.include('boom');
  });
});

describe('RestartApplier.idle', () => {
  it('resolves only after the running restart and its verification finished', async () => {
    const clock = new VirtualClock();
    let release!: () => void;
    const slow = {
      restarts: 0,
      async restart() {
        this.restarts++;
      },
      waitFor: () => new Promise<void>((r) => (release = r)),
    };
    const applier = new RestartApplier(slow, new FakeStore(), clock, { container: 'b' });
    const applying = applier.apply(ctx());
    let idle = false;
    void applier.idle().then(() => (idle = true));
    await settle(clock, 0);
    expect(idle).to.equal(false);
    release();
    await applying;
    await settle(clock, 0);
    expect(idle).to.equal(true);
  });
});
