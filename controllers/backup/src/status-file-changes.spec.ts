import { expect } from 'chai';
import { mkdir, mkdtemp, rename, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { StatusFileChanges } from './status-file-changes.js';

describe('StatusFileChanges', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'status-files-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  /** Writes as every writer does: a temporary file renamed over the status file. */
  async function write(name: string, body: string): Promise<void> {
    const tmp = path.join(dir, `.${name}.tmp`);
    await writeFile(tmp, body);
    await rename(tmp, path.join(dir, `${name}.json`));
  }
  // Stamps are trusted at once (no coarse-clock window), except in the test of that window.
  const tick = () => new Promise((r) => setTimeout(r, 5));

  it('the first look records; then only files replaced since the last look are reported', async () => {
    await write('a', '{"a":1}');
    await write('b', '{"b":1}');
    await tick();
    const files = new StatusFileChanges(dir, { racyMs: 0 });
    expect(await files.changed(['a', 'b'])).to.deep.equal([]);
    expect(await files.changed(['a', 'b'])).to.deep.equal([]);
    await write('b', '{"b":2}');
    await tick();
    expect(await files.changed(['a', 'b'])).to.deep.equal(['b']);
    expect(await files.changed(['a', 'b'])).to.deep.equal([]);
  });

  it('a rewrite with the same size and times is seen (times put back, the ctime moves)', async () => {
    await write('a', '{"a":1}');
    const files = new StatusFileChanges(dir, { racyMs: 0 });
    const old = new Date(Date.now() - 60_000);
    await utimes(path.join(dir, 'a.json'), old, old);
    await utimes(dir, old, old);
    await tick();
    await files.changed(['a']);
    await write('a', '{"a":2}');
    await utimes(path.join(dir, 'a.json'), old, old);
    await utimes(dir, old, old);
    await tick();
    expect(await files.changed(['a'])).to.deep.equal(['a']);
  });

  it('a directory that does not exist yet, a file that appears, a new name', async () => {
    const sub = path.join(dir, 'workloads');
    const files = new StatusFileChanges(sub, { racyMs: 0 });
    expect(await files.changed(['a'])).to.deep.equal([]);
    expect(await files.changed(['a'])).to.deep.equal([]);
    await mkdir(sub);
    await writeFile(path.join(sub, 'a.json'), '{}');
    await tick();
    expect(await files.changed(['a'])).to.deep.equal(['a']);
    expect(await files.changed(['a'])).to.deep.equal([]);
    expect(await files.changed(['a', 'z'])).to.deep.equal(['z']);
    expect(await files.changed(['a', 'z'])).to.deep.equal([]);
  });

  it('a stamp taken within the racy window of its write is looked at again', async () => {
    await write('a', '{"a":1}');
    const files = new StatusFileChanges(dir, { racyMs: 60_000 });
    await files.changed(['a']);
    // Same content, same second: the file may have been written again unseen; report it.
    expect(await files.changed(['a'])).to.deep.equal(['a']);
    expect(await files.changed(['a'])).to.deep.equal(['a']);
  });

  it('record, then a look inside the racy window: the recorded stamp stands', async () => {
    // The daemon at start: its refreshes write and record every file, then the first look.
    await write('a', '{"a":1}');
    const files = new StatusFileChanges(dir, { racyMs: 60_000 });
    await files.record('a');
    expect(await files.changed(['a'])).to.deep.equal([]);
    expect(await files.changed(['a'])).to.deep.equal([]);
    // Another writer after that is still seen.
    await write('a', '{"a":22}');
    expect(await files.changed(['a'])).to.deep.equal(['a']);
  });

  it('record: our own write (just now, inside the racy window) is not reported', async () => {
    await write('a', '{"a":1}');
    const files = new StatusFileChanges(dir, { racyMs: 60_000 });
    await files.changed(['a']);
    await write('a', '{"a":2}');
    await files.record('a');
    expect(await files.changed(['a'])).to.deep.equal([]);
    // Another writer after that is.
    await write('a', '{"a":3}');
    expect(await files.changed(['a'])).to.deep.equal(['a']);
  });
});
