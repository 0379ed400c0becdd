import { expect } from 'chai';
import { ActionError, type ContainerActions } from '@dockop/docker';
import { NotRunningError, ensureRunning } from './ensure-running.js';

type Info = Awaited<ReturnType<ContainerActions['inspect']>>;

/**
 * A container whose stop is in flight until `exitsAt` (virtual ms): running until then, and a
 * start meanwhile is a no-op, as dockerd answers 304 to a start of a running container.
 */
function stopping(exitsAt: number, clock: { t: number }, opts: { crashOnStart?: boolean } = {}) {
  let running = true;
  let startedByUs = false;
  const calls: string[] = [];
  const tick = (): void => {
    if (running && !startedByUs && clock.t >= exitsAt) running = false;
  };
  const actions: Pick<ContainerActions, 'start' | 'inspect'> = {
    start: async () => {
      tick();
      calls.push(`start@${clock.t} running=${String(running)}`);
      if (running) return;
      startedByUs = true;
      running = !opts.crashOnStart;
    },
    inspect: async () => {
      tick();
      return { State: { Running: running, Status: running ? 'running' : 'exited' } } as Info;
    },
  };
  return { actions, calls, isRunning: () => (tick(), running) };
}

describe('ensureRunning', () => {
  const c = { id: 'c1', name: 'db' };

  it('waits for an in-flight stop to finish before starting, so the start is not a no-op', async () => {
    const clock = { t: 0 };
    const sleep = async (ms: number): Promise<void> => void (clock.t += ms);
    const s = stopping(4_000, clock);
    const r = await ensureRunning(s.actions, c, {
      settleUntil: 20_000,
      now: () => clock.t,
      sleep,
    });
    expect(r).to.equal('running');
    expect(s.calls).to.deep.equal(['start@4000 running=false']);
    expect(s.isRunning()).to.equal(true);
  });

  it('without the wait, the start is a no-op and the container goes down afterwards (the bug)', async () => {
    const clock = { t: 0 };
    const s = stopping(4_000, clock);
    await ensureRunning(s.actions, c, { now: () => clock.t });
    clock.t = 5_000;
    expect(s.isRunning()).to.equal(false);
  });

  it('gives up waiting at settleUntil (a stop that never took effect), then starts and confirms', async () => {
    const clock = { t: 0 };
    const s = stopping(Infinity, clock);
    const r = await ensureRunning(s.actions, c, {
      settleUntil: 3_000,
      now: () => clock.t,
      sleep: async (ms) => void (clock.t += ms),
    });
    expect(r).to.equal('running');
    expect(clock.t).to.equal(3_000);
  });

  it('rejects when the container does not run after start, and says gone for a removed one', async () => {
    const clock = { t: 10 };
    const crash = stopping(0, clock, { crashOnStart: true });
    await ensureRunning(crash.actions, c).then(
      () => expect.fail('confirmed a dead container'),
      (err: Error) => {
        expect(err).to.be.instanceOf(NotRunningError);
        expect(err.message).to.include('db').and.include('exited');
      },
    );
    const gone: Pick<ContainerActions, 'start' | 'inspect'> = {
      start: async () => {
        throw new ActionError('NotFound', 'c1', 'no such container');
      },
      inspect: async () => ({ State: { Running: false } }) as Info,
    };
    expect(await ensureRunning(gone, c, { settleUntil: Date.now() + 1000 })).to.equal('gone');
  });
});
