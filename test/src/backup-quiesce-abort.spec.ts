// A SIGTERM to backup-once while `docker stop` is in flight: dockerd finishes the stop after our
// request is gone, so a plain `start` (304, still running) would leave the container down. The run
// must wait for the stop to finish, start the container, confirm it runs, then drop the journal.
import type Docker from 'dockerode';
import { expect } from 'chai';
import { existsSync } from 'node:fs';
import { journalPath } from '@backrest-sidecar/controller-backup';
import { requireEngine } from './support/engine.js';
import { parseJsonLines } from './support/plan-cli.js';
import { QuiesceRun } from './support/quiesce-run.js';

describe('backup-once: SIGTERM while a quiesce stop is in flight (integration)', function () {
  this.timeout(120_000);
  let docker: Docker;
  const q = new QuiesceRun('quiesce-abort');

  before(async function () {
    docker = await requireEngine(this);
    await q.prepare();
  });

  after(async () => q.cleanUp(docker));

  it('waits for the stop to finish, starts the container, confirms it runs, then removes the journal', async function () {
    // Takes ~4 s to stop: the TERM trap sleeps before exiting (well inside the 20 s grace period).
    const c = await q.container(docker, 4);
    const startedBefore = (await c.inspect()).State.StartedAt;

    const child = q.spawnBackup(['--stop-timeout', '20s'], ['pipe', 'pipe']);
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));

    // The stop request is out once the journal marks it and the log says so.
    const deadline = Date.now() + 30_000;
    while (!out.includes('"quiesce.stopping"')) {
      if (Date.now() > deadline) throw new Error(`backup-once never started stopping:\n${out}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    await new Promise((r) => setTimeout(r, 1000));
    // The container is still shutting down (its trap sleeps): the stop is in flight.
    expect((await c.inspect()).State.Running, 'container still stopping').to.equal(true);
    expect(existsSync(journalPath(q.stateDir))).to.equal(true);
    child.kill('SIGTERM');
    const code = await exited;

    expect(code, out).to.not.equal(0);
    const logs = parseJsonLines(out);
    const actions = logs.map((l) => l['action']);
    expect(actions, out).to.include('signal.received');
    expect(actions, out).to.include('quiesce.awaiting_stop');
    expect(actions, out).to.include('quiesce.started');
    const state = (await c.inspect()).State;
    expect(state.Running, out).to.equal(true);
    // It really went down and was started again by us (not left running by a no-op start).
    expect(state.StartedAt).to.not.equal(startedBefore);
    expect(existsSync(journalPath(q.stateDir)), 'journal removed').to.equal(false);
    // And it stays up (a late exit of the interrupted stop would show here).
    await new Promise((r) => setTimeout(r, 2000));
    expect((await c.inspect()).State.Running).to.equal(true);
  });
});
