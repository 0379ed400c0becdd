import { expect } from 'chai';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { createResticRunner } from '@backrest-sidecar/restic';
import { requireEngine } from './support/engine.js';
import { listSnapshots, makeRepo, removeDir, type Repo } from './retention-fixture.js';

/**
 * An aborted restic run (SIGINT/SIGTERM to the sidecar, a timeout) gets SIGINT, restic's own
 * "clean up and exit", instead of SIGTERM/SIGKILL, which always leave its repository lock (live
 * for 30 min to other hosts). restic 0.14 (Debian's, this image's) removes the lock on SIGINT
 * only sometimes (its cleanup races its exit: 2 runs of 5 by hand), so this spec checks what
 * is ours: restic got SIGINT, the run ended when restic exited, and no snapshot was made of the
 * cut-off input. The container runner's signal is covered in docker-actions.spec.ts.
 */
describe('restic local runner: an aborted run gets SIGINT (integration, real restic)', function () {
  this.timeout(60_000);
  const repos: Repo[] = [];

  before(async function () {
    await requireEngine(this); // restic is installed by the engine script
  });

  after(async () => {
    for (const r of repos) await removeDir(r.dir);
  });

  it('backup --stdin cut off: restic cleans up on SIGINT, the run rejects after it exited, no snapshot', async () => {
    const repo = await makeRepo('restic-abort');
    repos.push(repo);
    const noContainers = { runOneShot: () => Promise.reject(new Error('local runner only')) };
    const restic = await createResticRunner(
      { kind: 'local', envFile: repo.hostEnvFile },
      noContainers,
    );
    const input = new PassThrough();
    input.write('some bytes, and the stream stays open\n');
    const stderr: string[] = [];
    const abort = new AbortController();
    const running = restic.run(['backup', '--stdin', '--stdin-filename', 'cut.txt'], {
      signal: abort.signal,
      stdin: input,
      onStderrLine: (l) => stderr.push(l),
    });
    running.catch(() => undefined);
    // Its lock file proves restic opened the repository, long after its signal handler was set.
    const deadline = Date.now() + 30_000;
    while ((await readdir(path.join(repo.repo, 'locks')).catch(() => [])).length === 0) {
      if (Date.now() > deadline) throw new Error('restic never took its repository lock');
      await new Promise((r) => setTimeout(r, 100));
    }
    const t0 = Date.now();
    abort.abort(new Error('test abort'));
    const outcome = await running.then(
      () => 'resolved',
      (e: Error) => e.message,
    );
    expect(outcome).to.equal('restic backup aborted');
    expect(stderr.join('\n')).to.include('signal interrupt received, cleaning up');
    expect(Date.now() - t0, 'ended by restic, not by the SIGKILL after the grace').to.be.below(
      8000,
    );
    expect(await listSnapshots(repo)).to.deep.equal([]);
  });
});
