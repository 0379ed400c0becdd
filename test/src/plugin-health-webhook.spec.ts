// The health-webhook example (docs/plugins.md) as users run it: `backrest-sidecar run --plugin`,
// the generic host (no Backrest controllers, no --config), against the real engine. A container
// with a failing HEALTHCHECK turns unhealthy and the plugin POSTs to a local HTTP server.
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { withRealEngine } from '@dockop/testing';
import { CLI_BIN, parseJsonLines, runCli } from './support/plan-cli.js';

const root = path.resolve(import.meta.dirname, '..', '..');
const pluginPath = path.join(root, 'examples', 'health-webhook', 'dist', 'index.js');

function exitOf(child: ChildProcess): Promise<{ code: number | null; signal: string | null }> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

describe('plugin: health-webhook example via `backrest-sidecar run --plugin` (real engine)', function () {
  this.timeout(90_000);
  let server: Server;
  let url: string;
  const posts: { path: string; body: Record<string, unknown> }[] = [];
  let dir: string;

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'health-webhook-'));
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        posts.push({ path: req.url ?? '', body: JSON.parse(body) as Record<string, unknown> });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  });

  after(async () => {
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  it('POSTs when a labeled container with a failing HEALTHCHECK turns unhealthy; no Backrest config is touched', async function () {
    if (!existsSync(pluginPath)) throw new Error(`${pluginPath} is missing: run \`npx tsc -b\``);
    const config = path.join(dir, 'config.json');
    await withRealEngine(this, async (engine) => {
      const sick = engine.name('hook-sick');
      const quiet = engine.name('hook-unlabeled');
      let output = '';
      const child = spawn(
        process.execPath,
        [CLI_BIN, 'run', '--plugin', pluginPath, '--log-format', 'json'],
        {
          // BACKREST_CONFIG would name the file a Backrest controller writes: run has none.
          env: { ...process.env, HEALTHHOOK_URL: url, BACKREST_CONFIG: config },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
      child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
      engine.defer(async () => {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGKILL');
          await exitOf(child);
        }
      });
      await engine.waitFor('the host started', () => {
        if (child.exitCode !== null) throw new Error(`run exited ${child.exitCode}:\n${output}`);
        return output.includes('"manager.started"');
      });
      const failing = { test: ['CMD', 'false'], intervalMs: 1000, retries: 1 };
      await engine.run({
        name: sick,
        labels: { 'healthhook.enable': 'true', 'healthhook.severity': 'critical' },
        healthcheck: failing,
      });
      await engine.run({ name: quiet, labels: {}, healthcheck: failing });
      const mine = (): typeof posts =>
        posts.filter((p) => String(p.body['container']).endsWith(engine.runId));
      await engine.waitFor(`a POST for ${sick}`, () => mine().length > 0, { timeoutMs: 30_000 });
      expect(mine()).to.deep.equal([
        {
          path: '/hook',
          body: { container: sick, image: 'dockop/busybox:local', severity: 'critical' },
        },
      ]);

      child.kill('SIGTERM');
      expect(await exitOf(child), output).to.deep.equal({ code: 0, signal: null });
      const logs = parseJsonLines(output);
      expect(
        logs.filter((l) => l['action'] === 'controller.started').map((l) => l['controller']),
      ).to.deep.equal(['health-webhook']);
      expect(existsSync(config)).to.equal(false);
      // Still one POST: the unlabeled container is not the plugin's, the edge fired once.
      expect(mine()).to.have.length(1);
    });
  });

  it('refuses to start without a plugin, or with one that fails to load, naming it (exit 1)', async () => {
    const none = await runCli(['run', '--log-format', 'json']);
    expect(none.code).to.equal(1);
    expect(none.logs.find((l) => l['action'] === 'usage.error')?.['error']).to.equal(
      'run needs at least one --plugin <path-or-package>',
    );
    // A path relative to the working directory without `./` is a path when the file exists.
    const relative = path.relative(process.cwd(), pluginPath);
    const bad = await runCli(['run', '--plugin', relative, '--log-format', 'json'], {
      env: { HEALTHHOOK_URL: 'ftp://token@example.com/' },
    });
    expect(bad.code).to.equal(1);
    const error = String(bad.logs.find((l) => l['action'] === 'cli.fatal')?.['error']);
    expect(error)
      .to.include(`plugin "./${relative}" could not be imported`)
      .and.include('HEALTHHOOK_URL is not an http(s) URL');
    expect(bad.stderr).to.not.include('token@');
  });
});
