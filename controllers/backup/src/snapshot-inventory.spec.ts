import { expect } from 'chai';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { VirtualClock } from '@dockop/runtime';
import { WorkloadStatusStore } from '@backrest-sidecar/api';
import type { ResticSnapshot } from '@backrest-sidecar/restic';
import { recordSnapshotInventory, snapshotsByWorkload } from './snapshot-inventory.js';

const snap = (id: string, time: string, tags: unknown, hostname = 'h1'): ResticSnapshot =>
  ({
    id: `${id}${'0'.repeat(56)}`,
    short_id: id,
    time,
    paths: ['/x'],
    hostname,
    tags,
  }) as ResticSnapshot;

describe('snapshot inventory', () => {
  const targets = [
    { name: 'shop-db-1', compose: { project: 'shop', service: 'db' } },
    { name: 'web' },
  ];
  const snapshots = [
    snap('aaaa0001', '2026-01-05T01:00:00Z', ['backrest-sidecar', 'container:shop-db-1']),
    snap('aaaa0002', '2026-01-05T02:00:00Z', ['backrest-sidecar', 'container:shop-db-1']),
    // Another host's snapshot with our tags: not this host's workload.
    snap('aaaa0003', '2026-01-05T03:00:00Z', ['backrest-sidecar', 'container:shop-db-1'], 'h2'),
    // Backrest's, from the plan of shop-db-1.
    snap('bbbb0001', '2026-01-05T04:00:00.123456789Z', [
      'plan:backrest_sidecar_shop_db',
      'created-by:x',
    ]),
    // Hostile tags: match nothing.
    snap('cccc0001', '2026-01-05T05:00:00Z', 'container:web'),
    snap('cccc0002', '2026-01-05T05:00:00Z', [{ evil: true }, 'container:web']),
  ];

  it("sorts ours (tags + host) and Backrest's (plan:<id>) to each workload", () => {
    const inv = snapshotsByWorkload(snapshots, targets, { host: 'h1' });
    expect(
      inv.map((w) => [
        w.name,
        w.planId,
        w.sidecar.map((s) => s.short_id),
        w.backrest.map((s) => s.short_id),
      ]),
    ).to.deep.equal([
      ['shop-db-1', 'backrest_sidecar_shop_db', ['aaaa0001', 'aaaa0002'], ['bbbb0001']],
      ['web', 'backrest_sidecar_web', [], []],
    ]);
  });

  it("records counts, and Backrest's newer snapshot as the last backup", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'inventory-'));
    try {
      const clock = new VirtualClock(Date.parse('2026-01-05T06:00:00Z'));
      const store = new WorkloadStatusStore({ stateDir: dir, now: () => clock.now() });
      await store.update('shop-db-1', (s) => {
        s.lastBackup = {
          time: '2026-01-05T02:00:10Z',
          engine: 'restic',
          source: 'run',
          snapshotId: 'aaaa0002',
        };
      });
      const [db, web] = await recordSnapshotInventory(
        store,
        snapshotsByWorkload(snapshots, targets, { host: 'h1' }),
      );
      expect(db!.snapshots).to.deep.include({ count: 3, sidecar: 2, backrest: 1 });
      expect(db!.lastBackup).to.deep.equal({
        time: '2026-01-05T04:00:00.123Z',
        snapshotId: 'bbbb0001',
        engine: 'backrest',
        source: 'repository',
      });
      expect(db!.conditions.find((c) => c.type === 'BackedUp')?.reason).to.equal(
        'SnapshotInRepository',
      );
      expect(web!.snapshots?.count).to.equal(0);
      expect(web!.lastBackup).to.equal(undefined);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
