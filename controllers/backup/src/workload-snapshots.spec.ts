import { expect } from 'chai';
import { parseStatsOutput, pickSnapshot, type WorkloadSnapshot } from './workload-snapshots.js';

const snap = (id: string, time: string): WorkloadSnapshot => ({
  id,
  shortId: id.slice(0, 8),
  time,
  host: 'h',
  paths: ['/volumes/db'],
  tags: [],
  origin: 'backup-once',
});

describe('workload snapshots', () => {
  const snaps = [
    snap('aaaa1111' + '0'.repeat(56), '2026-01-01T00:00:00Z'),
    snap('aaaa2222' + '0'.repeat(56), '2026-01-02T00:00:00Z'),
  ];

  it('picks latest, a unique id prefix, and refuses ambiguous, foreign or malformed ids', () => {
    expect(pickSnapshot(snaps, 'latest', 'db').shortId).to.equal('aaaa2222');
    expect(pickSnapshot(snaps, 'aaaa1', 'db').shortId).to.equal('aaaa1111');
    expect(() => pickSnapshot(snaps, 'aaaa', 'db')).to.throw(/matches 2 snapshots/);
    expect(() => pickSnapshot(snaps, 'bbbb1111', 'db')).to.throw(/not a snapshot of workload "db"/);
    expect(() => pickSnapshot(snaps, '../x', 'db')).to.throw(/neither "latest" nor a snapshot id/);
    expect(() => pickSnapshot([], 'latest', 'db')).to.throw(/no snapshot of workload "db"/);
  });

  it('reads restic stats --json', () => {
    expect(
      parseStatsOutput('{"total_size":6,"total_file_count":4,"snapshots_count":1}\n'),
    ).to.deep.equal({
      size: 6,
      files: 4,
    });
    expect(() => parseStatsOutput('oops')).to.throw(/no JSON object/);
  });
});
