import type Docker from 'dockerode';
import { expect } from 'chai';
import { readFile, rm } from 'node:fs/promises';
import { WORKLOAD_IMAGE, removeLabeled, requireEngine, runId } from './support/engine.js';
import { isolate, runCli, tempConfig } from './support/plan-cli.js';
import { createContainer } from '@dockop/docker';

// `--apply` against a stand-in Backrest container: restarted exactly once per change, and a
// config that makes it die is rolled back with Backrest left running.
describe('backrest-sidecar reconcile --apply (integration)', function () {
  this.timeout(180_000);
  let docker: Docker;
  const run = runId();
  const tag = run.replace(/-/g, '');
  const dirs: string[] = [];
  const runLabel = `dockop.test.run=${run}`;

  before(async function () {
    docker = await requireEngine(this);
  });

  after(async function () {
    if (!docker) return;
    await removeLabeled(docker, runLabel);
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  async function standIn(name: string, dir: string, cmd: string): Promise<void> {
    await createContainer(docker, {
      name,
      Image: WORKLOAD_IMAGE,
      Cmd: ['sh', '-c', cmd],
      Labels: { 'dockop.test.run': run, 'dockop.test.role': 'backrest' },
      HostConfig: { NetworkMode: 'none', Binds: [`${dir}:/config`] },
    });
    await docker.getContainer(name).start();
  }

  /** `scope` isolates each test's workloads (`--selector dockop.test.scope=<scope>`). */
  async function workload(name: string, scope: string): Promise<void> {
    await createContainer(docker, {
      name,
      Image: WORKLOAD_IMAGE,
      Cmd: ['sleep', '3600'],
      Labels: { 'dockop.test.run': run, 'dockop.test.scope': scope, 'backrest.enable': 'true' },
      HostConfig: { NetworkMode: 'none', Binds: [`/srv/${name}:/data`] },
    });
  }

  async function started(name: string): Promise<{ startedAt: string; running: boolean }> {
    const info = await docker.getContainer(name).inspect();
    return { startedAt: info.State.StartedAt, running: info.State.Running };
  }

  const applyFlags = (name: string, scope: string) => [
    '--apply',
    '--backrest-container',
    name,
    '--apply-stable',
    '2s',
    ...isolate(scope).map((f) => f.replace('dockop.test.run=', 'dockop.test.scope=')),
  ];
  // busybox sleep as PID 1 ignores SIGTERM: trap it so `docker restart` needs no 10 s kill.
  const serve = (body: string) => `trap 'exit 0' TERM; ${body} sleep 3600 & wait`;

  it('restarts the stand-in once per change and not at all without one', async () => {
    const { dir, path: file } = await tempConfig();
    dirs.push(dir);
    const backrest = `backrest-${tag}`;
    const scope = `${run}-a`;
    await standIn(backrest, dir, serve(''));
    await workload(`w1-${tag}`, scope);
    const t0 = await started(backrest);

    const first = await runCli(['reconcile', '--config', file, ...applyFlags(backrest, scope)]);
    expect(first.code, first.stderr + first.stdout).to.equal(0);
    const t1 = await started(backrest);
    expect(t1.running).to.equal(true);
    expect(t1.startedAt).to.not.equal(t0.startedAt);
    expect(first.logs.filter((l) => l.action === 'backrest.restarted')).to.have.length(1);

    const unchanged = await runCli(['reconcile', '--config', file, ...applyFlags(backrest, scope)]);
    expect(unchanged.code).to.equal(2);
    expect((await started(backrest)).startedAt).to.equal(t1.startedAt);

    await workload(`w2-${tag}`, scope);
    const second = await runCli(['reconcile', '--config', file, ...applyFlags(backrest, scope)]);
    expect(second.code, second.stderr).to.equal(0);
    const t2 = await started(backrest);
    expect(t2.startedAt).to.not.equal(t1.startedAt);
    expect(second.logs.filter((l) => l.action === 'backrest.restarted')).to.have.length(1);
  });

  it('rolls back when the restarted Backrest dies, leaving the previous config and Backrest running', async () => {
    const { dir, path: file } = await tempConfig();
    dirs.push(dir);
    const backrest = `backrest-dying-${tag}`;
    // Reads the config at start and exits when it holds a plan id marked BAD.
    const scope = `${run}-b`;
    await standIn(
      backrest,
      dir,
      serve('if grep -q BAD /config/config.json; then echo bad config >&2; exit 1; fi;'),
    );
    const before = await readFile(file, 'utf8');
    await workload(`BAD-${tag}`, scope);

    const r = await runCli(['reconcile', '--config', file, ...applyFlags(backrest, scope)], {
      timeoutMs: 90_000,
    });
    expect(r.code, r.stderr + r.stdout).to.equal(3);
    expect(
      r.logs.some((l) => l.action === 'config.rolled_back' && l.rolled_back === true),
    ).to.equal(true);
    expect(await readFile(file, 'utf8')).to.equal(before);
    expect((await started(backrest)).running).to.equal(true);
  });
});
