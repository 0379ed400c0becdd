// The reader of backup-once's logs goes away while a quiesced container is stopped (`2>&1 | head`,
// a log collector restarted): the next log line meets EPIPE. That error was uncaught and ended
// the process with the container down until the next run repaired the journal. The run must go
// on: the container is started again and the journal removed.
import type Docker from 'dockerode';
import { expect } from 'chai';
import { existsSync } from 'node:fs';
import { journalPath } from '@backrest-sidecar/controller-backup';
import { requireEngine } from './support/engine.js';
import { QuiesceRun } from './support/quiesce-run.js';

describe('backup-once: the log reader goes away mid-quiesce (integration)', function () {
  this.timeout(120_000);
  let docker: Docker;
  const q = new QuiesceRun('log-gone');

  before(async function () {
    docker = await requireEngine(this);
    await q.prepare();
  });

  after(async () => q.cleanUp(docker));

  it('starts the stopped container again and removes the journal, though no log line can be written', async function () {
    // Stops in ~1 s: long enough for the reader to leave while the stop is in flight.
    const c = await q.container(docker, 1);
    const startedBefore = (await c.inspect()).State.StartedAt;

    const child = q.spawnBackup(['--log-format', 'json'], ['ignore', 'pipe']);
    let err = '';
    const onData = (d: Buffer): void => {
      err += d.toString();
      // The stop is out: the reader leaves, and every later line meets EPIPE.
      if (err.includes('"quiesce.stopping"')) child.stderr!.destroy();
    };
    child.stderr!.on('data', onData);
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    const code = await exited;

    expect(err, 'the reader left after quiesce.stopping').to.include('"quiesce.stopping"');
    // The backup itself fails (its image is never pulled): exit 1 (backup.fatal), as it does with
    // a reader; a crash would exit 1 too, so what follows is the test.
    expect(code, err).to.equal(1);
    const state = (await c.inspect()).State;
    expect(state.Running, 'container running again').to.equal(true);
    expect(state.StartedAt, 'it went down and was started by the run').to.not.equal(startedBefore);
    expect(existsSync(journalPath(q.stateDir)), 'journal removed').to.equal(false);
  });
});
