import type Docker from 'dockerode';
import { expect } from 'chai';
import { readFile, rm } from 'node:fs/promises';
import { createContainer } from '@dockop/docker';
import { WORKLOAD_IMAGE, removeLabeled, requireEngine, runId } from './support/engine.js';
import { isolate, prefixOf, runCli, tempConfig } from './support/plan-cli.js';

// Workloads are services, not containers: two replicas of one compose service (what
// `docker compose up --scale db=2` makes: same project and service labels, container-number 1
// and 2), each with its own volume, become ONE plan with both sources, on the real engine. Two
// containers carrying the labels the engine puts on Swarm tasks (named like tasks,
// `<stack>_<service>.<slot>.<task id>`) become one plan named from stack and service.
describe('plan: replicas of one compose or Swarm service share one plan (real engine)', function () {
  this.timeout(120_000);
  let docker: Docker;
  const run = runId();
  const project = `r${run.replace(/-/g, '')}`;
  const volumes = [`${project}_data1`, `${project}_data2`];
  const stack = `${project}s`;
  const tasks = [`${stack}_cache.1.a1b2c3d4e5f6`, `${stack}_cache.2.f6e5d4c3b2a1`];
  const cacheVolume = `${project}_cache`;
  const dirs: string[] = [];

  before(async function () {
    docker = await requireEngine(this);
    for (const [i, volume] of volumes.entries()) {
      await docker.createVolume({ Name: volume, Labels: { 'dockop.test.run': run } });
      await createContainer(docker, {
        name: `${project}-db-${i + 1}`,
        Image: WORKLOAD_IMAGE,
        Cmd: ['sleep', '3600'],
        Labels: {
          'dockop.test.run': run,
          'backrest.enable': 'true',
          'backrest.schedule': '15 3 * * *',
          'backrest.pre': 'echo $SELF',
          'com.docker.compose.project': project,
          'com.docker.compose.service': 'db',
          'com.docker.compose.container-number': String(i + 1),
        },
        HostConfig: {
          NetworkMode: 'none',
          Mounts: [{ Type: 'volume', Source: volume, Target: '/data' }],
        },
      });
    }
    await docker.createVolume({ Name: cacheVolume, Labels: { 'dockop.test.run': run } });
    for (const name of tasks) {
      await createContainer(docker, {
        name,
        Image: WORKLOAD_IMAGE,
        Cmd: ['sleep', '3600'],
        Labels: {
          'dockop.test.run': run,
          'backrest.enable': 'true',
          'com.docker.swarm.service.name': `${stack}_cache`,
          'com.docker.stack.namespace': stack,
          'com.docker.swarm.task.name': name,
        },
        HostConfig: {
          NetworkMode: 'none',
          Mounts: [{ Type: 'volume', Source: cacheVolume, Target: '/cache' }],
        },
      });
    }
  });

  after(async function () {
    if (!docker) return;
    await removeLabeled(docker, `dockop.test.run=${run}`);
    for (const v of [...volumes, cacheVolume]) {
      await docker
        .getVolume(v)
        .remove()
        .catch(() => undefined);
    }
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it("writes one plan with the union of both replicas' sources; get plans lists it once", async () => {
    const c = await tempConfig();
    dirs.push(c.dir);
    const result = await runCli(['reconcile', '--config', c.path, ...isolate(run)]);
    expect(result.code, result.stderr).to.equal(0);
    const doc = JSON.parse(await readFile(c.path, 'utf8')) as { plans: unknown[] };
    expect(doc.plans).to.deep.equal([
      {
        id: `${prefixOf(run)}${project}_db`,
        repo: 'default',
        schedule: '15 3 * * *',
        sources: volumes.map((v) => `/var/lib/docker/volumes/${v}/_data`),
        exclude: [],
        hooks: { pre: [`echo ${project}-db-1`, `echo ${project}-db-2`], post: [] },
        retention: { spec: 'daily=7,weekly=4' },
      },
      {
        id: `${prefixOf(run)}${stack}_cache`,
        repo: 'default',
        schedule: '0 2 * * *',
        sources: [`/var/lib/docker/volumes/${cacheVolume}/_data`],
        exclude: [],
        hooks: { pre: [], post: [] },
        retention: { spec: 'daily=7,weekly=4' },
      },
    ]);
    expect(result.logs.filter((l) => l['action'] === 'plan.skipped')).to.deep.equal([]);
    // One plan.rendered line per replica, each naming its own container.
    expect(
      result.logs
        .filter((l) => l['action'] === 'plan.rendered')
        .map((l) => l['container'])
        .sort(),
    ).to.deep.equal([`${project}-db-1`, `${project}-db-2`, ...tasks]);

    const get = await runCli(['get', 'plans', '-o', 'json', '--config', c.path, ...isolate(run)]);
    expect(get.code, get.stderr).to.equal(0);
    const rows = JSON.parse(get.stdout) as { planId: string; container: string; status: string }[];
    expect(rows.map((r) => [r.planId, r.container])).to.deep.equal([
      [`${prefixOf(run)}${project}_db`, `${project}-db-1,${project}-db-2`],
      [`${prefixOf(run)}${stack}_cache`, tasks.join(',')],
    ]);
  });
});
