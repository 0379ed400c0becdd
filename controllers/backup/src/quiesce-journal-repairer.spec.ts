import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import type { ContainerActions } from '@dockop/docker';
import { journalPath, selfOwner, type QuiesceJournalData } from './quiesce-journal.js';
import { QuiesceJournalRepairer } from './quiesce-journal-repairer.js';

type Info = Awaited<ReturnType<ContainerActions['inspect']>>;

describe('QuiesceJournalRepairer (daemon, periodic)', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'journal-repairer-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  function actions(): ContainerActions & { started: string[] } {
    const started: string[] = [];
    return {
      started,
      start: async (id: string) => void started.push(id),
      inspect: async (id: string) => ({ State: { Running: started.includes(id) } }) as Info,
      removeLeftovers: async () => [],
    } as unknown as ContainerActions & { started: string[] };
  }

  async function journal(owner: QuiesceJournalData['owner']): Promise<void> {
    const data: QuiesceJournalData = {
      version: 1,
      owner,
      createdAt: new Date().toISOString(),
      containers: [{ id: 'db-id', name: 'db' }],
    };
    await writeFile(journalPath(dir), JSON.stringify(data));
  }

  it('a journal left by a backup-once that died while the daemon runs is repaired on the next tick', async () => {
    const a = actions();
    const r = new QuiesceJournalRepairer(a, { stateDir: dir, intervalMs: 60_000 });
    r.onStart();
    expect((await r.tick())?.status).to.equal('none');
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
    await journal({ pid: Number(dead.stdout.toString()), hostname: hostname(), startTime: '1' });
    const result = await r.tick();
    expect(result?.status).to.equal('repaired');
    expect(a.started).to.deep.equal(['db-id']);
    expect(existsSync(journalPath(dir))).to.equal(false);
    await r.onStop();
  });

  it("leaves a live run's journal (the daemon's own scheduled backup) alone", async () => {
    const a = actions();
    await journal(selfOwner());
    const r = new QuiesceJournalRepairer(a, { stateDir: dir });
    expect((await r.tick())?.status).to.equal('busy');
    expect(a.started).to.deep.equal([]);
    expect(existsSync(journalPath(dir))).to.equal(true);
  });
});
