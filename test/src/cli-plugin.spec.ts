import type Docker from 'dockerode';
import { expect } from 'chai';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { WORKLOAD_IMAGE, removeLabeled, requireEngine, runId } from './support/engine.js';
import { isolate, runCli, tempConfig } from './support/plan-cli.js';
import { createContainer } from '@dockop/docker';

const INVENTORY_PLUGIN = fileURLToPath(
  new URL('../../examples/inventory-plugin/dist/index.js', import.meta.url),
);

// `--plugin` loads a third-party controller with the manager's loadPlugin, the same way the
// built-in plan controller is loaded, and runs it in the same one-shot pass.
describe('backrest-sidecar --plugin (integration)', function () {
  this.timeout(60_000);
  let docker: Docker;
  const run = runId();
  let dir = '';
  let file = '';

  before(async function () {
    docker = await requireEngine(this);
    ({ dir, path: file } = await tempConfig());
    await createContainer(docker, {
      name: `inv-${run}`,
      Image: WORKLOAD_IMAGE,
      Cmd: ['sleep', '3600'],
      Labels: { 'dockop.test.run': run, 'inventory.enable': 'true', 'inventory.tier': 'gold' },
      HostConfig: { NetworkMode: 'none' },
    });
  });

  after(async function () {
    if (docker) await removeLabeled(docker, `dockop.test.run=${run}`);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('runs the plugin controller next to the plan controller', async () => {
    const inventory = path.join(dir, 'inventory.json');
    const r = await runCli(
      ['reconcile', '--config', file, '--plugin', INVENTORY_PLUGIN, ...isolate(run)],
      {
        env: { INVENTORY_FILE: inventory },
      },
    );
    expect(r.code, r.stderr).to.equal(2); // no BackupWorkload of ours: nothing for the plan config
    const doc = JSON.parse(await readFile(inventory, 'utf8')) as { services: { name: string }[] };
    expect(doc.services.map((s) => s.name)).to.include(`inv-${run}`);
  });

  it('a plugin that cannot be loaded is fatal (exit 1) with a message naming it', async () => {
    const r = await runCli([
      'reconcile',
      '--config',
      file,
      '--plugin',
      './no/such/plugin.js',
      ...isolate(run),
    ]);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.include('no/such/plugin.js');
  });
});
