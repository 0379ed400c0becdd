// The daemon repairs a crashed backup-once's quiesce journal periodically, not only at its own
// start: a backup-once that dies (kill -9) while the daemon runs leaves stopped containers that
// the next tick (--journal-repair-interval) starts again.
import type Docker from 'dockerode';
import { expect } from 'chai';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { journalPath, type QuiesceJournalData } from '@backrest-sidecar/controller-backup';
import { createContainer } from '@dockop/docker';
import { WORKLOAD_IMAGE, removeLabeled, requireEngine, runId } from './support/engine.js';
import { eventually, isolate, spawnDaemon, stopDaemon, tempConfig } from './support/plan-cli.js';

describe('daemon: periodic quiesce journal repair (integration)', function () {
  this.timeout(90_000);
  let docker: Docker;
  const run = runId();
  const dirs: string[] = [];
  let daemon: ReturnType<typeof spawnDaemon> | undefined;

  before(async function () {
    docker = await requireEngine(this);
  });

  after(async function () {
    if (daemon) await stopDaemon(daemon);
    if (docker) await removeLabeled(docker, `dockop.test.run=${run}`);
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('starts the containers of a backup-once that died after the daemon started, on the next tick', async () => {
    const stateDir = await mkdtemp(path.join(tmpdir(), 'daemon-repair-'));
    dirs.push(stateDir);
    const c = await tempConfig();
    dirs.push(c.dir);
    const started = spawnDaemon([
      '--config',
      c.path,
      ...isolate(run),
      '--interval',
      '1h',
      '--state-dir',
      stateDir,
      '--journal-repair-interval',
      '1s',
    ]);
    daemon = started;
    await eventually(
      () => started.logs.some((l) => l.action === 'manager.started'),
      30_000,
      'daemon started',
    );

    // Now a backup-once "dies" with the container stopped: its journal names a dead pid.
    const db = await createContainer(docker, {
      name: `daemon-repair-db-${run}`,
      Image: WORKLOAD_IMAGE,
      Cmd: ['sleep', '3600'],
      Labels: { 'dockop.test.run': run },
      HostConfig: { NetworkMode: 'none' },
    });
    await db.start();
    await db.stop({ t: 0 });
    const data: QuiesceJournalData = {
      version: 1,
      owner: { pid: 2 ** 22 + 1, hostname: hostname(), startTime: '1' },
      createdAt: new Date().toISOString(),
      containers: [{ id: db.id, name: `daemon-repair-db-${run}` }],
    };
    await writeFile(journalPath(stateDir), JSON.stringify(data));

    await eventually(
      async () => (await db.inspect()).State.Running,
      20_000,
      'the daemon started the journaled container',
    );
    await eventually(() => !existsSync(journalPath(stateDir)), 5_000, 'journal removed');
    await eventually(
      () => started.logs.some((l) => l.action === 'quiesce.repaired'),
      5_000,
      'quiesce.repaired logged',
    );
    expect(started.logs.some((l) => l.action === 'quiesce.repairing')).to.equal(true);
  });
});
