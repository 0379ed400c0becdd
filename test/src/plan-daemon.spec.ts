import type Docker from 'dockerode';
import { expect } from 'chai';
import type { ChildProcess } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { WORKLOAD_IMAGE, removeLabeled, requireEngine, runId } from './support/engine.js';
import {
  eventually,
  isolate,
  prefixOf,
  spawnDaemon,
  stopDaemon,
  tempConfig,
} from './support/plan-cli.js';
import { createContainer } from '@dockop/docker';

// The daemon on the real engine: events → debounced reconcile → file; orphans after the grace
// period; health and metrics over HTTP; SIGTERM drains and exits 0.
describe('backrest-sidecar daemon (integration)', function () {
  this.timeout(120_000);
  let docker: Docker;
  const run = runId();
  const prefix = prefixOf(run);
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  let daemon: ChildProcess | undefined;
  let exited: Promise<number | null> = Promise.resolve(null);
  let logs: Record<string, unknown>[] = [];
  let file = '';
  let dir = '';

  before(async function () {
    docker = await requireEngine(this);
    ({ dir, path: file } = await tempConfig());
    ({ daemon, logs, exited } = spawnDaemon([
      '--config',
      file,
      '--with-events',
      '--orphan-grace',
      '2s',
      '--http-addr',
      `127.0.0.1:${port}`,
      ...isolate(run),
    ]));
    await eventually(
      () => logs.some((l) => l.action === 'config.unchanged'),
      30_000,
      'first reconcile',
    );
  });

  after(async function () {
    // Killed and gone before its config dir is removed (it may be writing there).
    if (daemon) await stopDaemon({ daemon, exited }, 0);
    if (docker) await removeLabeled(docker, `dockop.test.run=${run}`);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const planIds = async (): Promise<string[]> =>
    (JSON.parse(await readFile(file, 'utf8')) as { plans: { id: string }[] }).plans.map(
      (p) => p.id,
    );

  async function startWorkload(name: string): Promise<Docker.Container> {
    const c = await createContainer(docker, {
      name,
      Image: WORKLOAD_IMAGE,
      Cmd: ['sleep', '3600'],
      Labels: { 'dockop.test.run': run, 'backrest.enable': 'true' },
      HostConfig: { NetworkMode: 'none', Binds: [`/srv/${name}:/data`] },
    });
    await c.start();
    return c;
  }

  it('writes the plan of a container started while it runs', async () => {
    await startWorkload(`d1-${run}`);
    await eventually(
      async () => (await planIds()).includes(`${prefix}d1-${run}`),
      15_000,
      'plan on disk',
    );
  });

  it('merges a burst of 10 containers into fewer writes than containers', async () => {
    const writesBefore = logs.filter((l) => l.action === 'config.written').length;
    await Promise.all(Array.from({ length: 10 }, (_, i) => startWorkload(`burst${i}-${run}`)));
    await eventually(
      async () => (await planIds()).filter((id) => id.includes('burst')).length === 10,
      20_000,
      '10 plans',
    );
    const writes = logs.filter((l) => l.action === 'config.written').length - writesBefore;
    expect(writes).to.be.greaterThan(0).and.lessThan(10);
  });

  it('removes the plan of a destroyed container after the orphan grace period', async () => {
    await docker.getContainer(`d1-${run}`).remove({ force: true });
    // Both together: the file changes before the daemon's `plan.removed` line reaches our pipe.
    await eventually(
      async () =>
        !(await planIds()).includes(`${prefix}d1-${run}`) &&
        logs.some((l) => l.action === 'plan.removed' && l.plan_id === `${prefix}d1-${run}`),
      20_000,
      'orphan removed from the file and plan.removed logged',
    );
  });

  it('serves /readyz and /metrics with controller-runtime names', async () => {
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
    expect(ready.status).to.equal(200);
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(metrics).to.match(/controller_runtime_reconcile_total\{[^}]*controller="plan"/);
  });

  it('exits 0 on SIGTERM', async () => {
    daemon!.kill('SIGTERM');
    expect(await exited).to.equal(0);
  });
});
