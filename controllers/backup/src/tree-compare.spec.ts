import { expect } from 'chai';
import { compareTrees, describeDifference, parseListing, parseLsOutput } from './tree-compare.js';

describe('tree compare', () => {
  const ls = [
    '{"time":"2026-11-30T23:10:44Z","paths":["/volumes/db"],"struct_type":"snapshot","id":"x"}',
    '{"name":"volumes","type":"dir","path":"/volumes","struct_type":"node"}',
    '{"name":"db","type":"dir","path":"/volumes/db","struct_type":"node"}',
    '{"name":"a b|c","type":"file","path":"/volumes/db/a b|c","size":6,"struct_type":"node"}',
    '{"name":"e","type":"file","path":"/volumes/db/e","size":0,"struct_type":"node"}',
    '{"name":"l","type":"symlink","path":"/volumes/db/l","struct_type":"node"}',
    'not json',
  ].join('\n');
  const listing = [
    '4096|directory|./volumes',
    '4096|directory|./volumes/db',
    '6|regular file|./volumes/db/a b|c',
    '0|regular empty file|./volumes/db/e',
    '1|symbolic link|./volumes/db/l',
  ].join('\n');

  it('matches a restored tree with restic ls (names with spaces and "|", empty files, links)', () => {
    const d = compareTrees(parseLsOutput(ls), parseListing(listing));
    expect(d).to.deep.equal({ missing: [], extra: [], changed: [], files: 2, bytes: 6 });
    expect(describeDifference(d)).to.equal('');
  });

  it('reports missing, changed and unexpected entries', () => {
    const broken = listing
      .replace('6|regular file|./volumes/db/a b|c', '5|regular file|./volumes/db/a b|c')
      .replace('1|symbolic link|./volumes/db/l\n', '')
      .replace('1|symbolic link|./volumes/db/l', '')
      .concat('\n3|regular file|./volumes/db/new');
    const d = compareTrees(parseLsOutput(ls), parseListing(broken));
    expect(d.missing).to.deep.equal(['/volumes/db/l']);
    expect(d.changed).to.deep.equal(['/volumes/db/a b|c (snapshot file 6 B, restored file 5 B)']);
    expect(d.extra).to.deep.equal(['/volumes/db/new']);
    expect(describeDifference(d)).to.equal(
      '1 missing (/volumes/db/l), 1 changed (/volumes/db/a b|c (snapshot file 6 B, restored file 5 B)), 1 unexpected (/volumes/db/new)',
    );
  });
});
