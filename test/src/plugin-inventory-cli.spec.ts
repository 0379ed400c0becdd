// The example plugin loaded the way users load plugins: `backrest-sidecar daemon --plugin <path>`,
// a separate process against the real engine, stopped with SIGTERM.
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { withRealEngine } from '@dockop/testing';

const root = path.resolve(import.meta.dirname, '..', '..');
const cli = path.join(root, 'packages', 'cli', 'bin', 'backrest-sidecar.js');
const pluginPath = path.join(root, 'examples', 'inventory-plugin', 'dist', 'index.js');

interface InventoryFile {
  services: { name: string; tier: string; tags: string[]; state: string }[];
}

function exitOf(
  child: ChildProcess,
): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

describe('plugin: inventory example via `backrest-sidecar daemon --plugin`', function () {
  this.timeout(60_000);

  it('writes the inventory of labeled containers, follows changes, and exits 0 on SIGTERM', async function () {
    for (const f of [cli, pluginPath]) {
      if (!existsSync(f)) throw new Error(`${f} is missing: run \`npx tsc -b\` first`);
    }
    const dir = mkdtempSync(path.join(os.tmpdir(), 'plugin-cli-'));
    const file = path.join(dir, 'inventory.json');
    try {
      await withRealEngine(this, async (engine) => {
        const mine = (): InventoryFile['services'] => {
          if (!existsSync(file)) return [];
          const doc = JSON.parse(readFileSync(file, 'utf8')) as InventoryFile;
          return doc.services.filter((s) => s.name.endsWith(engine.runId));
        };
        const before = engine.name('plugin-cli-a');
        await engine.run({
          name: before,
          labels: {
            'inventory.enable': 'true',
            'inventory.tier': 'silver',
            'inventory.tags': 'db,critical',
          },
        });

        let output = '';
        const child = spawn(
          process.execPath,
          [
            cli,
            'daemon',
            // Without it the daemon only relists every --interval (60 s).
            '--with-events',
            '--plugin',
            pluginPath,
            '--config',
            path.join(dir, 'config.json'),
            '--log-format',
            'json',
          ],
          { env: { ...process.env, INVENTORY_FILE: file }, stdio: ['ignore', 'pipe', 'pipe'] },
        );
        child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
        child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
        engine.defer(async () => {
          if (child.exitCode === null && child.signalCode === null) {
            child.kill('SIGKILL');
            await exitOf(child);
          }
        });
        const alive = (): void => {
          if (child.exitCode !== null)
            throw new Error(`daemon exited with ${child.exitCode}:\n${output}`);
        };

        await engine.waitFor(`${before} in ${file}`, () => {
          alive();
          return mine().some((s) => s.name === before);
        });
        expect(mine()).to.deep.equal([
          {
            name: before,
            image: 'dockop/busybox:local',
            state: 'running',
            tier: 'silver',
            tags: ['critical', 'db'],
          },
        ]);

        const after = engine.name('plugin-cli-b');
        await engine.run({ name: after, labels: { 'inventory.enable': 'true' } });
        await engine.waitFor(`${after} in ${file}`, () => {
          alive();
          return mine().some((s) => s.name === after);
        });
        expect(mine().map((s) => [s.name, s.tier])).to.deep.equal([
          [before, 'silver'],
          [after, 'bronze'],
        ]);

        child.kill('SIGTERM');
        const exit = await exitOf(child);
        expect(exit, output).to.deep.equal({ code: 0, signal: null });
        const lines = output
          .split('\n')
          .filter((l) => l.startsWith('{'))
          .map((l) => JSON.parse(l) as Record<string, unknown>);
        expect(
          lines.some(
            (l) => l['action'] === 'controller.stopped' && l['controller'] === 'inventory',
          ),
        ).to.equal(true);
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
