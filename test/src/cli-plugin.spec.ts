import type Docker from 'dockerode';
import { expect } from 'chai';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
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

  // The bundled CLI carries its own runtime and inversify; a plugin must get those same copies
  // (one ResourceCache class, one container), not second ones from node_modules.
  it("the plugin shares the running program's runtime (same classes, not a second copy)", async () => {
    // Inside test/dist so that, unbundled, `@dockop/runtime` resolves from node_modules too.
    const fixtures = await mkdtemp(
      path.join(path.dirname(fileURLToPath(import.meta.url)), 'probe-'),
    );
    try {
      const probe = path.join(fixtures, 'identity-probe.mjs');
      await writeFile(
        probe,
        [
          "import { Cache, LifecycleHook, Logger, ResourceCache } from '@dockop/runtime';",
          "import { ContainerModule } from 'inversify';",
          'export default new ContainerModule(({ bind }) => {',
          '  bind(LifecycleHook).toDynamicValue((ctx) => ({',
          "    name: 'identity-probe',",
          '    onStart() {',
          "      ctx.get(Logger).info('identity.probe', { shared: ctx.get(Cache) instanceof ResourceCache });",
          '    },',
          '  }));',
          '});',
          '',
        ].join('\n'),
      );
      const r = await runCli(['reconcile', '--config', file, '--plugin', probe, ...isolate(run)]);
      expect(r.code, r.stderr).to.equal(2);
      const line = r.logs.find((l) => l['action'] === 'identity.probe');
      expect(line, r.stdout).to.include({ shared: true });
    } finally {
      await rm(fixtures, { recursive: true, force: true });
    }
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
