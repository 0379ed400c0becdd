import { expect } from 'chai';
import { VirtualClock } from '@dockop/runtime';
import { ActionError, DockerContainerActions, isActionError } from './container-actions.js';
import { FakeEngine, settle } from './test-support/fake-docker.js';

function setup(): { engine: FakeEngine; clock: VirtualClock; actions: DockerContainerActions } {
  const engine = new FakeEngine();
  const clock = new VirtualClock();
  const actions = new DockerContainerActions(engine.client(), clock, undefined, {
    pollIntervalMs: 250,
  });
  return { engine, clock, actions };
}

async function rejection(p: Promise<unknown>): Promise<ActionError> {
  try {
    await p;
  } catch (err) {
    expect(err).to.be.instanceOf(ActionError);
    return err as ActionError;
  }
  throw new Error('expected a rejection');
}

describe('DockerContainerActions (fake engine, virtual clock)', () => {
  it('treats start of a running and stop of a stopped container as success', async () => {
    const { engine, actions } = setup();
    engine.add({ id: 'a', name: 'web', state: 'running' });
    await actions.start('web');
    await actions.stop('web');
    expect(engine.containers.get('a')?.state).to.equal('exited');
    await actions.stop('web');
    await actions.start('web');
    expect(engine.containers.get('a')?.state).to.equal('running');
  });

  it('maps a missing container to NotFound naming the target', async () => {
    const { actions } = setup();
    for (const p of [
      actions.inspect('ghost'),
      actions.start('ghost'),
      actions.stop('ghost'),
      actions.restart('ghost'),
    ]) {
      const err = await rejection(p);
      expect(err.code).to.equal('NotFound');
      expect(err.target).to.equal('ghost');
      expect(err.message).to.contain('ghost');
    }
  });

  it('maps an unreachable engine to Failed with the cause', async () => {
    const { engine, actions } = setup();
    engine.up = false;
    const err = await rejection(actions.inspect('x'));
    expect(err.code).to.equal('Failed');
    expect(err.message).to.contain('ECONNREFUSED');
    expect(err.cause).to.be.instanceOf(Error);
  });

  it('times out a hanging restart after grace + request timeout on the clock', async () => {
    const { engine, clock, actions } = setup();
    engine.add({ id: 'a', name: 'web' });
    engine.hangRestart = true;
    const p = actions.restart('web', { timeoutSec: 5 });
    p.catch(() => {});
    await clock.advanceAsync(5_000 + 30_000 - 1);
    let settled = false;
    void p.then(
      () => (settled = true),
      () => (settled = true),
    );
    await settle();
    expect(settled).to.equal(false);
    await clock.advanceAsync(1);
    const err = await rejection(p);
    expect(err.code).to.equal('Timeout');
    expect(isActionError(err, 'Timeout')).to.equal(true);
  });

  it('aborts with the caller signal', async () => {
    const { engine, actions } = setup();
    engine.add({ id: 'a', name: 'web' });
    engine.hangRestart = true;
    const ac = new AbortController();
    const p = actions.restart('web', { signal: ac.signal });
    ac.abort(new Error('shutdown'));
    const err = await rejection(p);
    expect(err.code).to.equal('Aborted');
    expect((err.cause as Error).message).to.equal('shutdown');
  });

  describe('waitFor', () => {
    it('running: resolves once the container runs', async () => {
      const { engine, clock, actions } = setup();
      const c = engine.add({ id: 'a', name: 'web', state: 'created' });
      let done = false;
      const p = actions.waitFor('web', 'running', { timeoutMs: 10_000 }).then(() => (done = true));
      await clock.advanceAsync(1000);
      expect(done).to.equal(false);
      c.state = 'running';
      await clock.advanceAsync(250);
      await p;
      expect(done).to.equal(true);
    });

    it('healthy: waits through starting, rejects Unhealthy', async () => {
      const { engine, clock, actions } = setup();
      const c = engine.add({ id: 'a', name: 'web', health: 'starting' });
      const p = actions.waitFor('web', 'healthy', { timeoutMs: 10_000 });
      p.catch(() => {});
      await clock.advanceAsync(500);
      c.health = 'unhealthy';
      await clock.advanceAsync(250);
      const err = await rejection(p);
      expect(err.code).to.equal('Unhealthy');
      expect(err.message).to.contain('unhealthy');
    });

    it('healthy: a container without healthcheck is healthy when running', async () => {
      const { engine, actions } = setup();
      engine.add({ id: 'a', name: 'web' });
      await actions.waitFor('web', 'healthy', { timeoutMs: 1000 });
    });

    it('stable: needs stableMs of unchanged running, restarting the window on a restart', async () => {
      const { engine, clock, actions } = setup();
      const c = engine.add({ id: 'a', name: 'web', health: 'healthy' });
      let doneAt: number | undefined;
      const start = clock.now();
      const p = actions
        .waitFor('web', 'stable', { timeoutMs: 60_000, stableMs: 5_000 })
        .then(() => (doneAt = clock.now() - start));
      await clock.advanceAsync(3_000);
      c.restartCount = 1; // crashed and restarted by its restart policy
      c.startedAt = '2026-01-01T00:00:03Z';
      await clock.advanceAsync(4_000);
      expect(doneAt).to.equal(undefined);
      await clock.advanceAsync(2_000);
      await p;
      // The poll at 3000 ms ran before the restart; the next one (3250 ms) saw it and restarted the window.
      expect(doneAt).to.equal(3_250 + 5_000);
    });

    it('times out naming the last observed state', async () => {
      const { engine, clock, actions } = setup();
      engine.add({ id: 'a', name: 'web', state: 'exited' });
      const p = actions.waitFor('web', 'running', { timeoutMs: 2_000 });
      p.catch(() => {});
      await clock.advanceAsync(2_000);
      const err = await rejection(p);
      expect(err.code).to.equal('Timeout');
      expect(err.message).to.contain('last state: exited');
    });

    it('rejects NotFound when the container is gone', async () => {
      const { actions } = setup();
      const err = await rejection(actions.waitFor('ghost', 'stable', { timeoutMs: 1000 }));
      expect(err.code).to.equal('NotFound');
    });
  });
});
