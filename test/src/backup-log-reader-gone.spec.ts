// The reader of backup-once's logs goes away while a quiesced container is stopped (`2>&1 | head`,
// a log collector restarted): the next log line meets EPIPE. That error was uncaught and ended
// the process with the container down until the next run repaired the journal. The run must go
// on: the container is started again and the journal removed.
import type Docker from 'dockerode';
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { journalPath } from '@backrest-sidecar/controller-backup';
import { createContainer } from '@dockop/docker';
import { WORKLOAD_IMAGE, removeLabeled, requireEngine, runId } from './support/engine.js';
import { CLI_BIN } from './support/plan-cli.js';

describe('backup-once: the log reader goes away mid-quiesce (integration)', function () {
  this.timeout(120_000);
  let docker: Docker;
  const run = runId();
  const runLabel = `dockop.test.run=log-gone-${run}`;
  const quiesceKey = `dockop.test.log-gone-${run}`;
  let stateDir: string;

  before(async function () {
    docker = await requireEngine(this);
    stateDir = await mkdtemp(path.join(tmpdir(), 'log-gone-'));
  });

  after(async function () {
    if (docker) await removeLabeled(docker, runLabel);
    if (stateDir) await rm(stateDir, { recursive: true, force: true });
  });

  it('starts the stopped container again and removes the journal, though no log line can be written', async function () {
    const c = await createContainer(docker, {
      name: `log-gone-${run}`,
      Image: WORKLOAD_IMAGE,
      // Stops in ~1 s: long enough for the reader to leave while the stop is in flight.
      Cmd: ['sh', '-c', 'trap "sleep 1; exit 0" TERM; while true; do sleep 1; done'],
      Labels: { 'dockop.test.run': `log-gone-${run}`, [quiesceKey]: 'true' },
      HostConfig: { NetworkMode: 'none' },
    });
    await c.start();
    const startedBefore = (await c.inspect()).State.StartedAt;

    const child = spawn(
      process.execPath,
      [
        CLI_BIN,
        'backup-once',
        '--engine',
        'rcb',
        '--rcb-image',
        'dockop-test/never-pulled:none',
        '--no-forget',
        '--quiesce-label',
        `${quiesceKey}=true`,
        '--state-dir',
        stateDir,
        '--selector',
        runLabel,
        '--log-format',
        'json',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let err = '';
    const onData = (d: Buffer): void => {
      err += d.toString();
      // The stop is out: the reader leaves, and every later line meets EPIPE.
      if (err.includes('"quiesce.stopping"')) child.stderr.destroy();
    };
    child.stderr.on('data', onData);
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    const code = await exited;

    expect(err, 'the reader left after quiesce.stopping').to.include('"quiesce.stopping"');
    // The backup itself fails (its image is never pulled): exit 1 (backup.fatal), as it does with
    // a reader; a crash would exit 1 too, so what follows is the test.
    expect(code, err).to.equal(1);
    const state = (await c.inspect()).State;
    expect(state.Running, 'container running again').to.equal(true);
    expect(state.StartedAt, 'it went down and was started by the run').to.not.equal(startedBefore);
    expect(existsSync(journalPath(stateDir)), 'journal removed').to.equal(false);
  });
});
