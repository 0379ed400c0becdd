import { expect } from 'chai';
import {
  AjvSchemaRegistry,
  Controller,
  InMemoryConditionStore,
  InMemoryEventRecorder,
  ResourceCache,
  VirtualClock,
  createNullLogger,
} from '@dockop/runtime';
import { ActionError } from '@dockop/docker';
import type Dockerode from 'dockerode';
import { ApplyController } from './apply-controller.js';
import { ApplyState } from './apply-state.js';
import { RestartApplier, CommandApplier, type ApplyContext } from './apply.js';
import { isRestic, type BackrestActivity } from './backrest-activity.js';
import { PlanReport } from './plan-report.js';

/** A fake Backrest container on the virtual clock: running or not, busy or not, can crash. */
class FakeBackrest implements BackrestActivity {
  restarts: number[] = [];
  crashAfterRestart = new Set<number>();
  state: 'running' | 'exited' | 'absent' = 'running';
  busyWith: string | undefined;
  constructor(readonly clock: VirtualClock) {}
  async inspect(name: string): Promise<Dockerode.ContainerInspectInfo> {
    if (this.state === 'absent')
      throw new ActionError('NotFound', name, `no such container ${name}`);
    return {
      State: { Running: this.state === 'running', Restarting: false, Status: this.state },
    } as unknown as Dockerode.ContainerInspectInfo;
  }
  async restart(): Promise<void> {
    this.restarts.push(this.clock.now());
  }
  async waitFor(): Promise<void> {
    // The nth restart (1-based) "dies" when listed in crashAfterRestart.
    if (this.crashAfterRestart.has(this.restarts.length))
      throw new Error('container exited (code 1)');
  }
  async busy(): Promise<string | undefined> {
    return this.busyWith;
  }
}

class FakeStore {
  rollbacks: (string | undefined)[] = [];
  constructor(readonly hasBackup = true) {}
  async rollback(to?: string): Promise<boolean> {
    this.rollbacks.push(to);
    return this.hasBackup;
  }
}

function ctx(recorder = new InMemoryEventRecorder()): ApplyContext {
  return { logger: createNullLogger(), recorder, key: 'BackrestConfig//etc/backrest/config.json' };
}

function restartApplier(b: FakeBackrest, store = new FakeStore(), opts = {}): RestartApplier {
  return new RestartApplier(b, store, b.clock, b, { container: 'backrest', ...opts });
}

describe('RestartApplier', () => {
  it('restarts a running, idle Backrest', async () => {
    const b = new FakeBackrest(new VirtualClock());
    const outcome = await restartApplier(b).apply(ctx(), { written: 'new' });
    expect(outcome.status).to.equal('applied');
    expect(b.restarts).to.have.length(1);
  });

  for (const state of ['exited', 'absent'] as const) {
    it(`does not restart, start or roll back a Backrest that is ${state}; warns naming it`, async () => {
      const b = new FakeBackrest(new VirtualClock());
      b.state = state;
      const store = new FakeStore();
      const recorder = new InMemoryEventRecorder();
      const outcome = await restartApplier(b, store).apply(ctx(recorder), { written: 'new' });
      expect(outcome.status).to.equal('not-running');
      expect(b.restarts).to.deep.equal([]);
      expect(store.rollbacks).to.deep.equal([]);
      const warning = recorder.all().find((e) => e.reason === 'BackrestNotRunning');
      expect(warning?.type).to.equal('Warning');
      expect(warning?.message).to.include('backrest').and.include('next start');
    });
  }

  it('defers while Backrest is busy, then restarts once it is idle', async () => {
    const clock = new VirtualClock();
    const b = new FakeBackrest(clock);
    b.busyWith = 'a restic process (restic backup)';
    const deferrals: boolean[] = [];
    const recorder = new InMemoryEventRecorder();
    const applier = new RestartApplier(
      b,
      new FakeStore(),
      clock,
      b,
      { container: 'backrest' },
      (_c, d) => deferrals.push(d),
    );
    const first = await applier.apply(ctx(recorder), { written: 'new' });
    expect(first.status).to.equal('deferred');
    clock.advance(60_000);
    expect((await applier.apply(ctx(recorder), { written: 'new' })).status).to.equal('deferred');
    expect(b.restarts).to.deep.equal([]);
    expect(recorder.all().filter((e) => e.reason === 'ApplyDeferred')).to.have.length(1);
    b.busyWith = undefined;
    expect((await applier.apply(ctx(recorder), { written: 'new' })).status).to.equal('applied');
    expect(b.restarts).to.have.length(1);
    expect(deferrals).to.deep.equal([true, false]);
  });

  it('restarts anyway after the maximum deferral and says why', async () => {
    const clock = new VirtualClock();
    const b = new FakeBackrest(clock);
    b.busyWith = 'backup of plan x';
    const applier = restartApplier(b, new FakeStore(), { maxDeferMs: 3_600_000 });
    const recorder = new InMemoryEventRecorder();
    expect((await applier.apply(ctx(recorder), { written: 'new' })).status).to.equal('deferred');
    clock.advance(3_600_000);
    const outcome = await applier.apply(ctx(recorder), { written: 'new' });
    expect(outcome.status).to.equal('applied');
    const forced = recorder.all().find((e) => e.reason === 'ApplyForced');
    expect(forced?.message).to.include('backup of plan x').and.include('1 h');
  });

  it('rolls back to the config Backrest ran on when it does not stay up, and restarts it', async () => {
    const b = new FakeBackrest(new VirtualClock());
    b.crashAfterRestart.add(1);
    const store = new FakeStore();
    const recorder = new InMemoryEventRecorder();
    const outcome = await restartApplier(b, store).apply(ctx(recorder), {
      written: 'bad',
      good: 'good',
    });
    expect(outcome).to.include({ status: 'failed', rolledBack: true });
    expect(store.rollbacks).to.deep.equal(['good']);
    expect(b.restarts).to.have.length(2);
    expect(recorder.all().map((e) => e.reason)).to.include('ApplyFailed');
  });
});

describe('isRestic', () => {
  it('matches restic binaries only', () => {
    expect(isRestic('restic backup --json /data')).to.equal(true);
    expect(isRestic('/bin/restic-0.17.3 forget')).to.equal(true);
    expect(isRestic('/backrest')).to.equal(false);
    expect(isRestic('grep restic')).to.equal(false);
    expect(isRestic('sh -c restic')).to.equal(false);
  });
});

describe('ApplyController (runtime Controller on a virtual clock)', () => {
  function setup(opts: { cooldownMs?: number } = {}) {
    const clock = new VirtualClock();
    const b = new FakeBackrest(clock);
    const state = new ApplyState('backrest', () => clock.now());
    const report = new PlanReport();
    const applier = restartApplier(b, new FakeStore(), { cooldownMs: opts.cooldownMs ?? 10_000 });
    const contribution = new ApplyController(applier, state, report, 'BackrestConfig/x', {
      debounce: { quietMs: 2_000, maxWaitMs: 30_000 },
    });
    const controller = new Controller(contribution, {
      cache: new ResourceCache({ schemas: new AjvSchemaRegistry() }),
      logger: createNullLogger(),
      recorder: new InMemoryEventRecorder(),
      conditions: new InMemoryConditionStore(),
      clock,
    });
    const step = async (ms: number): Promise<void> => {
      for (let i = 0; i < ms; i += 250) {
        await clock.advanceAsync(Math.min(250, ms - i));
        for (let t = 0; t < 20; t++) await new Promise((r) => setImmediate(r));
      }
    };
    return { clock, b, state, controller, step };
  }

  it('ten writes a second apart → one restart; the writes never wait', async () => {
    const h = setup();
    h.controller.start();
    for (let i = 0; i < 10; i++) {
      h.state.written(`v${i}`, `v${i + 1}`);
      await h.step(1_000);
    }
    await h.step(15_000);
    expect(h.b.restarts).to.have.length(1);
    expect(h.state.pending()).to.equal(undefined);
    expect(h.state.status.phase).to.equal('Idle');
    await h.controller.stop(0);
  });

  it('writes during the cooldown share one trailing restart', async () => {
    const h = setup({ cooldownMs: 10_000 });
    h.controller.start();
    h.state.written('a', 'b');
    await h.step(3_000);
    expect(h.b.restarts).to.have.length(1);
    for (let i = 0; i < 5; i++) {
      h.state.written(`b${i}`, `c${i}`);
      await h.step(500);
    }
    await h.step(20_000);
    expect(h.b.restarts).to.have.length(2);
    expect(h.b.restarts[1]! - h.b.restarts[0]!).to.be.at.least(10_000);
    await h.controller.stop(0);
  });

  it('a busy Backrest gets no restart until its operation ends, then exactly one', async () => {
    const h = setup();
    h.b.busyWith = 'a restic process';
    h.controller.start();
    h.state.written('a', 'b');
    await h.step(60_000);
    expect(h.b.restarts).to.have.length(0);
    expect(h.state.status.phase).to.equal('Deferred');
    h.state.written('b', 'c');
    await h.step(30_000);
    expect(h.b.restarts).to.have.length(0);
    h.b.busyWith = undefined;
    await h.step(15_000);
    expect(h.b.restarts).to.have.length(1);
    expect(h.state.status.phase).to.equal('Idle');
    await h.controller.stop(0);
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
