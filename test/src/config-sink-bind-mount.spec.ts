import type Docker from 'dockerode';
import { expect } from 'chai';
import {
  chmodSync,
  chownSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createContainer } from '@dockop/docker';
import { NODE_IMAGE, removeLabeled, requireEngine, runId } from './support/engine.js';

/** Docker's multiplexed log stream (no TTY): 8-byte frame headers, then the payload. */
function demux(buf: Buffer): string {
  let out = '';
  for (let i = 0; i + 8 <= buf.length;) {
    const size = buf.readUInt32BE(i + 4);
    out += buf.subarray(i + 8, i + 8 + size).toString('utf8');
    i += 8 + size;
  }
  return out;
}

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

// The real case in-place writes exist for: Backrest's config bind-mounted as a single file into
// the sidecar's container. Inside, renaming over a mount point fails with EBUSY, so an atomic
// commit falls back to an in-place write; the host file keeps its inode, mode and owner.
describe('ConfigSink on a single-file bind mount (real engine)', function () {
  this.timeout(120_000);
  let docker: Docker;
  const run = runId();
  let dir: string;

  before(async function () {
    docker = await requireEngine(this);
  });
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'sink-bind-'));
  });
  afterEach(async () => {
    await removeLabeled(docker, `dockop.test.run=${run}`);
    rmSync(dir, { recursive: true, force: true });
  });

  /** Commits one plan from inside a container where `file` is bind-mounted alone. */
  async function commitInContainer(
    file: string,
    writeMode: 'atomic' | 'inplace',
  ): Promise<{ code: number; out: string }> {
    const script = `
      const { ConfigSink } = await import('/repo/packages/config-sink/dist/index.js');
      const plan = { id: 'a', repo: 'default', schedule: '0 2 * * *', sources: ['/x'], exclude: [],
        hooks: { pre: [], post: [] }, retention: { spec: 'last=3' } };
      try {
        const r = await new ConfigSink({ path: '/etc/backrest/config.json', writeMode: '${writeMode}' })
          .commit({ upsert: [plan], remove: [] });
        console.log(JSON.stringify({ written: r.written, warnings: r.warnings }));
      } catch (e) { console.log(JSON.stringify({ error: e.message })); process.exitCode = 1; }`;
    const container = await createContainer(docker, {
      name: `sink-bind-${run}-${writeMode}`,
      Image: NODE_IMAGE,
      Cmd: ['node', '--input-type=module', '-e', script],
      Labels: { 'dockop.test.run': run },
      HostConfig: {
        NetworkMode: 'none',
        Binds: [`${REPO_ROOT}:/repo:ro`, `${file}:/etc/backrest/config.json`],
      },
    });
    await container.start();
    const { StatusCode } = (await container.wait()) as { StatusCode: number };
    const raw = await container.logs({ stdout: true, stderr: true });
    return { code: StatusCode, out: demux(raw) };
  }

  for (const writeMode of ['atomic', 'inplace'] as const) {
    it(`${writeMode}: writes through the mount, same inode, mode 0600 and owner kept`, async () => {
      const file = path.join(dir, 'config.json');
      const base = JSON.stringify({
        repos: [{ id: 'default', type: 'local', url: '/srv/restic' }],
        plans: [],
      });
      writeFileSync(file, base);
      chownSync(file, 1234, 5678);
      chmodSync(file, 0o600);
      const ino = statSync(file).ino;
      const r = await commitInContainer(file, writeMode);
      expect(r.code, r.out).to.equal(0);
      const result = JSON.parse(r.out.trim().split('\n').pop() ?? '{}');
      expect(result.written, r.out).to.equal(true);
      if (writeMode === 'atomic') {
        // The rename really failed with EBUSY in the container, and the fallback said so.
        expect(result.warnings.join()).to.include('EBUSY');
      } else {
        expect(result.warnings).to.deep.equal([]);
      }
      const st = statSync(file);
      expect([st.ino, st.mode & 0o7777, st.uid, st.gid]).to.deep.equal([ino, 0o600, 1234, 5678]);
      const doc = JSON.parse(readFileSync(file, 'utf8'));
      expect(doc.plans.map((p: { id: string }) => p.id)).to.deep.equal(['a']);
    });
  }
});
