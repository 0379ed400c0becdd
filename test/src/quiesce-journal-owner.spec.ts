// A journal's owner that ran in another container (the sidecar before compose recreated it, with
// another hostname and the same pid 1) is judged by that container's state, not by its heartbeat
// or a pid that means nothing here: gone, stopped or restarted since → dead → repaired at once.
import type Docker from 'dockerode';
import { expect } from 'chai';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  bootId,
  journalPath,
  repairQuiesceJournal,
  type QuiesceJournalData,
} from '@backrest-sidecar/controller-backup';
import { DockerContainerActions, DockerodeClient, createContainer } from '@dockop/docker';
import { WORKLOAD_IMAGE, removeLabeled, requireEngine, runId } from './support/engine.js';

describe('quiesce journal from a recreated sidecar (integration)', function () {
  this.timeout(60_000);
  let docker: Docker;
  let actions: DockerContainerActions;
  const run = runId();
  const label = `dockop.test.run=journal-owner-${run}`;
  const dirs: string[] = [];

  before(async function () {
    docker = await requireEngine(this);
    actions = new DockerContainerActions(new DockerodeClient());
  });

  after(async function () {
    if (docker) await removeLabeled(docker, label);
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  async function container(name: string, running: boolean): Promise<Docker.Container> {
    const c = await createContainer(docker, {
      name: `journal-owner-${run}-${name}`,
      Image: WORKLOAD_IMAGE,
      Cmd: ['sleep', '3600'],
      Labels: { 'dockop.test.run': `journal-owner-${run}` },
      HostConfig: { NetworkMode: 'none' },
    });
    await c.start();
    if (!running) await c.stop({ t: 0 });
    return c;
  }

  /** A journal written moments ago (fresh heartbeat) by pid 1 of container `ownerId`. */
  async function journal(ownerId: string, workload: { id: string; name: string }): Promise<string> {
    const stateDir = await mkdtemp(path.join(tmpdir(), 'journal-owner-'));
    dirs.push(stateDir);
    const data: QuiesceJournalData = {
      version: 1,
      owner: {
        pid: 1,
        hostname: ownerId.slice(0, 12),
        startTime: '42',
        bootId: bootId(),
        containerId: ownerId,
      },
      createdAt: new Date().toISOString(),
      containers: [workload],
    };
    await writeFile(journalPath(stateDir), JSON.stringify(data));
    return stateDir;
  }

  const running = async (c: Docker.Container): Promise<boolean> =>
    (await c.inspect()).State.Running;

  it('owner container removed (compose recreated the sidecar): repaired at once, despite a fresh heartbeat', async () => {
    const old = await container('old-sidecar', true);
    const oldId = old.id;
    await old.remove({ force: true });
    const db = await container('db-gone-owner', false);
    const stateDir = await journal(oldId, { id: db.id, name: 'db' });
    const result = await repairQuiesceJournal({ stateDir, actions });
    expect(result.status).to.equal('repaired');
    expect(await running(db)).to.equal(true);
    expect(existsSync(journalPath(stateDir))).to.equal(false);
  });

  it('owner container restarted after writing the journal: its writer is gone, repaired', async () => {
    const sidecar = await container('restarted-sidecar', true);
    const db = await container('db-restarted-owner', false);
    const stateDir = await journal(sidecar.id, { id: db.id, name: 'db' });
    await new Promise((r) => setTimeout(r, 1100));
    await sidecar.restart({ t: 0 });
    const result = await repairQuiesceJournal({ stateDir, actions });
    expect(result.status).to.equal('repaired');
    expect(await running(db)).to.equal(true);
  });

  it('owner container still running since before the journal: busy, left alone', async () => {
    const sidecar = await container('live-sidecar', true);
    await new Promise((r) => setTimeout(r, 1100));
    const db = await container('db-live-owner', false);
    const stateDir = await journal(sidecar.id, { id: db.id, name: 'db' });
    const result = await repairQuiesceJournal({ stateDir, actions });
    expect(result.status).to.equal('busy');
    expect(await running(db)).to.equal(false);
    expect(existsSync(journalPath(stateDir))).to.equal(true);
  });
});
