import { expect } from 'chai';
import { createNullLogger } from '@dockop/runtime';
import type { VolumeInfo } from '@dockop/docker';
import { STALE_SCRATCH_MS, checkSnapshotPath, removeStaleScratch } from './restore-steps.js';

describe('restore steps', () => {
  it('removes only scratch volumes older than a day that are not in use', async () => {
    const now = Date.parse('2026-12-01T00:00:00Z');
    const at = (ms: number): string => new Date(now - ms).toISOString();
    const listed: VolumeInfo[] = [
      {
        name: 'old',
        labels: { 'io.dockop.backrest-sidecar.run': 'deadrun' },
        createdAt: at(STALE_SCRATCH_MS + 1000),
      },
      { name: 'young', labels: {}, createdAt: at(60_000) },
      { name: 'in-use', labels: {}, createdAt: at(STALE_SCRATCH_MS * 2) },
      { name: 'no-date', labels: {}, createdAt: '' },
    ];
    let filter: Record<string, string> | undefined;
    const tried: string[] = [];
    const leftovers: Record<string, string>[] = [];
    const removed = await removeStaleScratch(
      {
        list: async (labels) => {
          filter = labels;
          return listed;
        },
        remove: async (name) => {
          tried.push(name);
          if (name === 'in-use') throw new Error('volume is in use (409)');
          return true;
        },
      },
      createNullLogger(),
      now,
      {
        removeLeftovers: async (labels) => {
          leftovers.push(labels);
          return [];
        },
      },
    );
    // The dead run's exited one-shots first (they hold the volume), by its run label.
    expect(leftovers).to.deep.equal([
      {
        'io.dockop.backrest-sidecar.one-shot': 'true',
        'io.dockop.backrest-sidecar.run': 'deadrun',
      },
    ]);
    expect(filter).to.deep.equal({ 'io.dockop.backrest-sidecar.scratch': 'true' });
    expect(tried).to.deep.equal(['old', 'in-use']);
    expect(removed).to.deep.equal(['old']);
  });

  it('refuses snapshot paths that are not clean absolute paths (they become mount targets)', () => {
    expect(checkSnapshotPath('/volumes/p/db')).to.equal('/volumes/p/db');
    for (const bad of ['volumes/db', '/volumes/../etc', '/a//b', '/a/./b', '/a/']) {
      expect(() => checkSnapshotPath(bad), bad).to.throw(/not a clean absolute path/);
    }
  });
});
