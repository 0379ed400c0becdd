import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createTestManager, type TestManager } from '@dockop/testing';
import { INVENTORY_KEY } from './inventory-controller.js';
import type { InventoryDocument } from './inventory-document.js';
import { inventoryItemKey } from './inventory-item.js';
import { InventoryReasons } from './inventory-reconciler.js';
import { inventoryModule } from './module.js';

describe('inventory plugin (fake Docker, virtual clock)', () => {
  let dir: string;
  let file: string;
  let tm: TestManager;

  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'inventory-'));
    file = path.join(dir, 'out', 'inventory.json');
    tm = createTestManager({ modules: [inventoryModule({ file })] });
  });
  afterEach(async () => {
    await tm.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const read = (): InventoryDocument => JSON.parse(readFileSync(file, 'utf8')) as InventoryDocument;
  const writes = (): number =>
    tm
      .events(INVENTORY_KEY)
      .filter((e) => e.reason === InventoryReasons.Written)
      .reduce((n, e) => n + e.count, 0);

  it('writes an empty inventory at start', async () => {
    await tm.reconcileAll();
    expect(read()).to.deep.equal({
      apiVersion: 'inventory.examples.dockop.dev/v1alpha1',
      kind: 'Inventory',
      services: [],
    });
  });

  it('adds labeled services, sorted by name, with defaults and compose info', async () => {
    await tm.docker.run({
      name: 'web',
      image: 'nginx:1.27',
      labels: {
        'inventory.enable': 'true',
        'inventory.owner': 'ops@example.com',
        'inventory.tier': 'gold',
        'inventory.tags': 'public, edge',
      },
      compose: { project: 'shop', service: 'web' },
    });
    await tm.docker.run({ name: 'api', labels: { 'inventory.enable': 'TRUE' } });
    await tm.docker.run({ name: 'unlabeled', labels: { 'backrest.enable': 'true' } });
    await tm.reconcileAll();
    expect(read().services).to.deep.equal([
      { name: 'api', image: 'dockop/busybox:local', state: 'running', tier: 'bronze', tags: [] },
      {
        name: 'web',
        image: 'nginx:1.27',
        state: 'running',
        tier: 'gold',
        tags: ['edge', 'public'],
        owner: 'ops@example.com',
        compose: { project: 'shop', service: 'web' },
      },
    ]);
    expect(tm.condition(inventoryItemKey('web'), 'Ready')).to.include({
      status: 'True',
      reason: 'Listed',
    });
  });

  it('updates the file when labels or state change, and only then', async () => {
    await tm.docker.run({
      name: 'db',
      labels: { 'inventory.enable': 'true', 'inventory.tier': 'silver' },
    });
    await tm.reconcileAll();
    const inode = statSync(file).ino;
    expect(writes()).to.equal(1);

    await tm.reconcileAll();
    await tm.advance(60_000); // the resync period: renders again, same bytes
    expect(writes()).to.equal(1);
    expect(statSync(file).ino).to.equal(inode);

    await tm.docker.relabel('db', { 'inventory.enable': 'true', 'inventory.tier': 'gold' });
    await tm.settle();
    expect(read().services.map((s) => [s.name, s.tier])).to.deep.equal([['db', 'gold']]);
    await tm.docker.stop('db');
    await tm.settle();
    expect(read().services.map((s) => s.state)).to.deep.equal(['exited']);
    expect(writes()).to.equal(3);
  });

  it('removes a service once its container is gone (after the recreate grace period)', async () => {
    await tm.docker.run({ name: 'a', labels: { 'inventory.enable': 'true' } });
    await tm.docker.run({ name: 'b', labels: { 'inventory.enable': 'true' } });
    await tm.reconcileAll();
    await tm.docker.remove('a');
    await tm.settle();
    expect(read().services.map((s) => s.name)).to.deep.equal(['a', 'b']);
    await tm.advance(2_000);
    expect(read().services.map((s) => s.name)).to.deep.equal(['b']);
  });

  it('keeps an invalid label out, with an InvalidSpec condition and a Warning event naming label and value', async () => {
    await tm.docker.run({ name: 'good', labels: { 'inventory.enable': 'true' } });
    await tm.docker.run({
      name: 'bad',
      labels: { 'inventory.enable': 'true', 'inventory.tier': 'platinum' },
    });
    await tm.reconcileAll();
    expect(read().services.map((s) => s.name)).to.deep.equal(['good']);
    const key = inventoryItemKey('bad');
    expect(tm.condition(key, 'InvalidSpec')).to.include({ status: 'True', reason: 'InvalidSpec' });
    const warning = tm.events(key).find((e) => e.type === 'Warning');
    expect(warning?.reason).to.equal('InvalidSpec');
    expect(warning?.message).to.include('spec.tier').and.include('"platinum"').and.include('gold');

    await tm.docker.relabel('bad', {
      'inventory.enable': 'true',
      'inventory.owner': 'not-an-email',
    });
    await tm.settle();
    expect(tm.events(key).at(-1)?.message).to.include('spec.owner').and.include('"not-an-email"');

    await tm.docker.relabel('bad', { 'inventory.enable': 'true', 'inventory.tier': 'silver' });
    await tm.settle();
    expect(read().services.map((s) => s.name)).to.deep.equal(['bad', 'good']);
    expect(tm.condition(key, 'InvalidSpec')?.status).to.equal('False');
    expect(tm.condition(key, 'Ready')?.status).to.equal('True');
  });

  it('merges a burst of container changes into one write', async () => {
    await tm.start();
    expect(writes()).to.equal(1);
    for (const name of ['x', 'y', 'z'])
      await tm.docker.run({ name, labels: { 'inventory.enable': 'true' } });
    await tm.advance(500);
    expect(read().services).to.have.length(3);
    expect(writes()).to.equal(2);
  });

  it('retries a failed write with backoff and recovers', async () => {
    // The file's directory is a regular file: mkdir fails until the test removes it.
    const blocked = path.join(dir, 'blocked');
    writeFileSync(blocked, 'not a directory');
    await tm.stop();
    tm = createTestManager({
      modules: [inventoryModule({ file: path.join(blocked, 'inventory.json') })],
    });
    await tm.reconcileAll();
    expect(tm.logs().filter((l) => l['action'] === 'reconcile.error')).to.have.length(1);
    rmSync(blocked);
    await tm.advance(5);
    expect(JSON.parse(readFileSync(path.join(blocked, 'inventory.json'), 'utf8'))).to.have.property(
      'kind',
      'Inventory',
    );
  });
});
