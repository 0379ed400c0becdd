import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ActionError, type ContainerActions } from '@dockop/docker';
import type { Logger } from '@dockop/runtime';
import { RUN_LABEL } from './backup-options.js';
import {
  JOURNAL_STALE_MS,
  QuiesceBusyError,
  QuiesceJournal,
  journalOwnerAlive,
  journalPath,
  readJournal,
  repairQuiesceJournal,
  selfOwner,
  type QuiesceJournalData,
} from './quiesce-journal.js';

type RepairActions = Pick<ContainerActions, 'start' | 'removeLeftovers' | 'inspect'>;

/** Fake actions recording every call in order; `removeLeftovers` answers what `leftovers` holds. */
function fakeActions(
  opts: {
    start?: (id: string) => Promise<void>;
    leftovers?: Record<string, string[]>;
    removeError?: Error;
  } = {},
): RepairActions & { calls: string[] } {
  const calls: string[] = [];
  const running = new Set<string>();
  return {
    calls,
    start: async (id) => {
      calls.push(`start ${id}`);
      await opts.start?.(id);
      running.add(id);
    },
    inspect: async (id) =>
      ({ State: { Running: running.has(id) } }) as Awaited<ReturnType<ContainerActions['inspect']>>,
    removeLeftovers: async (labels, o) => {
      calls.push(`remove ${JSON.stringify(labels)} includeRunning=${String(o?.includeRunning)}`);
      if (opts.removeError) throw opts.removeError;
      const value = labels[RUN_LABEL];
      return value === undefined ? [] : (opts.leftovers?.[value] ?? []);
    },
  };
}

/** A logger keeping (level, action, fields). */
function recordingLogger(): Logger & { entries: [string, string, Record<string, unknown>][] } {
  const entries: [string, string, Record<string, unknown>][] = [];
  const at =
    (level: string) =>
    (action: string, fields: Record<string, unknown> = {}): void =>
      void entries.push([level, action, fields]);
  const logger = {
    entries,
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: () => logger,
  };
  return logger as unknown as Logger & { entries: [string, string, Record<string, unknown>][] };
}

/** A pid that certainly ran and exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(r.stdout.toString());
}

describe('quiesce journal', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'quiesce-journal-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function writeJournal(data: Partial<QuiesceJournalData>): Promise<void> {
    const full: QuiesceJournalData = {
      version: 1,
      owner: selfOwner(),
      createdAt: new Date().toISOString(),
      containers: [],
      ...data,
    };
    await writeFile(journalPath(dir), JSON.stringify(full));
  }

  it('is written (mode 0600) before anything is stopped and removed on release; a second run is refused meanwhile', async () => {
    const j = await QuiesceJournal.create(dir, [
      { id: 'a1', name: 'app' },
      { id: 'd1', name: 'db' },
    ]);
    const data = await readJournal(dir);
    expect(data?.containers.map((c) => c.name)).to.deep.equal(['app', 'db']);
    expect(data?.owner.pid).to.equal(process.pid);
    const { mode } = await import('node:fs').then((fs) => fs.statSync(journalPath(dir)));
    expect(mode & 0o777).to.equal(0o600);
    let refused: unknown;
    await QuiesceJournal.create(dir, []).catch((e: unknown) => (refused = e));
    expect(refused).to.be.instanceOf(QuiesceBusyError);
    expect((refused as Error).message).to.include(`pid ${process.pid}`);
    await j.release();
    expect(existsSync(journalPath(dir))).to.equal(false);
    expect(await readJournal(dir)).to.equal(undefined);
  });

  it('knows a live owner (this process), a dead pid, a reused pid, an abandoned journal and a silent foreign owner', async () => {
    const self = selfOwner();
    const base: QuiesceJournalData = { version: 1, owner: self, createdAt: '', containers: [] };
    await writeJournal(base);
    expect(await journalOwnerAlive(dir, base)).to.equal(true);
    expect(await journalOwnerAlive(dir, { ...base, owner: { ...self, pid: deadPid() } })).to.equal(
      false,
    );
    // Same pid, different start time: the pid was reused after the owner died.
    expect(
      await journalOwnerAlive(dir, {
        ...base,
        owner: { ...self, pid: process.ppid, startTime: '1' },
      }),
    ).to.equal(false);
    expect(await journalOwnerAlive(dir, { ...base, abandoned: true })).to.equal(false);
    const foreign = { ...base, owner: { pid: 1, hostname: 'another-container', startTime: null } };
    const mtime = Date.now();
    expect(await journalOwnerAlive(dir, foreign, mtime + 1000)).to.equal(true);
    expect(await journalOwnerAlive(dir, foreign, mtime + JOURNAL_STALE_MS + 1000)).to.equal(false);
  });

  it("repair starts a dead run's containers dependencies first, drops gone ones, keeps failures for next time", async () => {
    await writeJournal({
      owner: { ...selfOwner(), pid: deadPid() },
      containers: [
        { id: 'w', name: 'web' },
        { id: 'g', name: 'gone' },
        { id: 'b', name: 'broken' },
        { id: 'd', name: 'db' },
      ],
    });
    const actions = fakeActions({
      start: async (id: string) => {
        if (id === 'g') throw new ActionError('NotFound', id, 'no such container');
        if (id === 'b') throw new ActionError('Failed', id, 'port already allocated');
      },
    });
    const r = await repairQuiesceJournal({ stateDir: dir, actions });
    // A journal without runId (written before run ids existed) repairs as before: no removal.
    expect(actions.calls).to.deep.equal(['start d', 'start b', 'start g', 'start w']);
    expect(r).to.deep.equal({
      status: 'partial',
      started: ['db', 'web'],
      failed: [{ name: 'broken', error: 'port already allocated' }],
      removedOrphans: [],
    });
    expect((await readJournal(dir))?.containers).to.deep.equal([{ id: 'b', name: 'broken' }]);
    // Next time it starts: the journal goes away.
    const r2 = await repairQuiesceJournal({ stateDir: dir, actions: fakeActions() });
    expect(r2.status).to.equal('repaired');
    expect(existsSync(journalPath(dir))).to.equal(false);
  });

  it("repair leaves a live run's journal alone and is a no-op without a journal", async () => {
    expect(
      (
        await repairQuiesceJournal({
          stateDir: dir,
          actions: fakeActions({ start: async () => expect.fail('no journal') }),
        })
      ).status,
    ).to.equal('none');
    await writeJournal({ containers: [{ id: 'x', name: 'x' }], runId: 'live-run' });
    const actions = fakeActions({
      start: async () => expect.fail('owner alive'),
      leftovers: { 'live-run': ['busy-one-shot'] },
    });
    const r = await repairQuiesceJournal({ stateDir: dir, actions });
    expect(r.status).to.equal('busy');
    // The live run's one-shot is still working for it: not removed.
    expect(actions.calls).to.deep.equal([]);
    expect(r.removedOrphans).to.deep.equal([]);
    expect(existsSync(journalPath(dir))).to.equal(true);
  });

  it('an abandoned journal (daemon could not start some) is repaired although its owner lives', async () => {
    const j = await QuiesceJournal.create(dir, [{ id: 'a', name: 'a' }], 'daemon-run');
    expect(j.runId).to.equal('daemon-run');
    await j.abandon([{ id: 'a', name: 'a' }]);
    expect((await readJournal(dir))?.runId).to.equal('daemon-run');
    const actions = fakeActions({ leftovers: { 'daemon-run': ['its-forget'] } });
    const r = await repairQuiesceJournal({ stateDir: dir, actions });
    expect(r.status).to.equal('repaired');
    // The owner (this process) lives on: its one-shots are left to it.
    expect(actions.calls).to.deep.equal(['start a']);
    expect(r.removedOrphans).to.deep.equal([]);
  });

  it("a dead run's one-shots (its run id only, running ones too) are removed before its workloads start", async () => {
    await writeJournal({
      owner: { ...selfOwner(), pid: deadPid() },
      runId: 'dead-run',
      containers: [
        { id: 'w', name: 'web' },
        { id: 'd', name: 'db' },
      ],
    });
    const actions = fakeActions({
      leftovers: { 'dead-run': ['rcb-1', 'restic-2'], 'other-run': ['not-ours'] },
    });
    const logger = recordingLogger();
    const r = await repairQuiesceJournal({ stateDir: dir, actions, logger });
    expect(actions.calls).to.deep.equal([
      `remove {"${RUN_LABEL}":"dead-run"} includeRunning=true`,
      'start d',
      'start w',
    ]);
    expect(r).to.deep.equal({
      status: 'repaired',
      started: ['db', 'web'],
      failed: [],
      removedOrphans: ['rcb-1', 'restic-2'],
    });
    expect(logger.entries).to.deep.include([
      'info',
      'quiesce.removed_orphans',
      { runId: 'dead-run', containers: ['rcb-1', 'restic-2'] },
    ]);
    expect(existsSync(journalPath(dir))).to.equal(false);
  });

  it('a failed removal is logged and the workloads are still started', async () => {
    await writeJournal({
      owner: { ...selfOwner(), pid: deadPid() },
      runId: 'dead-run',
      containers: [{ id: 'd', name: 'db' }],
    });
    const actions = fakeActions({
      removeError: new ActionError('Timeout', 'x', 'removeLeftovers timed out'),
    });
    const logger = recordingLogger();
    const r = await repairQuiesceJournal({ stateDir: dir, actions, logger });
    expect(actions.calls).to.deep.equal([
      `remove {"${RUN_LABEL}":"dead-run"} includeRunning=true`,
      'start d',
    ]);
    expect(r.status).to.equal('repaired');
    expect(r.started).to.deep.equal(['db']);
    expect(r.removedOrphans).to.deep.equal([]);
    const failure = logger.entries.find(([, action]) => action === 'quiesce.remove_orphans_failed');
    expect(failure?.[0]).to.equal('error');
    expect(failure?.[2]).to.include({ runId: 'dead-run', error: 'removeLeftovers timed out' });
  });

  it('a hand-edited run id that is not a plain label value is refused (logged), not used as a filter', async () => {
    await writeJournal({
      owner: { ...selfOwner(), pid: deadPid() },
      runId: '',
      containers: [{ id: 'd', name: 'db' }],
    });
    const actions = fakeActions();
    const logger = recordingLogger();
    const r = await repairQuiesceJournal({ stateDir: dir, actions, logger });
    expect(actions.calls).to.deep.equal(['start d']);
    expect(r.status).to.equal('repaired');
    const failure = logger.entries.find(([, action]) => action === 'quiesce.remove_orphans_failed');
    expect(String(failure?.[2].error)).to.include(RUN_LABEL).and.include('""');
  });

  it('refuses a file that is not a journal instead of guessing', async () => {
    await writeFile(journalPath(dir), '{"version":7}');
    let err: unknown;
    await readJournal(dir).catch((e: unknown) => (err = e));
    expect((err as Error).message).to.include('is not a quiesce journal');
    await utimes(journalPath(dir), new Date(), new Date());
    expect(await readFile(journalPath(dir), 'utf8')).to.equal('{"version":7}');
  });
});
