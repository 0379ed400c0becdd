// A SIGTERM to backup-once while `docker stop` is in flight: dockerd finishes the stop after our
// request is gone, so a plain `start` (304, still running) would leave the container down. The run
// must wait for the stop to finish, start the container, confirm it runs, then drop the journal.
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
import { CLI_BIN, parseJsonLines } from './support/plan-cli.js';

describe('backup-once: SIGTERM while a quiesce stop is in flight (integration)', function () {
  this.timeout(120_000);
  let docker: Docker;
  const run = runId();
  const runLabel = `dockop.test.run=quiesce-abort-${run}`;
  const quiesceKey = `dockop.test.quiesce-abort-${run}`;
  let stateDir: string;

  before(async function () {
    docker = await requireEngine(this);
    stateDir = await mkdtemp(path.join(tmpdir(), 'quiesce-abort-'));
  });

  after(async function () {
    if (docker) await removeLabeled(docker, runLabel);
    if (stateDir) await rm(stateDir, { recursive: true, force: true });
  });

  it('waits for the stop to finish, starts the container, confirms it runs, then removes the journal', async function () {
    // Takes ~4 s to stop: the TERM trap sleeps before exiting (well inside the 20 s grace period).
    const c = await createContainer(docker, {
      name: `quiesce-abort-${run}`,
      Image: WORKLOAD_IMAGE,
      Cmd: ['sh', '-c', 'trap "sleep 4; exit 0" TERM; while true; do sleep 1; done'],
      Labels: { 'dockop.test.run': `quiesce-abort-${run}`, [quiesceKey]: 'true' },
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
        '--stop-timeout',
        '20s',
        '--state-dir',
        stateDir,
        '--selector',
        runLabel,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
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
    expect(existsSync(journalPath(stateDir))).to.equal(true);
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
    expect(existsSync(journalPath(stateDir)), 'journal removed').to.equal(false);
    // And it stays up (a late exit of the interrupted stop would show here).
    await new Promise((r) => setTimeout(r, 2000));
    expect((await c.inspect()).State.Running).to.equal(true);
  });
});
