import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ActionError } from '@dockop/docker';
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
    const calls: string[] = [];
    const actions = {
      start: async (id: string) => {
        calls.push(id);
        if (id === 'g') throw new ActionError('NotFound', id, 'no such container');
        if (id === 'b') throw new ActionError('Failed', id, 'port already allocated');
      },
    };
    const r = await repairQuiesceJournal({ stateDir: dir, actions });
    expect(calls).to.deep.equal(['d', 'b', 'g', 'w']);
    expect(r).to.deep.equal({
      status: 'partial',
      started: ['db', 'web'],
      failed: [{ name: 'broken', error: 'port already allocated' }],
    });
    expect((await readJournal(dir))?.containers).to.deep.equal([{ id: 'b', name: 'broken' }]);
    // Next time it starts: the journal goes away.
    const r2 = await repairQuiesceJournal({ stateDir: dir, actions: { start: async () => {} } });
    expect(r2.status).to.equal('repaired');
    expect(existsSync(journalPath(dir))).to.equal(false);
  });

  it("repair leaves a live run's journal alone and is a no-op without a journal", async () => {
    expect(
      (
        await repairQuiesceJournal({
          stateDir: dir,
          actions: { start: async () => expect.fail('no journal') },
        })
      ).status,
    ).to.equal('none');
    await writeJournal({ containers: [{ id: 'x', name: 'x' }] });
    const r = await repairQuiesceJournal({
      stateDir: dir,
      actions: { start: async () => expect.fail('owner alive') },
    });
    expect(r.status).to.equal('busy');
    expect(existsSync(journalPath(dir))).to.equal(true);
  });

  it('an abandoned journal (daemon could not start some) is repaired although its owner lives', async () => {
    const j = await QuiesceJournal.create(dir, [{ id: 'a', name: 'a' }]);
    await j.abandon([{ id: 'a', name: 'a' }]);
    const started: string[] = [];
    const r = await repairQuiesceJournal({
      stateDir: dir,
      actions: { start: async (id: string) => void started.push(id) },
    });
    expect(r.status).to.equal('repaired');
    expect(started).to.deep.equal(['a']);
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
