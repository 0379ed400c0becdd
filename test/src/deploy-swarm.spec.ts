// End to end on Swarm: deploy/swarm-stack.yaml itself, deployed with `docker stack deploy` on a
// single-node swarm of the local engine, runs the sidecar as a global service (one task per node)
// that turns a labeled workload into a plan and restarts a stand-in Backrest.
//
// On this engine (dockerd --bridge=none, no registry): `docker swarm init --advertise-addr
// 127.0.0.1` works; services attach to the node's `host` network (the stack file does that);
// images are local only, so the stack is deployed with `--resolve-image never`.
import type Docker from 'dockerode';
import { expect } from 'chai';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { WORKLOAD_IMAGE, removeLabeled, requireEngine, runId } from './support/engine.js';
import { BUILD_TIMEOUT_MS, planWithSource, run, waitFor } from './support/deploy.js';
import { createContainer } from '@dockop/docker';

async function must(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
  timeoutMs = 60_000,
): Promise<string> {
  const res = await run(cmd, args, env, timeoutMs);
  if (res.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${res.code}: ${res.stderr}`);
  return res.stdout;
}

describe('deploy: Swarm global service (e2e, real engine)', function () {
  let docker: Docker;
  const id = runId();
  const runLabel = `dockop.test.run=${id}`;
  const labels = { 'dockop.test.run': id };
  const tag = `dockop/backrest-sidecar:e2e-swarm-${id}`;
  // Stack names become service name prefixes: keep them short and DNS-safe.
  const stack = `dockop-e2e-${id}`.replace(/[^a-z0-9-]/g, '-');
  const standIn = `dockop-e2e-swarm-backrest-${id}`;
  let work: string;
  let configDir: string;
  let createdSwarm = false;
  let gwbridgeExisted = true;
  let built = false;
  let deployed = false;

  async function serviceLogs(): Promise<string> {
    const res = await run('docker', [
      'service',
      'logs',
      '--raw',
      '--tail',
      '60',
      `${stack}_sidecar`,
    ]);
    const ps = await run('docker', ['service', 'ps', '--no-trunc', `${stack}_sidecar`]);
    return `${ps.stdout}${ps.stderr}\n${res.stdout}${res.stderr}`;
  }

  before(async function () {
    this.timeout(BUILD_TIMEOUT_MS + 60_000);
    docker = await requireEngine(this);
    const state = (await must('docker', ['info', '--format', '{{.Swarm.LocalNodeState}}'])).trim();
    gwbridgeExisted = (await run('docker', ['network', 'inspect', 'docker_gwbridge'])).code === 0;
    if (state === 'inactive') {
      await must('docker', ['swarm', 'init', '--advertise-addr', '127.0.0.1']);
      createdSwarm = true;
    } else if (state !== 'active') {
      throw new Error(
        `this engine's swarm state is "${state}": neither inactive (we could init) nor active`,
      );
    }
    const manager = (
      await must('docker', ['info', '--format', '{{.Swarm.ControlAvailable}}'])
    ).trim();
    if (manager !== 'true')
      throw new Error('the local node is in a swarm but not a manager: cannot deploy a stack');

    work = mkdtempSync(path.join(tmpdir(), 'dockop-swarm-'));
    configDir = path.join(work, 'config');
    mkdirSync(configDir);
    const started = Date.now();
    const build = await run(
      'bash',
      ['scripts/build-image.sh', tag],
      { SKIP_TSC: '1' },
      BUILD_TIMEOUT_MS,
    );
    if (build.code !== 0)
      throw new Error(`scripts/build-image.sh exited ${build.code}:\n${build.stderr.slice(-4000)}`);
    built = true;
    console.log(`      image ${tag} built in ${Date.now() - started} ms`);
  });

  after(async function () {
    this.timeout(90_000);
    if (!docker) return;
    if (deployed) {
      await run('docker', ['stack', 'rm', stack]);
      // Task containers outlive `stack rm` by a moment; the config dir can't go before them.
      await waitFor('the stack tasks to be gone', 60_000, async () => {
        const left = await docker.listContainers({
          all: true,
          filters: { label: [`com.docker.stack.namespace=${stack}`] },
        });
        return left.length === 0 ? true : undefined;
      }).catch((err: Error) => console.warn(`      ${err.message}`));
    }
    await removeLabeled(docker, runLabel);
    if (createdSwarm) {
      await run('docker', ['swarm', 'leave', '--force']);
      if (!gwbridgeExisted) await run('docker', ['network', 'rm', 'docker_gwbridge']);
    }
    if (built) await run('docker', ['image', 'rm', '--no-prune', tag]); // keep the layers: the build cache
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('deploys deploy/swarm-stack.yaml as a global service that writes the plan and restarts Backrest', async function () {
    this.timeout(150_000);
    const configFile = path.join(configDir, 'config.json');
    writeFileSync(
      configFile,
      `${JSON.stringify({ repos: [{ id: 'default', type: 'local', url: '/r' }], plans: [] })}\n`,
    );
    const backrest = await createContainer(docker, {
      name: standIn,
      Image: WORKLOAD_IMAGE,
      // Exits on SIGTERM at once (`sleep` as PID 1 would make `docker restart` wait 10 s).
      Cmd: ['sh', '-c', 'trap "exit 0" TERM; while true; do sleep 1; done'],
      Labels: labels,
      HostConfig: { NetworkMode: 'none' },
    });
    await backrest.start();
    const firstStart = (await backrest.inspect()).State.StartedAt;
    const source = path.join(work, 'app-data');
    mkdirSync(source);
    const app = await createContainer(docker, {
      name: `dockop-e2e-swarm-app-${id}`,
      Image: WORKLOAD_IMAGE,
      Cmd: ['sleep', '3600'],
      Labels: { ...labels, 'backrest.enable': 'true' },
      HostConfig: { NetworkMode: 'none', Binds: [`${source}:/data`] },
    });
    await app.start();

    const t0 = Date.now();
    await must(
      'docker',
      [
        'stack',
        'deploy',
        '--compose-file',
        'deploy/swarm-stack.yaml',
        '--resolve-image',
        'never',
        stack,
      ],
      { SIDECAR_IMAGE: tag, CONFIG_DIR: configDir, BACKREST_CONTAINER: standIn },
    );
    deployed = true;

    try {
      const spec = JSON.parse(
        await must('docker', [
          'service',
          'inspect',
          '--format',
          '{{json .Spec}}',
          `${stack}_sidecar`,
        ]),
      ) as {
        Mode?: { Global?: unknown; Replicated?: unknown };
        TaskTemplate?: { Networks?: { Target: string }[] };
      };
      expect(spec.Mode, 'service mode').to.have.property('Global');
      expect(spec.Mode).to.not.have.property('Replicated');

      const plan = await waitFor('the plan in config.json', 90_000, async () =>
        planWithSource(configFile, source),
      );
      const planMs = Date.now() - t0;
      expect(plan.id).to.be.a('string');
      await waitFor('the stand-in Backrest to be restarted', 60_000, async () => {
        const s = (await docker.getContainer(standIn).inspect()).State.StartedAt;
        return s !== firstStart ? s : undefined;
      });
      // One task per node: this swarm has one node, so exactly one running task. With the
      // healthcheck a task is `Starting` until `backrest-sidecar healthcheck` first passes.
      const nodes = (await must('docker', ['node', 'ls', '--format', '{{.Hostname}}']))
        .split('\n')
        .filter(Boolean);
      let tasks = '';
      await waitFor('one healthy (Running) task per node', 60_000, async () => {
        tasks = await must('docker', [
          'service',
          'ps',
          '--filter',
          'desired-state=running',
          '--format',
          '{{.Node}} {{.CurrentState}}',
          `${stack}_sidecar`,
        ]);
        const running = tasks.split('\n').filter((l) => /Running/.test(l));
        return running.length === nodes.length ? running : undefined;
      });
      const running = tasks.split('\n').filter((l) => /Running/.test(l));
      expect(running, tasks).to.have.length(nodes.length);
      console.log(`      plan on disk ${planMs} ms after \`docker stack deploy\``);
    } catch (err) {
      throw new Error(`${(err as Error).message}\n--- service ---\n${await serviceLogs()}`);
    }
  });
});
