import { expect } from 'chai';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ownContainerId } from './own-container.js';

describe('ownContainerId', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'own-container-'));
    await mkdir(path.join(dir, 'self'), { recursive: true });
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));
  const id = 'ab'.repeat(32);

  it('reads the id from the hostname bind mount in mountinfo (cgroup v2)', async () => {
    await writeFile(
      path.join(dir, 'self/mountinfo'),
      `1 0 0:1 / / rw - overlay overlay rw\n600 590 8:1 /var/lib/docker/containers/${id}/hostname /etc/hostname rw - ext4 /dev/sda1 rw\n`,
    );
    await writeFile(path.join(dir, 'self/cgroup'), '0::/\n');
    expect(ownContainerId(dir)).to.equal(id);
  });

  it('falls back to a docker cgroup (v1), and is null on a plain host', async () => {
    await writeFile(path.join(dir, 'self/mountinfo'), '1 0 0:1 / / rw - ext4 /dev/sda1 rw\n');
    await writeFile(path.join(dir, 'self/cgroup'), `12:pids:/docker/${id}\n`);
    expect(ownContainerId(dir)).to.equal(id);
    await writeFile(path.join(dir, 'self/cgroup'), '0::/user.slice/session-1.scope\n');
    expect(ownContainerId(dir)).to.equal(null);
  });
});
