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
import { readFile, rm } from 'node:fs/promises';
import {
  eventually,
  isolate,
  prefixOf,
  spawnDaemon,
  stopDaemon,
  tempConfig,
} from './support/plan-cli.js';

const exec = promisify(execFile);
const script = path.resolve(import.meta.dirname, '../../scripts/docker-engine.sh');

/**
 * The engine script, given its own 180 s wait for dockerd and then some: a restarted dockerd first
 * removes the network sandboxes of the containers it ran since its last start (98 s once here).
 */
function engineScript(cmd: 'up' | 'down' | 'status'): Promise<string> {
  return exec('bash', [script, cmd], { timeout: 200_000 }).then((r) => r.stdout.trim());
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
    this.timeout(240_000);
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

  it('reconnects, sees new containers and deletes the ones that vanished', async function () {
    // dockerd stops every running container on the host before it exits: on a busy host (other
    // tests' containers) one restart alone can take a minute.
    this.timeout(300_000);
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

  it('daemon: a plan on disk within 2 s of the engine answering, after three restarts in a row', async function () {
    this.timeout(300_000);
    const run = runId();
    const { dir, path: file } = await tempConfig();
    // Default reconnect backoff: without the /_ping probe, three restarts grow it to seconds.
    const daemon = spawnDaemon(['--config', file, '--with-events', ...isolate(run)]);
    const { logs } = daemon;
    try {
      await eventually(() => logs.some((l) => l.action === 'config.unchanged'), 60_000, 'start');
      const started = Date.now();
      for (let i = 0; i < 3; i++) {
        const drops = logs.filter((l) => String(l.action).startsWith('docker.stream.')).length;
        tookEngineDown = true;
        await engineScript('down');
        await eventually(
          () =>
            logs.filter((l) => /^docker\.stream\.(ended|failed)$/.test(String(l.action))).length >
              0 && logs.filter((l) => String(l.action).startsWith('docker.stream.')).length > drops,
          20_000,
          'the daemon saw the stream drop',
        );
        await engineScript('up');
      }
      const upAt = Date.now();
      const name = `eng-${run}`;
      const c = await createContainer(engine, {
        name,
        Image: WORKLOAD_IMAGE,
        Cmd: ['sleep', '300'],
        Labels: { 'dockop.test.run': run, 'backrest.enable': 'true', [`${prefix}.enable`]: 'true' },
        HostConfig: { NetworkMode: 'none', Binds: [`/srv/${name}:/data`] },
      });
      await c.start();
      await eventually(
        async () => (await readFile(file, 'utf8')).includes(`${prefixOf(run)}${name}`),
        30_000,
        'plan on disk',
      );
      const onDisk = Date.now() - upAt;
      const attempts = logs
        .filter((l) => l.action === 'docker.stream.reconnecting')
        .map((l) => l.attempt);
      console.log(
        `      3 restarts in ${Math.round((upAt - started) / 1000)} s; engine answering → plan on disk ${onDisk} ms; reconnect attempts ${attempts.join(',')}; engine.back ${logs.filter((l) => l.action === 'docker.engine.back').length}`,
      );
      // Not asserted: docker.engine.back (the /_ping probe cut a backoff short). dockerd listens on
      // its socket before it serves, so a stream opened at the end of a backoff while it starts is
      // held and connects when it serves, without the probe (CI, 2026-12: no engine.back in three
      // restarts). The probe itself: container-informer.spec.ts; here, only the time to a plan.
      // Goal 2 s; the margin is for a loaded 2-core box (docker run itself is part of it).
      expect(onDisk).to.be.lessThan(4_000);
    } finally {
      await stopDaemon(daemon);
      await rm(dir, { recursive: true, force: true });
    }
  });
});
