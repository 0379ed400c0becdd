import { expect } from 'chai';
import type { WorkloadMount } from '@backrest-sidecar/api';
import {
  isVolumesLayout,
  mountSnapshotPath,
  planDirectoryRestore,
  planInPlaceRestore,
  restoreRoot,
} from './restore-plan.js';

const vol = (name: string, destination: string): WorkloadMount => ({
  type: 'volume',
  name,
  source: `/var/lib/docker/volumes/${name}/_data`,
  destination,
  readOnly: false,
});
const bind = (source: string, destination: string): WorkloadMount => ({
  type: 'bind',
  source,
  destination,
  readOnly: false,
});

describe('restore plan', () => {
  const ours = { origin: 'backup-once' as const, paths: ['/volumes/stack/db'] };

  it('maps each mount of a backup-once snapshot to <root>/<mount destination>', () => {
    const plan = planInPlaceRestore(ours, {
      mounts: [
        vol('stack_pg', '/var/lib/postgresql/data'),
        bind('/srv/conf', '/etc/db/'),
        { type: 'tmpfs', source: '', destination: '/run', readOnly: false },
      ],
    });
    expect(plan.unmatched).to.deep.equal([]);
    expect(plan.items).to.deep.equal([
      {
        snapshotPath: '/volumes/stack/db/etc/db',
        destination: { type: 'bind', source: '/srv/conf' },
        subPath: '',
        containerPath: '/etc/db',
      },
      {
        snapshotPath: '/volumes/stack/db/var/lib/postgresql/data',
        destination: { type: 'volume', source: 'stack_pg' },
        subPath: '',
        containerPath: '/var/lib/postgresql/data',
      },
    ]);
  });

  it("maps a Backrest snapshot's host paths to volumes by name (any volume prefix) and binds by source", () => {
    const snap = {
      origin: 'backrest' as const,
      paths: ['/docker_volumes/stack_pg/_data', '/srv/conf/sub', '/elsewhere'],
    };
    const plan = planInPlaceRestore(snap, {
      mounts: [vol('stack_pg', '/var/lib/postgresql/data'), bind('/srv/conf', '/etc/db')],
    });
    expect(
      plan.items.map((i) => [i.snapshotPath, i.destination.source, i.subPath, i.containerPath]),
    ).to.deep.equal([
      ['/docker_volumes/stack_pg/_data', 'stack_pg', '', '/var/lib/postgresql/data'],
      // The plan listed a sub-directory of the bind: only that directory is replaced.
      ['/srv/conf/sub', '/srv/conf', 'sub', '/etc/db/sub'],
    ]);
    expect(plan.unmatched).to.deep.equal(['/elsewhere']);
  });

  it('does not confuse a volume whose name is a suffix of another', () => {
    const snap = {
      origin: 'backrest' as const,
      paths: ['/var/lib/docker/volumes/xstack_pg/_data'],
    };
    expect(mountSnapshotPath(vol('stack_pg', '/d'), snap)).to.equal(
      '/var/lib/docker/volumes/stack_pg/_data',
    );
    expect(planInPlaceRestore(snap, { mounts: [vol('stack_pg', '/d')] }).items).to.deep.equal([]);
  });

  it('recognises the /volumes layout without our tag too (rcb snapshots)', () => {
    expect(isVolumesLayout({ origin: 'other', paths: ['/volumes/app'] })).to.equal(true);
    expect(isVolumesLayout({ origin: 'other', paths: ['/srv/app'] })).to.equal(false);
  });

  it('into a directory: one path is the root; several keep their layout below the common parent', () => {
    expect(restoreRoot(['/volumes/p/db'])).to.equal('/volumes/p/db');
    expect(restoreRoot(['/db.sql'], true)).to.equal('/');
    expect(restoreRoot(['/a/b/c', '/a/b/d/e'])).to.equal('/a/b');
    expect(restoreRoot(['/a', '/b'])).to.equal('/');
    // A path that is the parent of another is still kept as a directory of its own.
    expect(restoreRoot(['/a/b', '/a/b/c'])).to.equal('/a');
    const plan = planDirectoryRestore({ paths: ['/a/b/c', '/a/b/d/e'] }, '/srv/out');
    expect(plan.root).to.equal('/a/b');
    expect(plan.items.map((i) => i.subPath)).to.deep.equal(['c', 'd/e']);
  });
});
