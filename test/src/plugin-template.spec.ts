// The plugin template as a new author uses it, outside the repository: copied to a temp dir,
// the unpublished @dockop packages installed from `npm pack` tarballs (vendor/, as
// docs/plugins.md explains), then `npm run build` and `npm test` in that directory. Finally the
// bundled CLI's generic host loads the built plugin from there (its own node_modules).
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { withRealEngine } from '@dockop/testing';
import { parseJsonLines, runCli } from './support/plan-cli.js';

const root = path.resolve(import.meta.dirname, '..', '..');
const template = path.join(root, 'templates', 'dockop-plugin');
const run = promisify(execFile);

async function npm(args: string[], cwd: string): Promise<string> {
  try {
    const { stdout, stderr } = await run('npm', args, {
      cwd,
      maxBuffer: 16 * 1024 * 1024,
      // No workspace, no repo config: the temp dir is a project of its own.
      env: { ...process.env, npm_config_workspaces: '', npm_config_update_notifier: 'false' },
    });
    return stdout + stderr;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(
      `npm ${args.join(' ')} failed in ${cwd}: ${e.message}\n${e.stdout}\n${e.stderr}`,
    );
  }
}

describe('plugin template: builds and tests outside the repo from npm pack tarballs', function () {
  // npm install extracts ~170 packages (about 35 s on 2 shared cores; more without a warm cache).
  this.timeout(300_000);
  let dir: string;

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'dockop-plugin-template-'));
    expect(path.relative(root, dir).startsWith('..')).to.equal(true);
    cpSync(template, dir, {
      recursive: true,
      filter: (src) => !/[/\\](node_modules|dist|vendor)$/.test(src),
    });
    mkdirSync(path.join(dir, 'vendor'));
    await npm(
      [
        'pack',
        '-w',
        '@dockop/runtime',
        '-w',
        '@dockop/docker',
        '-w',
        '@dockop/testing',
        '--pack-destination',
        path.join(dir, 'vendor'),
      ],
      root,
    );
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  it('installs (cache first), builds with tsc and passes its own tests', async () => {
    expect(readdirSync(path.join(dir, 'vendor')).sort()).to.deep.equal([
      'dockop-docker-0.1.0.tgz',
      'dockop-runtime-0.1.0.tgz',
      'dockop-testing-0.1.0.tgz',
    ]);
    await npm(['install', '--prefer-offline', '--no-audit', '--no-fund'], dir);
    // One copy of the framework: the testing kit uses the plugin's runtime, not its own.
    const tree = await npm(['ls', '@dockop/runtime', 'inversify', '--all'], dir);
    for (const pkg of ['@dockop/runtime@', 'inversify@']) {
      const copies = tree.split('\n').filter((l) => l.includes(pkg) && !l.includes('deduped'));
      expect(copies, tree).to.have.length(1);
    }
    await npm(['run', 'build'], dir);
    const test = await npm(['test'], dir);
    expect(test).to.match(/2 passing/);
    expect(test).to.not.match(/failing/);
  });

  it('runs in the bundled generic host: `backrest-sidecar run --plugin <dir>/dist/index.js --once`', async function () {
    await withRealEngine(this, async (engine) => {
      // Exits at once: the plugin sees a labeled container that stopped.
      const name = engine.name('tpl-stopped');
      await engine.run({
        name,
        labels: { 'myplugin.enable': 'true', 'myplugin.team': 'pay' },
        cmd: ['true'],
      });
      await engine.waitFor(`${name} exited`, async () => {
        const info = await engine.client.request('inspect', (d) => d.getContainer(name).inspect());
        return info.State.Status === 'exited';
      });
      const result = await runCli([
        'run',
        '--plugin',
        path.join(dir, 'dist', 'index.js'),
        '--once',
        '--log-format',
        'json',
      ]);
      expect(result.code, result.stderr).to.equal(0);
      const stopped = parseJsonLines(result.stderr).filter(
        (l) => l['action'] === 'container.stopped' && l['container'] === name,
      );
      expect(stopped.map((l) => [l['controller'], l['team']])).to.deep.equal([
        ['stop-notice', 'pay'],
      ]);
    });
  });
});
