import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { createContainer } from '@dockop/docker';
import { planIdFor } from '@backrest-sidecar/api';
import { WORKLOAD_IMAGE, removeLabeled, requireEngine, runId } from './support/engine.js';
import { CLI_BIN, eventually, isolate, prefixOf, tempConfig } from './support/plan-cli.js';

// `get plans -w` on the real engine: the table first, then one line per plan that appears or
// changes (no header again), until SIGTERM, which ends it with exit 0.
describe('backrest-sidecar get plans --watch (integration)', function () {
  this.timeout(90_000);
  const run = runId();
  const name = `watch${run.replace(/-/g, '')}-app`;
  let dir: string | undefined;

  /** `get plans -w` on `config` (this run's containers only), its output as it comes, its exit. */
  function startWatch(config: string, interval: string) {
    const args = ['get', 'plans', '-w', '--watch-interval', interval, '--config', config];
    const child = spawn(process.execPath, [CLI_BIN, ...args, ...isolate(run)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const text = { out: '', err: '' };
    child.stdout.on('data', (d: Buffer) => (text.out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (text.err += d.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    return { child, text, exited };
  }

  after(async function () {
    const docker = await requireEngine(this).catch(() => undefined);
    if (docker) await removeLabeled(docker, `dockop.test.run=${run}`);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('prints the table, then a new plan as a row, and exits 0 on SIGTERM', async function () {
    const docker = await requireEngine(this);
    const c = await tempConfig();
    dir = c.dir;
    const { child, text, exited } = startWatch(c.path, '500ms');
    try {
      await eventually(
        () => text.out.startsWith('PLAN ID'),
        30_000,
        `the header (stderr: ${text.err})`,
      );
      const app = await createContainer(docker, {
        name,
        Image: WORKLOAD_IMAGE,
        Cmd: ['sleep', '600'],
        Labels: { 'dockop.test.run': run, 'backrest.enable': 'true' },
        HostConfig: { NetworkMode: 'none', Binds: ['/srv/watch-data:/data:ro'] },
      });
      await app.start();
      const id = planIdFor({ name }, { prefix: prefixOf(run) });
      await eventually(
        () => text.out.includes(id),
        30_000,
        `a row for ${id} (stdout: ${text.out})`,
      );
      const lines = text.out.trimEnd().split('\n');
      expect(lines.filter((l) => l.startsWith('PLAN ID'))).to.have.length(1);
      expect(lines.find((l) => l.startsWith(id))).to.match(/\sPending$/);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).to.equal(0);
    expect(text.err).to.equal('');
  });

  it('stops with exit 0 once the reader of its output went away (get plans -w | head -1)', async function () {
    const docker = await requireEngine(this);
    const c = await tempConfig();
    const { child, text, exited } = startWatch(c.path, '300ms');
    try {
      await eventually(
        () => text.out.startsWith('PLAN ID'),
        30_000,
        `the header (stderr: ${text.err})`,
      );
      // `head -1` has its line and leaves: the next row the watch prints meets EPIPE.
      child.stdout.destroy();
      await createContainer(docker, {
        name: `${name}2`,
        Image: WORKLOAD_IMAGE,
        Cmd: ['sleep', '600'],
        Labels: { 'dockop.test.run': run, 'backrest.enable': 'true' },
        HostConfig: { NetworkMode: 'none', Binds: ['/srv/watch-data:/data:ro'] },
      });
      const code = await Promise.race([
        exited,
        new Promise<string>((r) => setTimeout(() => r('still running after 20 s'), 20_000)),
      ]);
      expect(code, text.err).to.equal(0);
      expect(text.err).to.equal('');
    } finally {
      child.kill('SIGKILL');
      await rm(c.dir, { recursive: true, force: true });
    }
  });
});
