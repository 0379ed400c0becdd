import { expect } from 'chai';
import type { WorkloadTarget } from '@backrest-sidecar/api';
import {
  planServiceBackup,
  planWorkloadBackup,
  selectMounts,
  workloadTags,
} from './backup-workloads.js';

function target(labels: Record<string, string> = {}): WorkloadTarget {
  return {
    name: 'shop-db-1',
    id: 'abc',
    imageId: '',
    state: 'running',
    labels,
    compose: { project: 'shop', service: 'db', dependsOn: [] },
    mounts: [
      {
        type: 'volume',
        name: 'shop_pgdata',
        source: '/var/lib/docker/volumes/shop_pgdata/_data',
        destination: '/var/lib/postgresql/data',
        readOnly: false,
      },
      {
        type: 'volume',
        name: 'shop_cache',
        source: '/var/lib/docker/volumes/shop_cache/_data',
        destination: '/cache',
        readOnly: false,
      },
      { type: 'bind', source: '/srv/shop/config', destination: '/etc/db/', readOnly: true },
      { type: 'tmpfs', source: '', destination: '/run', readOnly: false },
    ],
  };
}

describe('backup workloads', () => {
  it('keeps volume and bind mounts, never tmpfs; drops binds with excludeBindMounts', () => {
    expect(selectMounts(target(), false).map((m) => m.destination)).to.deep.equal([
      '/var/lib/postgresql/data',
      '/cache',
      '/etc/db/',
    ]);
    expect(selectMounts(target(), true).map((m) => m.destination)).to.deep.equal([
      '/var/lib/postgresql/data',
      '/cache',
    ]);
  });

  it('applies restic-compose-backup.volumes.include/exclude as substrings of the source; include wins', () => {
    expect(
      selectMounts(
        target({ 'restic-compose-backup.volumes.include': 'pgdata, config' }),
        false,
      ).map((m) => m.destination),
    ).to.deep.equal(['/var/lib/postgresql/data', '/etc/db/']);
    expect(
      selectMounts(target({ 'restic-compose-backup.volumes.exclude': 'cache' }), false).map(
        (m) => m.destination,
      ),
    ).to.deep.equal(['/var/lib/postgresql/data', '/etc/db/']);
    expect(
      selectMounts(
        target({
          'restic-compose-backup.volumes.include': 'cache',
          'restic-compose-backup.volumes.exclude': 'cache',
        }),
        false,
      ).map((m) => m.destination),
    ).to.deep.equal(['/cache']);
  });

  it('mounts each kept mount read-only at <workload path>/<destination>, volumes by name', () => {
    const plan = planWorkloadBackup(target(), {
      includeProjectName: true,
      excludeBindMounts: false,
    });
    expect(plan.path).to.equal('/volumes/shop/db');
    expect(plan.mounts).to.deep.equal([
      {
        type: 'volume',
        source: 'shop_pgdata',
        target: '/volumes/shop/db/var/lib/postgresql/data',
        readOnly: true,
      },
      { type: 'volume', source: 'shop_cache', target: '/volumes/shop/db/cache', readOnly: true },
      {
        type: 'bind',
        source: '/srv/shop/config',
        target: '/volumes/shop/db/etc/db',
        readOnly: true,
      },
    ]);
    expect(
      planWorkloadBackup(target(), { includeProjectName: false, excludeBindMounts: true }).path,
    ).to.equal('/volumes/db');
  });

  it('tags name the workload and never contain commas or spaces', () => {
    expect(workloadTags(target(), ['nightly run', 'a,b'])).to.deep.equal([
      'backrest-sidecar',
      'container:shop-db-1',
      'project:shop',
      'service:db',
      'nightly_run',
      'a_b',
    ]);
  });

  it("plans a replicated service as one snapshot: the union of the replicas' mounts, a shared volume once", () => {
    const anon = (id: string) => ({
      type: 'volume' as const,
      name: id,
      source: `/var/lib/docker/volumes/${id}/_data`,
      destination: '/data',
      readOnly: false,
    });
    const shared = {
      type: 'volume' as const,
      name: 'shop_shared',
      source: '/var/lib/docker/volumes/shop_shared/_data',
      destination: '/shared',
      readOnly: false,
    };
    const one = { ...target(), name: 'shop-db-1', mounts: [anon('a1'), shared] };
    const two = { ...target(), name: 'shop-db-2', id: 'def', mounts: [anon('a2'), shared] };
    const plan = planServiceBackup([one, two], {
      includeProjectName: true,
      excludeBindMounts: false,
    });
    expect(plan.path).to.equal('/volumes/shop/db');
    expect(plan.target.name).to.equal('shop-db-1');
    expect(plan.replicas?.map((r) => r.name)).to.deep.equal(['shop-db-1', 'shop-db-2']);
    expect(plan.mounts.map((m) => [m.source, m.target])).to.deep.equal([
      ['a1', '/volumes/shop/db/data'],
      ['shop_shared', '/volumes/shop/db/shared'],
      ['a2', '/volumes/shop/db/data@shop-db-2'],
    ]);
    // A lone container: unchanged (no replicas, one mount per destination).
    expect(
      planServiceBackup([one], { includeProjectName: true, excludeBindMounts: false }),
    ).to.deep.equal(
      planWorkloadBackup(one, { includeProjectName: true, excludeBindMounts: false }),
    );
    expect(workloadTags(one, [], [one, two])).to.include.members([
      'container:shop-db-1',
      'replica:shop-db-1',
      'replica:shop-db-2',
    ]);
    expect(workloadTags(one, [], [one]).some((t) => t.startsWith('replica:'))).to.equal(false);
  });
});
