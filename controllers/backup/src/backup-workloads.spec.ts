import { expect } from 'chai';
import type { WorkloadTarget } from '@backrest-sidecar/api';
import { planWorkloadBackup, selectMounts, workloadTags } from './backup-workloads.js';

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
});
