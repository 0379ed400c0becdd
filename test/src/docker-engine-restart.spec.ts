// @dockop/docker across a restart of the engine: the informer reconnects, relists and converges.
// Needs an engine that scripts/docker-engine.sh started (it refuses to restart any other).
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import type Docker from 'dockerode';
import { createContainer, DockerodeClient, DockerSource } from '@dockop/docker';
import { removeLabeled, requireEngine, runId, WORKLOAD_IMAGE } from './support/engine.js';
import { testDefinition, until, WatchingSink } from './support/docker-sink.js';

const exec = promisify(execFile);
const script = path.resolve(import.meta.dirname, '../../scripts/docker-engine.sh');

function engineScript(cmd: 'up' | 'down' | 'status'): Promise<string> {
  return exec('bash', [script, cmd], { timeout: 90_000 }).then((r) => r.stdout.trim());
}

describe('docker informer across an engine restart (real engine)', function () {
  this.timeout(90_000);
  const id = runId().replace(/-/g, '');
  const prefix = `itrs${id}`;
  const def = testDefinition(`Restart${id}`, prefix);
  const key = (name: string): string => `${def.kind}/${name}`;
  let engine: Docker;
  let controller: AbortController | undefined;
  // Set once this suite took the engine down: only then does `after` have one to bring back.
  let tookEngineDown = false;

  before(async function () {
    engine = await requireEngine(this);
    const status = await engineScript('status').catch(() => '');
    if (!status.includes('started by dockop')) {
      const reason = `the engine was not started by scripts/docker-engine.sh (status: ${status || 'unknown'}): not restarting it`;
      if (process.env.CI === 'true') throw new Error(reason);
      console.warn(`    skipped: ${reason}`);
      this.skip();
    }
  });

  after(async function () {
    this.timeout(120_000);
    controller?.abort();
    // Whatever happened after we took it down, leave an engine running for everyone else.
    if (tookEngineDown) await engineScript('up');
    if (engine) await removeLabeled(engine, `${prefix}.enable`);
  });

  function create(
    name: string,
    extra: Partial<Docker.ContainerCreateOptions> = {},
  ): Promise<Docker.Container> {
    return createContainer(engine, {
      name,
      Image: WORKLOAD_IMAGE,
      Cmd: ['sleep', '300'],
      Labels: { [`${prefix}.enable`]: 'true' },
      ...extra,
      HostConfig: { RestartPolicy: { Name: 'no' }, ...extra.HostConfig },
    });
  }

  it('reconnects, sees new containers and deletes the ones that vanished', async () => {
    const sink = new WatchingSink();
    const source = new DockerSource(
      new DockerodeClient(),
      [def],
      undefined,
      undefined,
      undefined,
      undefined,
      {
        recreateGraceMs: 0,
        // Bounded test: reconnect at most 2 s after the engine is back.
        reconnect: { initialMs: 200, maxMs: 2_000 },
      },
    );
    controller = new AbortController();
    await source.start(sink, controller.signal);

    const stays = `${prefix}-stays`;
    const removedAfterUp = `${prefix}-removed`;
    const autoRemoved = `${prefix}-autorm`;
    await create(stays);
    await create(removedAfterUp);
    // --rm and running: dockerd removes it while restoring after the restart, before any
    // events stream can see it, so only the relist diff can notice it vanished.
    // PID 1 ignores SIGTERM unless it traps it: without the trap dockerd's shutdown waits 10 s.
    const auto = await create(autoRemoved, {
      Cmd: ['sh', '-c', 'trap "exit 0" TERM; while :; do sleep 1; done'],
      HostConfig: { AutoRemove: true },
    });
    await auto.start();
    await sink.waitFor('three containers', () =>
      [stays, removedAfterUp, autoRemoved].every((n) => sink.get(key(n))),
    );

    const tDown = Date.now();
    tookEngineDown = true;
    await engineScript('down');
    await until('the events stream to drop', () => !source.healthy(), 10_000);
    await engineScript('up');
    const tUp = Date.now();
    // Right after `up`: the informer is most likely still waiting for its backoff.
    await engine.getContainer(removedAfterUp).remove({ force: true });
    const fresh = `${prefix}-fresh`;
    await create(fresh);

    await until(
      'reconnect and convergence',
      () =>
        source.healthy() &&
        sink.get(key(fresh)) !== undefined &&
        sink.get(key(removedAfterUp)) === undefined &&
        sink.get(key(autoRemoved)) === undefined,
      20_000,
    );
    const converged = Date.now();
    console.log(
      `      engine down→up ${tUp - tDown} ms; up → informer converged ${converged - tUp} ms`,
    );
    expect(sink.get(key(stays))?.status?.state).to.equal('created');
    for (const gone of [removedAfterUp, autoRemoved]) {
      expect(sink.recordsFor(key(gone)).map((r) => r.op)).to.include('delete');
    }
    expect(source.hasSynced()).to.equal(true);
  });
});
