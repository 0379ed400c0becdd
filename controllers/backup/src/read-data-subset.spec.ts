import { expect } from 'chai';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { READ_DATA_SUBSET_FILE, nextReadDataSubset } from './read-data-subset.js';

describe('nextReadDataSubset', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'read-data-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('rotates n over 1..t, so t runs read every pack once; a changed t or a corrupt file starts over', async () => {
    const seen = [];
    for (let i = 0; i < 4; i++) seen.push(await nextReadDataSubset(dir, 3));
    expect(seen).to.deep.equal(['1/3', '2/3', '3/3', '1/3']);
    expect(await nextReadDataSubset(dir, 5)).to.equal('1/5');
    await writeFile(path.join(dir, READ_DATA_SUBSET_FILE), '{"next": 99, "parts": 5}');
    expect(await nextReadDataSubset(dir, 5)).to.equal('1/5');
    await writeFile(path.join(dir, READ_DATA_SUBSET_FILE), 'garbage');
    expect(await nextReadDataSubset(dir, 5)).to.equal('1/5');
  });
});
