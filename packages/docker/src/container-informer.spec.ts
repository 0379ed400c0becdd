import { expect } from 'chai';
import { VirtualClock, type Logger } from '@dockop/runtime';
import {
  ContainerInformer,
  QUIET_RELIST_PERIODS,
  type ContainerInformerOptions,
  type ResyncReason,
} from './container-informer.js';
import type { ObservedContainer } from './container-resource.js';
import { DockerLivenessCheck, DockerReadinessCheck } from './docker-health.js';
import { DockerSource } from './docker-source.js';
import { clearEarlyList, placeEarlyList } from './test-support/early-list.js';
import { FakeEngine, settle } from './test-support/fake-docker.js';

interface Harness {
  engine: FakeEngine;
  clock: VirtualClock;
  informer: ContainerInformer;
  log: string[];
  controller: AbortController;
  started: Promise<void>;
}

function harness(
  options: ContainerInformerOptions & { logger?: Logger } = {},
  setup?: (e: FakeEngine) => void,
): Harness {
  const engine = new FakeEngine();
  setup?.(engine);
  const clock = new VirtualClock();
  const log: string[] = [];
  const informer = new ContainerInformer(
    engine.client(),
    {
      upsert: (c: ObservedContainer, prev) =>
        void log.push(`${prev ? 'update' : 'add'} ${c.status.name} ${c.status.state}`),
      delete: (c) => void log.push(`delete ${c.status.name}`),
      synced: (reason: ResyncReason) => void log.push(`synced ${reason}`),
    },
    { random: () => 0.5, ...options, clock },
  );
  const controller = new AbortController();
  const started = informer.start(controller.signal);
  started.catch(() => {});
  return { engine, clock, informer, log, controller, started };
}

describe('ContainerInformer', () => {
  let h: Harness;
  afterEach(() => h?.controller.abort());

  it('opens the events stream before listing, then delivers the list and syncs', async () => {
    h = harness({}, (e) => {
      e.add({ id: 'a', name: 'web' });
      e.add({ id: 'b', name: 'db', state: 'exited' });
    });
    await h.started;
    expect(h.engine.calls).to.deep.equal(['events', 'list {}']);
    expect(h.log).to.deep.equal(['add web running', 'add db exited', 'synced initial']);
    expect(h.informer.hasSynced()).to.equal(true);
    expect(h.informer.connected).to.equal(true);
  });

  it('refreshes the containers of pending events with one id-filtered list per batch, never a relist or an inspect', async () => {
    h = harness();
    await h.started;
    const before = h.engine.calls.length;
    h.engine.add({ id: 'c1', name: 'one' });
    h.engine.add({ id: 'c2', name: 'two' });
    h.engine.add({ id: 'c3', name: 'three' });
    h.engine.emit('create', 'c1');
    h.engine.emit('create', 'c2');
    h.engine.emit('start', 'c3');
    await settle();
    // The first event starts a refresh at once; the two that came meanwhile share the next one.
    expect(h.engine.calls.slice(before)).to.deep.equal([
      'list {"id":["c1"]}',
      'list {"id":["c2","c3"]}',
    ]);
    expect(h.log.slice(-3)).to.deep.equal([
      'add one running',
      'add two running',
      'add three running',
    ]);
  });

  it('stops cleanly with events still pending (no microtask spin after abort)', async () => {
    h = harness();
    await h.started;
    h.engine.add({ id: 'c1', name: 'one' });
    h.engine.add({ id: 'c2', name: 'two' });
    h.engine.emit('create', 'c1');
    h.engine.emit('create', 'c2');
    h.controller.abort();
    // A spinning microtask loop would starve the macrotask queue: this would never resolve.
    await new Promise((r) => setTimeout(r, 20));
    await settle();
  });

  it('coalesces a burst of events of one container', async () => {
    h = harness();
    await h.started;
    h.engine.add({ id: 'c1', name: 'one' });
    for (const a of ['create', 'start', 'health_status: healthy', 'die', 'start'])
      h.engine.emit(a, 'c1');
    await settle();
    // The first event's refresh, then one for the other four (die: an inspect).
    expect(h.engine.count('list {"id":["c1"]}') + h.engine.count('inspect')).to.be.at.most(2);
    expect(h.engine.count('list {}')).to.equal(1);
  });

  it('refreshes after die and health_status by inspect (Docker 20.10 lists still say running right after die)', async () => {
    h = harness({}, (e) => e.add({ id: 'a', name: 'web' }));
    await h.started;
    const before = h.engine.calls.length;
    const a = h.engine.containers.get('a');
    if (a) a.state = 'exited';
    h.engine.emit('die', 'a');
    await settle();
    h.engine.emit('health_status: healthy', 'a');
    await settle();
    expect(h.engine.calls.slice(before)).to.deep.equal(['inspect a', 'inspect a']);
    expect(h.log.at(-1)).to.equal('update web exited');
  });

  it('a batch of 120 starts is refreshed by a few lists of at most 50 ids, with the list filters', async () => {
    h = harness({ listFilters: [{ label: ['x.enable'] }] });
    await h.started;
    const before = h.engine.calls.length;
    for (let i = 0; i < 120; i++) {
      h.engine.add({ id: `c${i}`, name: `n${i}`, labels: { 'x.enable': 'true' } });
      h.engine.emit('start', `c${i}`);
    }
    await settle();
    const calls = h.engine.calls.slice(before);
    expect(calls.length).to.be.within(3, 4);
    for (const c of calls) {
      const filters = JSON.parse(c.slice('list '.length)) as { id: string[]; label: string[] };
      expect(filters.label).to.deep.equal(['x.enable']);
      expect(filters.id.length).to.be.within(1, 50);
    }
    expect(h.log.filter((l) => l.startsWith('add n'))).to.have.length(120);
  });

  it('a container the id-filtered list does not return is deleted (gone before the refresh)', async () => {
    h = harness({}, (e) => e.add({ id: 'a', name: 'web' }));
    await h.started;
    h.engine.containers.delete('a');
    h.engine.emit('die', 'a'); // destroy event not seen yet
    await settle();
    expect(h.log.at(-1)).to.equal('delete web');
  });

  it('keeps a stopped container and deletes a destroyed one without an API call', async () => {
    h = harness({}, (e) => e.add({ id: 'a', name: 'web' }));
    await h.started;
    const a = h.engine.containers.get('a');
    if (a) a.state = 'exited';
    h.engine.emit('die', 'a');
    await settle();
    expect(h.log.at(-1)).to.equal('update web exited');
    h.engine.containers.delete('a');
    const inspects = h.engine.count('inspect');
    h.engine.emit('destroy', 'a');
    await settle();
    expect(h.log.at(-1)).to.equal('delete web');
    expect(h.engine.count('inspect')).to.equal(inspects);
  });

  it('ignores events of containers it does not select, without inspecting them', async () => {
    h = harness({ selects: (l) => l['x.enable'] === 'true' });
    await h.started;
    h.engine.add({ id: 'n', name: 'nope', labels: { other: '1' } });
    h.engine.emit('start', 'n');
    h.engine.add({ id: 'y', name: 'yes', labels: { 'x.enable': 'true' } });
    h.engine.emit('start', 'y');
    await settle();
    expect(h.engine.calls.filter((c) => c.includes('"id"'))).to.deep.equal(['list {"id":["y"]}']);
  });

  it('hostChanges / changedSince: events of any container (selected or not), the ids since a revision; unknown while down and across a reconnect', async () => {
    h = harness({ selects: (l) => l['x.enable'] === 'true' });
    await h.started;
    const r0 = h.informer.hostChanges()!.revision;
    h.engine.add({ id: 'n', name: 'nope', labels: { other: '1' } });
    h.engine.emit('start', 'n');
    await settle();
    expect(h.informer.hostChanges()!.revision).to.be.greaterThan(r0);
    expect(h.informer.changedSince(r0)).to.deep.equal(['n']);
    h.engine.emit('die', 'n');
    h.engine.emit('destroy', 'm');
    await settle();
    expect(h.informer.changedSince(r0)).to.deep.equal(['n', 'm']);
    const r1 = h.informer.hostChanges()!.revision;
    expect(h.informer.changedSince(r1)).to.deep.equal([]);
    await h.clock.advanceAsync(120_000); // periodic relists alone are no change
    expect(h.informer.hostChanges()!.revision).to.equal(r1);
    h.engine.stop();
    await settle();
    expect(h.informer.hostChanges()).to.equal(undefined);
    h.engine.start();
    await h.clock.advanceAsync(30_000);
    await settle();
    expect(h.informer.hostChanges()!.revision).to.be.greaterThan(r1);
    // Events may have been missed while down: not known, list everything.
    expect(h.informer.changedSince(r1)).to.equal(undefined);
    const polling = harness({ watchEvents: false });
    await polling.started;
    expect(polling.informer.hostChanges()).to.equal(undefined);
    polling.controller.abort();
  });

  it('survives garbage on the stream', async () => {
    h = harness();
    await h.started;
    h.engine.add({ id: 'c1', name: 'one' });
    h.engine.write('{"garbage\nnot json\n');
    h.engine.emit('start', 'c1');
    await settle();
    expect(h.log.at(-1)).to.equal('add one running');
    expect(h.informer.connected).to.equal(true);
  });

  it('prefetch() does nothing with the events stream: the stream opens before the list', async () => {
    const engine = new FakeEngine();
    const informer = new ContainerInformer(
      engine.client(),
      { upsert: () => undefined, delete: () => undefined },
      { clock: new VirtualClock() },
    );
    informer.prefetch();
    await settle();
    expect(engine.calls).to.deep.equal([]);
  });

  it('one list per distinct filter, merged; an unfiltered list makes the others redundant', async () => {
    h = harness(
      { listFilters: [{ label: ['a.enable'] }, { label: ['b.enable'] }, { label: ['a.enable'] }] },
      (e) => {
        e.add({ id: '1', name: 'both', labels: { 'a.enable': 'true', 'b.enable': 'true' } });
        e.add({ id: '2', name: 'b-only', labels: { 'b.enable': 'true' } });
        e.add({ id: '3', name: 'none' });
      },
    );
    await h.started;
    expect(h.engine.calls).to.deep.equal([
      'events',
      'list {"label":["a.enable"]}',
      'list {"label":["b.enable"]}',
    ]);
    expect(h.log).to.deep.equal(['add both running', 'add b-only running', 'synced initial']);
    const h2 = harness({ listFilters: [{ label: ['a.enable'] }, {}] });
    await h2.started;
    expect(h2.engine.calls).to.deep.equal(['events', 'list {}']);
    h2.controller.abort();
  });

  it('reconnects after the stream ends, relists and deletes what vanished meanwhile', async () => {
    h = harness({}, (e) => {
      e.add({ id: 'a', name: 'stays' });
      e.add({ id: 'b', name: 'goes' });
    });
    await h.started;
    h.engine.stop();
    await settle();
    expect(h.informer.connected).to.equal(false);
    h.engine.containers.delete('b');
    h.engine.add({ id: 'c', name: 'new' });
    h.engine.start();
    // Full jitter with random 0.5: the first delay is 250 ms.
    await h.clock.advanceAsync(249);
    expect(h.engine.count('events')).to.equal(1);
    await h.clock.advanceAsync(1);
    await settle();
    expect(h.engine.calls.slice(-2)).to.deep.equal(['events', 'list {}']);
    expect(h.informer.connected).to.equal(true);
    expect(h.log.slice(3)).to.deep.equal(['delete goes', 'add new running', 'synced reconnect']);
  });

  it('backs off 500 ms ×2 with full jitter up to 30 s while the engine is down, never giving up', async () => {
    h = harness();
    await h.started;
    const attempts: number[] = [];
    h.engine.stop();
    await settle();
    const origin = h.clock.now();
    for (let i = 0; i < 12; i++) {
      const due = h.clock.nextDue();
      if (due === undefined) break;
      await h.clock.advanceAsync(due - h.clock.now());
      await settle();
      attempts.push(h.clock.now() - origin);
    }
    const delays = attempts.map((t, i) => t - (i === 0 ? 0 : (attempts[i - 1] ?? 0)));
    expect(delays).to.deep.equal([
      250, 500, 1000, 2000, 4000, 8000, 15000, 15000, 15000, 15000, 15000, 15000,
    ]);
    expect(h.engine.count('events')).to.equal(13);
    expect(h.informer.connected).to.equal(false);
  });

  describe('the /_ping probe while backing off (pingIntervalMs)', () => {
    /** Stops the engine and advances until a backoff of at least `atLeast` ms is under way. */
    async function downUntilBackoff(atLeast: number): Promise<number> {
      h.engine.stop();
      await settle();
      while (!(lastDelay() >= atLeast)) {
        await h.clock.advanceAsync(250);
        await settle();
      }
      return lastDelay();
    }
    const lines: { action: string; fields: Record<string, unknown> }[] = [];
    const lastDelay = (): number =>
      Number(lines.filter((l) => l.action === 'docker.stream.reconnecting').at(-1)?.fields.inMs);
    const logger: Logger = {
      error: (): void => {},
      warn: (action: string, fields: Record<string, unknown> = {}): void =>
        void lines.push({ action, fields }),
      info: (action: string, fields: Record<string, unknown> = {}): void =>
        void lines.push({ action, fields }),
      debug: (): void => {},
      child: () => logger,
    };
    beforeEach(() => (lines.length = 0));

    it('reconnects within one ping interval of the engine answering again, not after the grown backoff', async () => {
      h = harness({ pingIntervalMs: 250, logger });
      await h.started;
      const delay = await downUntilBackoff(4_000);
      expect(h.engine.count('ping')).to.be.greaterThan(0);
      h.engine.start();
      await h.clock.advanceAsync(250);
      await settle();
      expect(h.informer.connected).to.equal(true);
      // Reconnected with most of the backoff still to sleep (at most 250 ms of it had passed).
      const engineBack = lines.find((l) => l.action === 'docker.engine.back');
      expect(engineBack?.fields.skippedMs).to.be.at.least(delay - 500);
    });

    it('an engine that answers pings while its stream fails keeps the full backoff', async () => {
      h = harness({ pingIntervalMs: 250, logger });
      await h.started;
      h.engine.refuseEvents = true;
      h.engine.stop();
      h.engine.start();
      await settle();
      const origin = h.clock.now();
      const attempts: number[] = [];
      while (attempts.length < 5) {
        const events = h.engine.count('events');
        await h.clock.advanceAsync(250);
        await settle();
        if (h.engine.count('events') > events) attempts.push(h.clock.now() - origin);
      }
      expect(attempts).to.deep.equal([250, 750, 1750, 3750, 7750]);
      expect(h.engine.count('ping')).to.be.greaterThan(10);
      expect(lines.some((l) => l.action === 'docker.engine.back')).to.equal(false);
    });

    it('is off with pingIntervalMs 0: the backoff is slept out', async () => {
      h = harness({ pingIntervalMs: 0, logger });
      await h.started;
      const delay = await downUntilBackoff(4_000);
      expect(h.engine.count('ping')).to.equal(0);
      const back = h.clock.now();
      h.engine.start();
      await h.clock.advanceAsync(250);
      await settle();
      expect(h.informer.connected).to.equal(false);
      const due = h.clock.nextDue() ?? Number.NaN;
      await h.clock.advanceAsync(due - h.clock.now());
      await settle();
      expect(h.informer.connected).to.equal(true);
      // The loop above stops at most 250 ms into the backoff: the rest was slept out.
      expect(h.clock.now() - back).to.be.greaterThan(delay - 250);
    });
  });

  it('resets the backoff after 30 s connected, not before', async () => {
    h = harness();
    await h.started;
    const cycle = async (): Promise<void> => {
      h.engine.stop();
      await settle();
      h.engine.stop();
      await h.clock.advanceAsync(250 + 500 + 1000);
      h.engine.start();
      await h.clock.advanceAsync(2000);
      await settle();
    };
    await cycle();
    expect(h.informer.connected).to.equal(true);
    expect(h.informer.reconnectAttempt).to.equal(4);
    await h.clock.advanceAsync(29_999);
    expect(h.informer.reconnectAttempt).to.equal(4);
    await h.clock.advanceAsync(1);
    expect(h.informer.reconnectAttempt).to.equal(0);
  });

  it('relists on resync(), and every period after anything the stream brought; a quiet host once in QUIET_RELIST_PERIODS', async () => {
    h = harness({ resyncPeriodMs: 60_000 }, (e) => e.add({ id: 'a', name: 'web' }));
    await h.started;
    const lists = () => h.engine.calls.filter((c) => c === 'list {}').length;
    // Quiet: no event since the initial list, nothing to repair.
    h.engine.containers.delete('a'); // a destroy event that never came
    await h.clock.advanceAsync((QUIET_RELIST_PERIODS - 1) * 60_000);
    await settle();
    expect(lists()).to.equal(1);
    // Still relisted once in QUIET_RELIST_PERIODS periods: the lost delete is caught.
    await h.clock.advanceAsync(60_000);
    await settle();
    expect(lists()).to.equal(2);
    expect(h.log).to.include('delete web');
    // An event of any container (dockerd drops events only for a subscriber far behind, and then
    // this one's may be among them): the next period relists.
    h.engine.add({ id: 'x', name: 'unwatched' });
    h.engine.write('{"Type":"container","Action":"exec_start: sh","Actor":{"ID":"x"}}\n');
    await h.clock.advanceAsync(60_000);
    await settle();
    expect(lists()).to.equal(3);
    await h.clock.advanceAsync(60_000);
    await settle();
    expect(lists()).to.equal(3);
    // A line that does not parse (it may have been the event of a watched container).
    h.engine.write('{"Type":"container","Action":\n');
    await h.clock.advanceAsync(60_000);
    await settle();
    expect(lists()).to.equal(4);
    // A relist that failed (the stream still up): the next period relists.
    h.engine.up = false;
    await h.informer.resync('periodic').catch(() => undefined);
    h.engine.up = true;
    await h.clock.advanceAsync(60_000);
    await settle();
    expect(lists()).to.equal(6);
    h.engine.add({ id: 'c', name: 'manual' });
    await h.informer.resync();
    expect(h.log.slice(-2)).to.deep.equal(['add manual running', 'synced manual']);
  });

  it('a handler that failed during a relist: the next period relists (the container is retried)', async () => {
    const engine = new FakeEngine();
    engine.add({ id: 'a', name: 'web' });
    const clock = new VirtualClock();
    let fail = false;
    const added: string[] = [];
    const informer = new ContainerInformer(
      engine.client(),
      {
        upsert: (c) => {
          if (fail) throw new Error('image inspect failed');
          added.push(c.status.name);
        },
        delete: () => {},
      },
      { random: () => 0.5, resyncPeriodMs: 60_000, clock },
    );
    const controller = new AbortController();
    h = {
      engine,
      clock,
      informer,
      log: [],
      controller,
      started: informer.start(controller.signal),
    };
    await h.started;
    // Found by the periodic relist (no event), but the handler fails on it.
    await clock.advanceAsync(QUIET_RELIST_PERIODS * 60_000);
    engine.add({ id: 'b', name: 'db' });
    fail = true;
    await informer.resync('periodic');
    fail = false;
    await clock.advanceAsync(60_000);
    await settle();
    expect(added).to.deep.equal(['web', 'db']);
  });

  it('does not report an unchanged container again on relist', async () => {
    h = harness({}, (e) => e.add({ id: 'a', name: 'web', health: 'healthy' }));
    await h.started;
    // The event path (inspect) and the list path must agree on what "unchanged" is.
    h.engine.emit('health_status: healthy', 'a');
    await settle();
    await h.informer.resync();
    expect(h.log).to.deep.equal(['add web running', 'synced initial', 'synced manual']);
  });

  it('retries the initial connection until the engine answers; start resolves only then', async () => {
    h = harness({}, (e) => {
      e.up = false;
      e.add({ id: 'a', name: 'web' });
    });
    let resolved = false;
    void h.started.then(() => (resolved = true));
    await h.clock.advanceAsync(250 + 500);
    await settle();
    expect(resolved).to.equal(false);
    expect(h.engine.count('events')).to.equal(3);
    h.engine.start();
    await h.clock.advanceAsync(1000);
    await settle();
    expect(resolved).to.equal(true);
    expect(h.log).to.deep.equal(['add web running', 'synced initial']);
  });

  it('retries a container whose handler failed on the next relist', async () => {
    const engine = new FakeEngine();
    engine.add({ id: 'a', name: 'web' });
    const clock = new VirtualClock();
    let fail = true;
    const seen: string[] = [];
    const informer = new ContainerInformer(
      engine.client(),
      {
        upsert: (c) => {
          if (fail) throw new Error('image inspect failed');
          seen.push(c.status.name);
        },
        delete: () => {},
      },
      { clock },
    );
    const ac = new AbortController();
    await informer.start(ac.signal);
    expect(informer.get('a')).to.equal(undefined);
    fail = false;
    await informer.resync();
    expect(seen).to.deep.equal(['web']);
    ac.abort();
  });

  describe('without watchEvents (polling)', () => {
    it('opens no events stream; lists at start and every resync period, synthesising deletes', async () => {
      h = harness({ watchEvents: false, resyncPeriodMs: 30_000 }, (e) => {
        e.add({ id: 'a', name: 'web' });
        e.add({ id: 'b', name: 'db' });
      });
      await h.started;
      expect(h.engine.calls).to.deep.equal(['list {}']);
      expect(h.log).to.deep.equal(['add web running', 'add db running', 'synced initial']);
      expect(h.informer.hasSynced()).to.equal(true);
      expect(h.informer.connected).to.equal(true);
      expect(h.informer.watchEvents).to.equal(false);
      h.engine.containers.delete('a');
      const db = h.engine.containers.get('b');
      if (db) db.state = 'exited';
      h.engine.add({ id: 'c', name: 'late' });
      h.engine.emit('destroy', 'a'); // nobody listens
      await h.clock.advanceAsync(29_999);
      await settle();
      expect(h.engine.calls).to.deep.equal(['list {}']);
      await h.clock.advanceAsync(1);
      await settle();
      expect(h.engine.calls).to.deep.equal(['list {}', 'list {}']);
      expect(h.log.slice(3)).to.deep.equal([
        'delete web',
        'update db exited',
        'add late running',
        'synced periodic',
      ]);
      await h.clock.advanceAsync(30_000);
      await settle();
      expect(h.engine.calls).to.deep.equal(['list {}', 'list {}', 'list {}']);
      expect(h.engine.count('events')).to.equal(0);
      expect(h.engine.count('inspect')).to.equal(0);
    });

    it('is connected while the last relist succeeded; retries a failed one with backoff, capped at the period', async () => {
      h = harness({ watchEvents: false, resyncPeriodMs: 3_000 }, (e) =>
        e.add({ id: 'a', name: 'web' }),
      );
      await h.started;
      expect(h.informer.disconnectedSince).to.equal(undefined);
      h.engine.up = false;
      await h.clock.advanceAsync(3_000);
      await settle();
      const lostAt = h.clock.now();
      expect(h.informer.connected).to.equal(false);
      expect(h.informer.disconnectedSince).to.equal(lostAt);
      expect(h.informer.hasSynced()).to.equal(true);
      const failedAt: number[] = [];
      for (let i = 0; i < 4; i++) {
        await h.clock.advanceAsync((h.clock.nextDue() ?? 0) - h.clock.now());
        await settle();
        failedAt.push(h.clock.now() - lostAt);
      }
      // Full jitter with random 0.5 (250, 500, 1000, 2000), capped at the 3000 ms period.
      expect(failedAt).to.deep.equal([250, 750, 1750, 3750]);
      expect(h.engine.count('list')).to.equal(6);
      expect(h.informer.disconnectedSince).to.equal(lostAt);
      h.engine.up = true;
      await h.clock.advanceAsync((h.clock.nextDue() ?? 0) - h.clock.now());
      await settle();
      expect(h.informer.connected).to.equal(true);
      expect(h.informer.reconnectAttempt).to.equal(0);
      // Back to the period.
      const lists = h.engine.count('list');
      await h.clock.advanceAsync(2_999);
      await settle();
      expect(h.engine.count('list')).to.equal(lists);
      await h.clock.advanceAsync(1);
      await settle();
      expect(h.engine.count('list')).to.equal(lists + 1);
    });

    it('prefetch(): the initial relist delivers the list begun before start, and lists no second time', async () => {
      const engine = new FakeEngine();
      engine.add({ id: 'a', name: 'web' });
      const log: string[] = [];
      const informer = new ContainerInformer(
        engine.client(),
        {
          upsert: (c: ObservedContainer) => void log.push(`add ${c.status.name}`),
          delete: (c) => void log.push(`delete ${c.status.name}`),
        },
        { watchEvents: false, resyncPeriodMs: 30_000, clock: new VirtualClock() },
      );
      informer.prefetch();
      informer.prefetch(); // idempotent
      expect(engine.calls).to.deep.equal(['list {}']);
      engine.add({ id: 'b', name: 'late' }); // after the prefetched answer: not in this list
      const controller = new AbortController();
      try {
        await informer.start(controller.signal);
        expect(engine.calls).to.deep.equal(['list {}']);
        expect(log).to.deep.equal(['add web']);
      } finally {
        controller.abort();
      }
    });

    it('prefetch(): a failed prefetched list is retried by the initial relist like any other', async () => {
      const engine = new FakeEngine();
      engine.add({ id: 'a', name: 'web' });
      engine.up = false;
      const clock = new VirtualClock();
      const informer = new ContainerInformer(
        engine.client(),
        { upsert: () => undefined, delete: () => undefined },
        { watchEvents: false, random: () => 0.5, clock },
      );
      informer.prefetch();
      await settle();
      engine.up = true;
      const controller = new AbortController();
      try {
        const started = informer.start(controller.signal);
        await settle();
        await clock.advanceAsync(250);
        await settle();
        await started;
        expect(engine.count('list')).to.equal(2);
        expect(informer.list().map((c) => c.status.name)).to.deep.equal(['web']);
      } finally {
        controller.abort();
      }
    });

    describe("prefetch() and the launcher's early list", () => {
      const filters = { label: ['backrest.enable', 'stack=a'] };
      afterEach(clearEarlyList);

      /** A polling informer on a unix socket (as dockerode's modem reports it), listing `filters`. */
      function pollingOn(engine: FakeEngine, log: string[], socketPath = '/run/docker.sock') {
        const client = engine.client();
        (client.api as unknown as { modem: object }).modem = { socketPath };
        return new ContainerInformer(
          client,
          {
            upsert: (c: ObservedContainer) => void log.push(`add ${c.status.name}`),
            delete: (c) => void log.push(`delete ${c.status.name}`),
          },
          {
            watchEvents: false,
            listFilters: [filters],
            random: () => 0.5,
            clock: new VirtualClock(),
          },
        );
      }

      async function startAndStop(informer: ContainerInformer): Promise<void> {
        const controller = new AbortController();
        try {
          await informer.start(controller.signal);
        } finally {
          controller.abort();
        }
      }

      it('takes the early list of the same socket and filters instead of listing', async () => {
        const engine = new FakeEngine();
        engine.add({ id: 'a', name: 'web', labels: { 'backrest.enable': 'true', stack: 'a' } });
        const log: string[] = [];
        const informer = pollingOn(engine, log);
        const early = placeEarlyList(
          '/run/docker.sock',
          filters,
          Promise.resolve(await engine.client().api.listContainers({ all: true, filters })),
        );
        engine.calls.length = 0;
        informer.prefetch();
        await startAndStop(informer);
        expect(engine.calls, 'no list of its own').to.deep.equal([]);
        expect(early).to.deep.equal(['ref']);
        expect(log).to.deep.equal(['add web']);
      });

      it('lists itself when the early list fails, or was asked of another socket', async () => {
        for (const [socket, answer] of [
          ['/run/docker.sock', Promise.reject(new Error('the engine answered 500'))],
          ['/other.sock', Promise.resolve([])],
        ] as const) {
          const engine = new FakeEngine();
          engine.add({ id: 'a', name: 'web', labels: { 'backrest.enable': 'true', stack: 'a' } });
          const log: string[] = [];
          const informer = pollingOn(engine, log);
          const early = placeEarlyList(socket, filters, answer);
          informer.prefetch();
          await startAndStop(informer);
          expect(engine.count('list'), socket).to.equal(1);
          expect(early, socket).to.deep.equal(socket === '/other.sock' ? ['abandon'] : ['ref']);
          expect(log, socket).to.deep.equal(['add web']);
        }
      });

      it('closes the early list, and lists nothing itself, when the prefetch is abandoned', async () => {
        const engine = new FakeEngine();
        const informer = pollingOn(engine, []);
        let fail: (err: Error) => void = () => undefined;
        const early = placeEarlyList(
          '/run/docker.sock',
          filters,
          new Promise((_, reject) => (fail = reject)),
        );
        const controller = new AbortController();
        informer.prefetch(controller.signal);
        controller.abort();
        // The launcher's request rejects once destroyed.
        fail(new Error('socket hang up'));
        await settle();
        expect(early).to.deep.equal(['ref', 'abandon']);
        expect(engine.count('list'), 'no list after the caller gave up').to.equal(0);
      });

      it('leaves the early list alone without prefetch, and never takes it for an events-stream informer', async () => {
        const engine = new FakeEngine();
        const informer = pollingOn(engine, []);
        const early = placeEarlyList('/run/docker.sock', filters, Promise.resolve([]));
        // A repair must run before the list: no prefetch, and the initial relist lists itself.
        await startAndStop(informer);
        expect(engine.count('list')).to.equal(1);
        expect(early).to.deep.equal([]);
        h = harness({ listFilters: [filters] });
        h.informer.prefetch();
        await h.started;
        expect(early, 'still untaken').to.deep.equal([]);
      });
    });

    it('start() waits for the first successful list', async () => {
      h = harness({ watchEvents: false }, (e) => {
        e.up = false;
        e.add({ id: 'a', name: 'web' });
      });
      let resolved = false;
      void h.started.then(() => (resolved = true));
      await h.clock.advanceAsync(250 + 500);
      await settle();
      expect(resolved).to.equal(false);
      expect(h.informer.hasSynced()).to.equal(false);
      h.engine.up = true;
      await h.clock.advanceAsync(1000);
      await settle();
      expect(resolved).to.equal(true);
      expect(h.log).to.deep.equal(['add web running', 'synced initial']);
      expect(h.engine.count('events')).to.equal(0);
    });

    it('drives DockerSource readiness and liveness: synced and the last relist succeeded', async () => {
      const engine = new FakeEngine();
      engine.add({ id: 'a', name: 'web' });
      const clock = new VirtualClock();
      const source = new DockerSource(engine.client(), [], clock, undefined, undefined, undefined, {
        resyncPeriodMs: 10_000,
        livenessGraceMs: 60_000,
        reconnect: { initialMs: 500, factor: 2, maxMs: 30_000, resetAfterMs: 30_000 },
        watchEvents: false,
      });
      const ready = new DockerReadinessCheck(source);
      const live = new DockerLivenessCheck(source);
      expect(ready.check()).to.equal(false);
      const ac = new AbortController();
      const sink = { upsert() {}, delete() {}, replace() {}, reject() {} };
      await source.start(sink, ac.signal);
      try {
        expect(ready.check()).to.be.a('string');
        expect(live.check()).to.be.a('string');
        engine.up = false;
        await clock.advanceAsync(10_000);
        await settle();
        expect(ready.check()).to.equal(false);
        expect(live.check()).to.be.a('string'); // within the liveness grace
        await clock.advanceAsync(60_000);
        await settle();
        expect(live.check()).to.equal(false);
        engine.up = true;
        await clock.advanceAsync(10_000);
        await settle();
        expect(ready.check()).to.be.a('string');
        expect(engine.count('events')).to.equal(0);
      } finally {
        ac.abort();
      }
    });
  });
});
