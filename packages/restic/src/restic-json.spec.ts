import { expect } from 'chai';
import { parseBackupLine, parseForgetOutput, parseSnapshotsOutput } from './restic-json.js';

const snap = (id: string, path: string) => ({
  id: `${id}${'0'.repeat(56)}`,
  short_id: id,
  time: '2026-01-01T00:00:00Z',
  paths: [path],
  hostname: 'h',
});

describe('restic-json', () => {
  it('reads the forget JSON array even when prune text follows on stdout', () => {
    const groups = [
      {
        tags: null,
        host: '',
        paths: ['/volumes/a'],
        keep: [snap('aaaaaaaa', '/volumes/a')],
        remove: [snap('bbbbbbbb', '/volumes/a')],
        reasons: [],
      },
    ];
    const out = `${JSON.stringify(groups)}\nloading indexes...\nfinding data that is still in use for 1 snapshots\n[0:00] 100.00%  1 / 1 snapshots\n`;
    const parsed = parseForgetOutput(out);
    expect(parsed).to.have.length(1);
    expect(parsed[0]!.remove!.map((s) => s.short_id)).to.deep.equal(['bbbbbbbb']);
  });

  it('returns no groups for empty output (restic prints nothing when nothing matches)', () => {
    expect(parseForgetOutput('')).to.deep.equal([]);
    expect(parseForgetOutput('\n')).to.deep.equal([]);
  });

  it('refuses broken JSON and non-arrays', () => {
    expect(() => parseForgetOutput('[{"tags":')).to.throw(/invalid JSON/);
    expect(() => parseForgetOutput('{"a":1}')).to.throw(/no JSON array/);
    expect(() => parseSnapshotsOutput('nothing')).to.throw(/no JSON array/);
  });

  it('parses snapshots --json, [] for an empty repository', () => {
    expect(parseSnapshotsOutput('[]\n')).to.deep.equal([]);
    expect(parseSnapshotsOutput(JSON.stringify([snap('cccccccc', '/x')]))[0]!.paths).to.deep.equal([
      '/x',
    ]);
  });

  it('parses backup --json status and summary lines and skips anything else', () => {
    expect(
      parseBackupLine('{"message_type":"status","percent_done":0.5,"total_files":2}'),
    ).to.deep.include({ message_type: 'status', percent_done: 0.5 });
    expect(
      parseBackupLine('{"message_type":"summary","snapshot_id":"abcd1234","data_added":10}'),
    ).to.deep.include({ snapshot_id: 'abcd1234' });
    expect(parseBackupLine('{"message_type":"verbose_status"}')).to.equal(undefined);
    expect(parseBackupLine('repository 1234 opened')).to.equal(undefined);
    expect(parseBackupLine('{broken')).to.equal(undefined);
  });
});
