// ContainerActions against the real engine.
import { expect } from 'chai';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type Docker from 'dockerode';
import {
  createContainer,
  ActionError,
  DockerContainerActions,
  DockerodeClient,
} from '@dockop/docker';
import { removeLabeled, requireEngine, runId, WORKLOAD_IMAGE } from './support/engine.js';

async function rejection(p: Promise<unknown>): Promise<ActionError> {
  try {
    await p;
  } catch (err) {
    expect(err).to.be.instanceOf(ActionError);
    return err as ActionError;
  }
  throw new Error('expected an ActionError');
}

describe('docker actions (real engine)', function () {
  const id = runId();
  const runLabel = `itact.run`;
  let engine: Docker;
  let actions: DockerContainerActions;
  let dir: string;

  before(async function () {
    engine = await requireEngine(this);
    actions = new DockerContainerActions(new DockerodeClient());
    dir = mkdtempSync(path.join(tmpdir(), 'dockop-actions-'));
  });

  after(async function () {
    this.timeout(60_000);
    if (engine) await removeLabeled(engine, `${runLabel}=${id}`);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function gone(containerId: string): Promise<boolean> {
    return engine
      .getContainer(containerId)
      .inspect()
      .then(() => false)
      .catch((e: { statusCode?: number }) => e.statusCode === 404);
  }

  async function workload(
    name: string,
    extra: Partial<Docker.ContainerCreateOptions> = {},
  ): Promise<Docker.Container> {
    const c = await createContainer(engine, {
      name,
      Image: WORKLOAD_IMAGE,
      Cmd: ['sleep', '300'],
      Labels: { [runLabel]: id },
      HostConfig: { RestartPolicy: { Name: 'no' } },
      ...extra,
    });
    return c;
  }

  describe('runOneShot', () => {
    it('streams demultiplexed log lines, returns the exit code and removes the container', async () => {
      const lines: string[] = [];
      const result = await actions.runOneShot(
        {
          image: WORKLOAD_IMAGE,
          cmd: ['sh', '-c', 'echo one; echo two >&2; printf "three\\nfour"; exit 3'],
          env: { SECRET_THING: 'not-logged' },
          labels: { [runLabel]: id },
        },
        { onLog: (line, stream) => lines.push(`${stream}:${line}`) },
      );
      expect(result.exitCode).to.equal(3);
      expect(result.durationMs).to.be.a('number');
      expect(lines.filter((l) => l.startsWith('stdout:'))).to.deep.equal([
        'stdout:one',
        'stdout:three',
        'stdout:four',
      ]);
      expect(lines.filter((l) => l.startsWith('stderr:'))).to.deep.equal(['stderr:two']);
      expect(await gone(result.containerId)).to.equal(true);
    });

    it('passes env, mounts, user and working dir; keeps the container with autoRemove false', async () => {
      const result = await actions.runOneShot({
        image: WORKLOAD_IMAGE,
        entrypoint: ['sh', '-c'],
        cmd: ['echo "$GREETING from $(pwd) as $(id -u)" > /out/result.txt'],
        env: { GREETING: 'hello' },
        mounts: [{ type: 'bind', source: dir, target: '/out' }],
        user: '0',
        workingDir: '/tmp',
        labels: { [runLabel]: id },
        name: `itact-keep-${id}`,
        autoRemove: false,
      });
      expect(result.exitCode).to.equal(0);
      expect(readFileSync(path.join(dir, 'result.txt'), 'utf8')).to.equal('hello from /tmp as 0\n');
      expect(await gone(result.containerId)).to.equal(false);
    });

    it('kills and removes the container on timeout', async () => {
      const name = `itact-slow-${id}`;
      const err = await rejection(
        actions.runOneShot(
          { image: WORKLOAD_IMAGE, cmd: ['sleep', '60'], name, labels: { [runLabel]: id } },
          { timeoutMs: 1500 },
        ),
      );
      expect(err.code).to.equal('Timeout');
      expect(await gone(name)).to.equal(true);
    });

    it('kills and removes the container on abort', async () => {
      const name = `itact-abort-${id}`;
      const ac = new AbortController();
      const p = actions.runOneShot(
        { image: WORKLOAD_IMAGE, cmd: ['sleep', '60'], name, labels: { [runLabel]: id } },
        { signal: ac.signal },
      );
      setTimeout(() => ac.abort(new Error('shutting down')), 500);
      const err = await rejection(p);
      expect(err.code).to.equal('Aborted');
      expect(await gone(name)).to.equal(true);
    });

    it('on abort sends stopSignal first and waits for the exit; SIGKILL after stopGraceMs', async () => {
      // The trap's marker is written only when the process gets SIGINT and time to run it.
      const trapping = (marker: string, then: string): string[] => [
        `trap 'touch /out/${marker}; ${then}' INT; while :; do sleep 0.1; done`,
      ];
      const run = async (
        marker: string,
        then: string,
        extra: { stopSignal?: string; stopGraceMs?: number },
      ): Promise<{ code: string; ms: number; name: string }> => {
        const name = `itact-${marker}-${id}`;
        const ac = new AbortController();
        const p = actions.runOneShot(
          {
            image: WORKLOAD_IMAGE,
            entrypoint: ['sh', '-c'],
            cmd: trapping(marker, then),
            mounts: [{ type: 'bind', source: dir, target: '/out' }],
            user: '0',
            name,
            labels: { [runLabel]: id },
            ...extra,
          },
          { signal: ac.signal },
        );
        setTimeout(() => ac.abort(new Error('shutting down')), 1000);
        const t0 = Date.now() + 1000;
        const err = await rejection(p);
        return { code: err.code, ms: Date.now() - t0, name };
      };
      const marked = (marker: string): boolean => existsSync(path.join(dir, marker));

      const graceful = await run('int-exits', 'exit 0', { stopSignal: 'SIGINT' });
      expect(graceful.code).to.equal('Aborted');
      expect(marked('int-exits')).to.equal(true);
      expect(await gone(graceful.name)).to.equal(true);

      // Handles SIGINT but never exits: killed once the grace is over.
      const stubborn = await run('int-stays', 'true', { stopSignal: 'SIGINT', stopGraceMs: 1500 });
      expect(stubborn.code).to.equal('Aborted');
      expect(marked('int-stays')).to.equal(true);
      expect(stubborn.ms).to.be.at.least(1400);
      expect(await gone(stubborn.name)).to.equal(true);

      // Without a stopSignal: SIGKILL at once, the trap never runs.
      const killed = await run('no-signal', 'exit 0', {});
      expect(killed.code).to.equal('Aborted');
      expect(marked('no-signal')).to.equal(false);
      expect(await gone(killed.name)).to.equal(true);
    });

    it('fails with a clear error for a missing image', async () => {
      const err = await rejection(
        actions.runOneShot({ image: 'dockop/does-not-exist:none', labels: { [runLabel]: id } }),
      );
      expect(err.code).to.equal('NotFound');
      expect(err.message).to.contain('dockop/does-not-exist:none');
    });
  });

  describe('lifecycle', () => {
    it('stop and start are idempotent; restart restarts; list filters by label', async () => {
      const name = `itact-life-${id}`;
      await workload(name);
      await actions.start(name);
      await actions.start(name);
      const before = await actions.inspect(name);
      expect(before.State.Running).to.equal(true);
      await actions.restart(name, { timeoutSec: 0 });
      const after = await actions.inspect(name);
      expect(after.State.StartedAt).to.not.equal(before.State.StartedAt);
      await actions.stop(name, { timeoutSec: 0 });
      await actions.stop(name, { timeoutSec: 0 });
      expect((await actions.inspect(name)).State.Running).to.equal(false);
      const listed = await actions.list({ label: [`${runLabel}=${id}`], name: [name] });
      expect(listed.map((c) => c.Names[0])).to.deep.equal([`/${name}`]);
    });

    it('waits for healthy and stable', async function () {
      this.timeout(30_000);
      const name = `itact-health-${id}`;
      await workload(name, {
        Healthcheck: {
          Test: ['CMD', 'true'],
          Interval: 500_000_000,
          StartPeriod: 0,
          Retries: 1,
          Timeout: 1_000_000_000,
        },
      });
      await actions.start(name);
      await actions.waitFor(name, 'healthy', { timeoutMs: 15_000 });
      expect((await actions.inspect(name)).State.Health?.Status).to.equal('healthy');
      await actions.waitFor(name, 'stable', { timeoutMs: 15_000, stableMs: 1_000 });
    });

    it('reports Unhealthy for a failing healthcheck', async function () {
      this.timeout(30_000);
      const name = `itact-sick-${id}`;
      await workload(name, {
        Healthcheck: {
          Test: ['CMD', 'false'],
          Interval: 300_000_000,
          StartPeriod: 0,
          Retries: 1,
          Timeout: 1_000_000_000,
        },
      });
      await actions.start(name);
      const err = await rejection(actions.waitFor(name, 'healthy', { timeoutMs: 15_000 }));
      expect(err.code).to.equal('Unhealthy');
    });

    it('times out waiting for a container that exits', async () => {
      const name = `itact-exits-${id}`;
      await workload(name, { Cmd: ['true'] });
      await actions.start(name);
      const err = await rejection(
        actions.waitFor(name, 'stable', { timeoutMs: 1_000, stableMs: 500 }),
      );
      expect(err.code).to.equal('Timeout');
      expect(err.message).to.contain('exited');
    });

    it('rejects NotFound for a container that does not exist', async () => {
      for (const p of [
        actions.inspect(`itact-ghost-${id}`),
        actions.restart(`itact-ghost-${id}`),
        actions.stop(`itact-ghost-${id}`),
      ]) {
        expect((await rejection(p)).code).to.equal('NotFound');
      }
    });
  });
});
