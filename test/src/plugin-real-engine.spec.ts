// @dockop/testing against the real engine: the kit's cleanup, the fake source's parity with the
// real Docker source, and the example plugin loaded by path (as `--plugin` does) on real containers.
import { expect } from 'chai';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ContainerModule } from 'inversify';
import { EventRecorder, JsonSchema, ResourceDefinition, type Resource } from '@dockop/runtime';
import type { ContainerStatus } from '@dockop/docker';
import { createTestManager, withRealEngine } from '@dockop/testing';

const root = path.resolve(import.meta.dirname, '..', '..');
const pluginPath = path.join(root, 'examples', 'inventory-plugin', 'dist', 'index.js');

const parityDefinition: ResourceDefinition = {
  group: 'parity.test.dockop.dev',
  version: 'v1',
  kind: 'ParityItem',
  plural: 'parityitems',
  selector: { prefixes: ['parity.'], enableLabel: 'parity.enable' },
  schemaId: 'https://dockop.dev/schemas/test/parity-item.json',
};
const paritySchema: JsonSchema = {
  $id: 'https://dockop.dev/schemas/test/parity-item.json',
  type: 'object',
  properties: {
    enable: { type: 'boolean' },
    size: { type: 'integer' },
    tags: { type: 'array', items: { type: 'string' } },
    nested: { type: 'object', properties: { a: { type: 'string' } } },
  },
  additionalProperties: false,
};
const parityModule = (): ContainerModule =>
  new ContainerModule((o) => {
    o.bind<ResourceDefinition>(ResourceDefinition).toConstantValue(parityDefinition);
    o.bind<JsonSchema>(JsonSchema).toConstantValue(paritySchema);
  });

type Item = Resource<unknown, ContainerStatus>;

/** What must agree between the fake and the real source (ids and times naturally differ). */
function comparable(r: Item | undefined): unknown {
  if (!r) return undefined;
  const { id: _id, imageId: _imageId, ...status } = r.status ?? ({} as ContainerStatus);
  return {
    apiVersion: r.apiVersion,
    kind: r.kind,
    name: r.metadata.name,
    labels: r.metadata.labels,
    annotations: r.metadata.annotations,
    generation: r.metadata.generation,
    spec: r.spec,
    status,
  };
}

interface InventoryFile {
  services: { name: string; tier: string; owner?: string; state: string }[];
}

describe('plugin: @dockop/testing on the real engine', function () {
  this.timeout(60_000);

  it('removes the containers of a run even when the test body fails', async function () {
    let id = '';
    const err = await withRealEngine(this, async (engine) => {
      ({ id } = await engine.run({
        name: engine.name('plugin-kit-cleanup'),
        labels: { purpose: 'cleanup' },
      }));
      throw new Error('body failed on purpose');
    }).catch((e: Error) => e);
    expect((err as Error).message).to.equal('body failed on purpose');
    expect(id).to.match(/^[0-9a-f]{64}$/);
    await withRealEngine(this, async (engine) => {
      const status = await engine.client.api
        .getContainer(id)
        .inspect()
        .then(
          () => 200,
          (e: { statusCode?: number }) => e.statusCode,
        );
      expect(status).to.equal(404);
    });
  });

  it('FakeDockerSource delivers the same resource as the real DockerSource for the same container', async function () {
    await withRealEngine(this, async (engine) => {
      const name = engine.name('plugin-parity');
      const labels = {
        'parity.enable': 'True',
        'parity.size': '3',
        'parity.tags': 'a, b',
        'parity.nested.a': 'x',
        'parity.extra': 'unknown field',
        'com.docker.compose.project': 'shop',
        'com.docker.compose.service': 'db',
        [engine.runLabel.key]: engine.runLabel.value,
      };
      await engine.run({ name, labels });
      const real = await engine.startManager({
        modules: [parityModule()],
        docker: { recreateGraceMs: 0 },
      });
      const key = `ParityItem/${name}`;
      const realItem = await engine.waitFor(`${key} in the real cache`, () =>
        real.manager.cache.get<Item>(key),
      );

      const tm = createTestManager({ modules: [parityModule()] });
      try {
        await tm.docker.run({ name, labels });
        await tm.reconcileAll();
        const fakeItem = tm.manager.cache.get<Item>(key);
        expect(comparable(fakeItem)).to.deep.equal(comparable(realItem));
        expect((fakeItem?.spec as { tags: string[] }).tags).to.deep.equal(['a', 'b']);
        const warnings = (events: { reason: string; message: string }[]): string[] =>
          events.filter((e) => e.reason === 'UnknownField').map((e) => e.message);
        expect(warnings(tm.events(key))).to.deep.equal(
          warnings(real.manager.get<EventRecorder>(EventRecorder).list(key)),
        );
        expect(warnings(tm.events(key))).to.have.length(1);
      } finally {
        await tm.stop();
      }
    });
  });

  it('runs the inventory example plugin, loaded by path, on real containers', async function () {
    if (!existsSync(pluginPath)) {
      throw new Error(
        `${pluginPath} is missing: build it with \`npx tsc -b examples/inventory-plugin\``,
      );
    }
    const dir = mkdtempSync(path.join(os.tmpdir(), 'plugin-inventory-'));
    const file = path.join(dir, 'inventory.json');
    try {
      await withRealEngine(this, async (engine) => {
        const mine = (): InventoryFile['services'] => {
          if (!existsSync(file)) return [];
          const doc = JSON.parse(readFileSync(file, 'utf8')) as InventoryFile;
          return doc.services.filter((s) => s.name.endsWith(engine.runId));
        };
        const first = engine.name('plugin-inv-a');
        await engine.run({
          name: first,
          labels: {
            'inventory.enable': 'true',
            'inventory.tier': 'gold',
            'inventory.owner': 'ops@example.com',
          },
        });

        // The default export reads INVENTORY_FILE when the module is loaded.
        const saved = process.env['INVENTORY_FILE'];
        process.env['INVENTORY_FILE'] = file;
        let real;
        try {
          real = await engine.startManager({
            plugins: [pluginPath],
            docker: { recreateGraceMs: 0 },
          });
        } finally {
          if (saved === undefined) delete process.env['INVENTORY_FILE'];
          else process.env['INVENTORY_FILE'] = saved;
        }
        await engine.waitFor(`${first} in ${file}`, () => mine().some((s) => s.name === first));
        expect(mine()).to.deep.include({
          name: first,
          image: 'dockop/busybox:local',
          state: 'running',
          tier: 'gold',
          tags: [],
          owner: 'ops@example.com',
        });

        // Event-driven: a container started later, then removed.
        const second = engine.name('plugin-inv-b');
        await engine.run({
          name: second,
          labels: { 'inventory.enable': 'true', 'inventory.tier': 'nope' },
        });
        const third = engine.name('plugin-inv-c');
        await engine.run({ name: third, labels: { 'inventory.enable': 'true' } });
        await engine.waitFor(`${third} in ${file}`, () => mine().some((s) => s.name === third));
        expect(mine().map((s) => s.name)).to.deep.equal([first, third]);
        const warning = real.manager
          .get<EventRecorder>(EventRecorder)
          .list(`InventoryItem/${second}`)
          .find((e) => e.reason === 'InvalidSpec');
        expect(warning?.message).to.include('spec.tier').and.include('"nope"');

        await engine.remove(first);
        await engine.waitFor(
          `${first} gone from ${file}`,
          () => !mine().some((s) => s.name === first),
        );
        expect(mine().map((s) => s.name)).to.deep.equal([third]);
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
