// Every mode repairs a crashed backup-once: containers it journaled as stopped are started again
// by the next `reconcile` or `daemon`, not only by the next backup-once/forget.
import type Docker from 'dockerode';
import { expect } from 'chai';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import {
  ONE_SHOT_LABEL,
  RUN_LABEL,
  journalPath,
  selfOwner,
  type QuiesceJournalData,
} from '@backrest-sidecar/controller-backup';
import { WORKLOAD_IMAGE, removeLabeled, requireEngine, runId } from './support/engine.js';
import { isolate, runCli, tempConfig } from './support/plan-cli.js';
import { createContainer } from '@dockop/docker';

describe('reconcile repairs a crashed backup-once (integration)', function () {
  this.timeout(60_000);
  let docker: Docker;
  const run = runId();
  const dirs: string[] = [];

  before(async function () {
    docker = await requireEngine(this);
  });

  after(async function () {
    if (docker) await removeLabeled(docker, `dockop.test.run=${run}`);
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  async function stoppedWorkload(name: string): Promise<string> {
    const c = await createContainer(docker, {
      name,
      Image: WORKLOAD_IMAGE,
      Cmd: ['sleep', '3600'],
      Labels: { 'dockop.test.run': run },
      HostConfig: { NetworkMode: 'none' },
    });
    await c.start();
    await c.stop({ t: 0 });
    return c.id;
  }

  /** A journal as a backup-once that died with kill -9 leaves it: its owner pid is gone. */
  async function deadRunJournal(
    containers: { id: string; name: string }[],
    runId?: string,
  ): Promise<string> {
    const stateDir = await mkdtemp(path.join(tmpdir(), 'repair-it-'));
    dirs.push(stateDir);
    const data: QuiesceJournalData = {
      version: 1,
      owner: { pid: 2 ** 22 + 1, hostname: hostname(), startTime: '1' },
      createdAt: new Date().toISOString(),
      containers,
      ...(runId ? { runId } : {}),
    };
    await writeFile(journalPath(stateDir), JSON.stringify(data));
    return stateDir;
  }

  async function running(name: string): Promise<boolean> {
    return (await docker.getContainer(name).inspect()).State.Running;
  }

  it('reconcile --dry-run starts the journaled containers and removes the journal', async () => {
    const db = `repair-db-${run}`;
    const web = `repair-web-${run}`;
    const ids = [await stoppedWorkload(web), await stoppedWorkload(db)];
    const stateDir = await deadRunJournal([
      { id: ids[0]!, name: web },
      { id: ids[1]!, name: db },
    ]);
    const config = await tempConfig();
    dirs.push(config.dir);
    expect(await running(db)).to.equal(false);

    const r = await runCli([
      'reconcile',
      '--dry-run',
      '--config',
      config.path,
      '--state-dir',
      stateDir,
      ...isolate(run),
    ]);
    expect(r.code, r.stderr).to.equal(2);
    expect(r.logs.some((l) => l.action === 'quiesce.repairing')).to.equal(true);
    expect(await running(db)).to.equal(true);
    expect(await running(web)).to.equal(true);
    expect(existsSync(journalPath(stateDir))).to.equal(false);
  });

  /** A running container labeled as a one-shot of backup-once run `runId`. */
  async function runningOneShot(runId: string): Promise<string> {
    const c = await createContainer(docker, {
      Image: WORKLOAD_IMAGE,
      Cmd: ['sleep', '3600'],
      Labels: { 'dockop.test.run': run, [ONE_SHOT_LABEL]: 'true', [RUN_LABEL]: runId },
      HostConfig: { NetworkMode: 'none' },
    });
    await c.start();
    return c.id;
  }

  async function exists(id: string): Promise<boolean> {
    return (await docker.listContainers({ all: true, filters: { id: [id] } })).length > 0;
  }

  it("reconcile kills and removes the dead run's one-shots (its run id only) and starts its containers", async () => {
    const name = `repair-orphan-db-${run}`;
    const id = await stoppedWorkload(name);
    const deadRun = `dead-${run.replace(/[^A-Za-z0-9]/g, '')}`;
    const orphan = await runningOneShot(deadRun);
    const unrelated = await runningOneShot(`${deadRun}-other`);
    const stateDir = await deadRunJournal([{ id, name }], deadRun);
    const config = await tempConfig();
    dirs.push(config.dir);

    const r = await runCli([
      'reconcile',
      '--dry-run',
      '--config',
      config.path,
      '--state-dir',
      stateDir,
      ...isolate(run),
    ]);
    expect(r.code, r.stderr).to.equal(2);
    const removed = r.logs.find((l) => l.action === 'quiesce.removed_orphans');
    expect(removed?.['containers'], JSON.stringify(r.logs)).to.deep.equal([orphan]);
    expect(await exists(orphan)).to.equal(false);
    expect(await running(name)).to.equal(true);
    expect(await exists(unrelated)).to.equal(true);
    expect(existsSync(journalPath(stateDir))).to.equal(false);
  });

  it('leaves a journal alone while the run that wrote it is alive', async () => {
    const name = `repair-live-${run}`;
    const id = await stoppedWorkload(name);
    const liveRun = `live-${run.replace(/[^A-Za-z0-9]/g, '')}`;
    const liveOneShot = await runningOneShot(liveRun);
    const stateDir = await deadRunJournal([{ id, name }]);
    // Rewrite the owner as this (alive) test process.
    await writeFile(
      journalPath(stateDir),
      JSON.stringify({
        version: 1,
        owner: selfOwner(),
        createdAt: new Date().toISOString(),
        containers: [{ id, name }],
        runId: liveRun,
      } satisfies QuiesceJournalData),
    );
    const config = await tempConfig();
    dirs.push(config.dir);
    const r = await runCli([
      'reconcile',
      '--config',
      config.path,
      '--state-dir',
      stateDir,
      ...isolate(run),
    ]);
    expect(r.code, r.stderr).to.be.oneOf([0, 2]);
    expect(await running(name)).to.equal(false);
    // The live run's one-shot is still its own.
    expect((await docker.getContainer(liveOneShot).inspect()).State.Running).to.equal(true);
    expect(existsSync(journalPath(stateDir))).to.equal(true);
  });
});
