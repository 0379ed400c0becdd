import type Docker from 'dockerode';
import { expect } from 'chai';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  RESTIC_IMAGE,
  WORKLOAD_IMAGE,
  removeLabeled,
  requireEngine,
  runId,
} from './support/engine.js';
import {
  eventually,
  isolate,
  prefixOf,
  runCli,
  spawnDaemon,
  stopDaemon,
  tempConfig,
} from './support/plan-cli.js';
import { createContainer } from '@dockop/docker';

// `--apply` against a stand-in Backrest container: restarted exactly once per change, and a
// config that makes it die is rolled back with Backrest left running.
describe('backrest-sidecar reconcile --apply (integration)', function () {
  this.timeout(180_000);
  let docker: Docker;
  const run = runId();
  const tag = run.replace(/-/g, '');
  const dirs: string[] = [];
  const runLabel = `dockop.test.run=${run}`;
  const port = 20_000 + Math.floor(Math.random() * 20_000);

  before(async function () {
    docker = await requireEngine(this);
  });

  after(async function () {
    if (!docker) return;
    await removeLabeled(docker, runLabel);
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  async function standIn(name: string, dir: string, cmd: string): Promise<void> {
    await createContainer(docker, {
      name,
      Image: WORKLOAD_IMAGE,
      Cmd: ['sh', '-c', cmd],
      Labels: { 'dockop.test.run': run, 'dockop.test.role': 'backrest' },
      HostConfig: { NetworkMode: 'none', Binds: [`${dir}:/config`] },
    });
    await docker.getContainer(name).start();
  }

  /** `scope` isolates each test's workloads (`--selector dockop.test.scope=<scope>`). */
  async function workload(name: string, scope: string): Promise<void> {
    await createContainer(docker, {
      name,
      Image: WORKLOAD_IMAGE,
      Cmd: ['sleep', '3600'],
      Labels: { 'dockop.test.run': run, 'dockop.test.scope': scope, 'backrest.enable': 'true' },
      HostConfig: { NetworkMode: 'none', Binds: [`/srv/${name}:/data`] },
    });
  }

  async function started(name: string): Promise<{ startedAt: string; running: boolean }> {
    const info = await docker.getContainer(name).inspect();
    return { startedAt: info.State.StartedAt, running: info.State.Running };
  }

  const applyFlags = (name: string, scope: string) => [
    '--apply',
    '--backrest-container',
    name,
    '--apply-stable',
    '2s',
    ...isolate(scope).map((f) => f.replace('dockop.test.run=', 'dockop.test.scope=')),
  ];
  // busybox sleep as PID 1 ignores SIGTERM: trap it so `docker restart` needs no 10 s kill.
  const serve = (body: string) => `trap 'exit 0' TERM; ${body} sleep 3600 & wait`;

  it('restarts the stand-in once per change and not at all without one', async () => {
    const { dir, path: file } = await tempConfig();
    dirs.push(dir);
    const backrest = `backrest-${tag}`;
    const scope = `${run}-a`;
    await standIn(backrest, dir, serve(''));
    await workload(`w1-${tag}`, scope);
    const t0 = await started(backrest);

    const first = await runCli(['reconcile', '--config', file, ...applyFlags(backrest, scope)]);
    expect(first.code, first.stderr + first.stdout).to.equal(0);
    const t1 = await started(backrest);
    expect(t1.running).to.equal(true);
    expect(t1.startedAt).to.not.equal(t0.startedAt);
    expect(first.logs.filter((l) => l.action === 'backrest.restarted')).to.have.length(1);

    const unchanged = await runCli(['reconcile', '--config', file, ...applyFlags(backrest, scope)]);
    expect(unchanged.code).to.equal(2);
    expect((await started(backrest)).startedAt).to.equal(t1.startedAt);

    await workload(`w2-${tag}`, scope);
    const second = await runCli(['reconcile', '--config', file, ...applyFlags(backrest, scope)]);
    expect(second.code, second.stderr).to.equal(0);
    const t2 = await started(backrest);
    expect(t2.startedAt).to.not.equal(t1.startedAt);
    expect(second.logs.filter((l) => l.action === 'backrest.restarted')).to.have.length(1);
  });

  it('rolls back when the restarted Backrest dies, leaving the previous config and Backrest running', async () => {
    const { dir, path: file } = await tempConfig();
    dirs.push(dir);
    const backrest = `backrest-dying-${tag}`;
    // Reads the config at start and exits when it holds a plan id marked BAD.
    const scope = `${run}-b`;
    await standIn(
      backrest,
      dir,
      serve('if grep -q BAD /config/config.json; then echo bad config >&2; exit 1; fi;'),
    );
    const before = await readFile(file, 'utf8');
    await workload(`BAD-${tag}`, scope);

    const r = await runCli(['reconcile', '--config', file, ...applyFlags(backrest, scope)], {
      timeoutMs: 90_000,
    });
    expect(r.code, r.stderr + r.stdout).to.equal(3);
    expect(
      r.logs.some((l) => l.action === 'config.rolled_back' && l.rolled_back === true),
    ).to.equal(true);
    expect(await readFile(file, 'utf8')).to.equal(before);
    expect((await started(backrest)).running).to.equal(true);
  });

  it('Backrest stopped: writes the config, does not start it, no rollback; exit 0 (3 with --require-apply)', async () => {
    const { dir, path: file } = await tempConfig();
    dirs.push(dir);
    const backrest = `backrest-stopped-${tag}`;
    const scope = `${run}-c`;
    await standIn(backrest, dir, serve(''));
    await docker.getContainer(backrest).stop({ t: 1 });
    await workload(`w3-${tag}`, scope);

    const r = await runCli(['reconcile', '--config', file, ...applyFlags(backrest, scope)]);
    expect(r.code, r.stderr + r.stdout).to.equal(0);
    expect(await readFile(file, 'utf8')).to.include(`w3-${tag}`);
    expect((await started(backrest)).running).to.equal(false);
    const warn = r.logs.find((l) => l.action === 'backrest.not_running');
    expect(warn?.container).to.equal(backrest);
    expect(r.logs.some((l) => l.action === 'config.rolled_back')).to.equal(false);

    // Absent (misnamed) container, --require-apply: written, not rolled back, exit 3.
    await workload(`w4-${tag}`, scope);
    const missing = await runCli([
      'reconcile',
      '--config',
      file,
      ...applyFlags(`no-such-backrest-${tag}`, scope),
      '--require-apply',
    ]);
    expect(missing.code, missing.stderr + missing.stdout).to.equal(3);
    expect(await readFile(file, 'utf8')).to.include(`w4-${tag}`);
    expect(missing.logs.some((l) => l.action === 'config.rolled_back')).to.equal(false);
  });

  it('busy Backrest (a restic process runs): no restart until it ends, then exactly one (daemon)', async () => {
    const { dir, path: file } = await tempConfig();
    dirs.push(dir);
    const backrest = `backrest-busy-${tag}`;
    const scope = `${run}-d`;
    // A real restic process (waiting for its password command) that runs until /config/done.
    await createContainer(docker, {
      name: backrest,
      Image: RESTIC_IMAGE,
      Entrypoint: ['/bin/sh'],
      Cmd: [
        '-c',
        serve(
          `restic -r /tmp/repo --password-command "sh -c 'while [ ! -e /config/done ]; do sleep 0.2; done; echo pw'" init & `,
        ),
      ],
      Labels: { 'dockop.test.run': run, 'dockop.test.role': 'backrest' },
      HostConfig: { NetworkMode: 'none', Binds: [`${dir}:/config`] },
    });
    await docker.getContainer(backrest).start();
    const t0 = await started(backrest);
    const daemon = spawnDaemon([
      '--config',
      file,
      '--with-events',
      ...applyFlags(backrest, scope),
      '--apply-cooldown',
      '1s',
      '--state-dir',
      dir,
      '--http-addr',
      `127.0.0.1:${port}`,
    ]);
    const { logs } = daemon;
    try {
      await eventually(() => logs.some((l) => l.action === 'config.unchanged'), 30_000, 'start');
      await workload(`w5-${tag}`, scope);
      await docker.getContainer(`w5-${tag}`).start();
      await eventually(
        async () => (await readFile(file, 'utf8')).includes(`w5-${tag}`),
        10_000,
        'plan on disk',
      );
      await eventually(() => logs.some((l) => l.action === 'apply.deferred'), 15_000, 'deferred');
      await new Promise((r) => setTimeout(r, 3_000));
      expect((await started(backrest)).startedAt).to.equal(t0.startedAt);
      // Visible in describe (another process, through the state dir) and in the metric.
      const scoped = isolate(scope).map((f) => f.replace('dockop.test.run=', 'dockop.test.scope='));
      const described = await runCli([
        'describe',
        'plan',
        `${prefixOf(scope)}w5-${tag}`,
        '--config',
        file,
        '--state-dir',
        dir,
        ...scoped,
      ]);
      const status = await readFile(path.join(dir, 'apply-status.json'), 'utf8').catch(
        (e: Error) => e.message,
      );
      expect(described.stdout, `${status}\n${described.stderr}`).to.match(
        /Apply: +Deferred since /,
      );
      expect(described.stdout).to.include('restic');
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(metrics).to.match(
        new RegExp(`backrest_sidecar_apply_deferred\\{container="${backrest}"\\} 1`),
      );
      await writeFile(path.join(dir, 'done'), '');
      await eventually(
        () => logs.some((l) => l.action === 'backrest.restarted'),
        30_000,
        'restarted after the operation ended',
      );
      await new Promise((r) => setTimeout(r, 2_000));
      expect(logs.filter((l) => l.action === 'backrest.restarted')).to.have.length(1);
    } finally {
      await stopDaemon(daemon);
    }
  });

  it('crash loop after our write (daemon): rolled back, Backrest up again, then the next different config is written', async () => {
    const { dir, path: file } = await tempConfig();
    dirs.push(dir);
    const backrest = `backrest-loop-${tag}`;
    const scope = `${run}-e`;
    await createContainer(docker, {
      name: backrest,
      Image: WORKLOAD_IMAGE,
      Cmd: [
        'sh',
        '-c',
        serve('if grep -q BAD /config/config.json; then echo bad config >&2; exit 1; fi;'),
      ],
      Labels: { 'dockop.test.run': run, 'dockop.test.role': 'backrest' },
      HostConfig: {
        NetworkMode: 'none',
        Binds: [`${dir}:/config`],
        RestartPolicy: { Name: 'always' },
      },
    });
    await docker.getContainer(backrest).start();
    const daemon = spawnDaemon([
      '--config',
      file,
      '--with-events',
      ...applyFlags(backrest, scope),
      '--apply-cooldown',
      '1s',
    ]);
    const { logs } = daemon;
    try {
      await eventually(() => logs.some((l) => l.action === 'config.unchanged'), 30_000, 'start');
      await workload(`BAD2-${tag}`, scope);
      await docker.getContainer(`BAD2-${tag}`).start();
      await eventually(
        () => logs.some((l) => l.action === 'config.rolled_back' && l.rolled_back === true),
        60_000,
        'rolled back',
      );
      await eventually(async () => (await started(backrest)).running, 30_000, 'Backrest up');
      const actions = logs.map((l) => `${String(l.action)} ${String(l.plan_id ?? '')}`).join('\n');
      expect(await readFile(file, 'utf8'), actions).to.not.include('BAD');
      // The bad container leaves: the next config differs and is written normally.
      await docker.getContainer(`BAD2-${tag}`).remove({ force: true });
      await workload(`good-${tag}`, scope);
      await docker.getContainer(`good-${tag}`).start();
      await eventually(
        async () => (await readFile(file, 'utf8')).includes(`good-${tag}`),
        30_000,
        'next config written',
      );
    } finally {
      await stopDaemon(daemon);
    }
  });

  it('API mode against an HTTP stand-in that checks modno: one SetConfig with the read modno, a bad plan left out, no restart', async () => {
    const scope = `${run}-f`;
    let config: Record<string, unknown> = {
      modno: 41,
      version: 6,
      instance: 'host-a',
      repos: [{ id: 'default', uri: '/repo', password: 'secret' }],
      plans: [],
    };
    const sets: Record<string, unknown>[] = [];
    let refusedSets = 0;
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        const reply = (status: number, payload: unknown) => {
          res.writeHead(status, { 'content-type': 'application/json' });
          res.end(JSON.stringify(payload));
        };
        if (req.url === '/v1.Backrest/GetConfig') return reply(200, config);
        if (req.url === '/v1.Backrest/SetConfig') {
          const next = JSON.parse(body) as Record<string, unknown>;
          if (next.modno !== config.modno) {
            refusedSets++;
            return reply(500, {
              code: 'unknown',
              message: 'config modno mismatch, reload and try again',
            });
          }
          sets.push(next);
          config = { ...next, modno: (next.modno as number) + 1 };
          return reply(200, config);
        }
        reply(404, { code: 'not_found', message: String(req.url) });
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      await workload(`api-${tag}`, scope);
      await createContainer(docker, {
        name: `apibad-${tag}`,
        Image: WORKLOAD_IMAGE,
        Cmd: ['sleep', '3600'],
        Labels: {
          'dockop.test.run': run,
          'dockop.test.scope': scope,
          'backrest.enable': 'true',
          'backrest.repo': 'no_such_repo',
        },
        HostConfig: { NetworkMode: 'none', Binds: [`/srv/apibad-${tag}:/data`] },
      });
      const { dir, path: file } = await tempConfig();
      dirs.push(dir);
      const r = await runCli([
        'reconcile',
        '--config',
        file,
        '--apply-mode',
        'api',
        '--backrest-url',
        url,
        ...isolate(scope).map((f) => f.replace('dockop.test.run=', 'dockop.test.scope=')),
      ]);
      expect(r.code, r.stderr + r.stdout).to.be.oneOf([0, 3]);
      expect(sets).to.have.length(1);
      expect(refusedSets).to.equal(0);
      expect(sets[0]?.modno).to.equal(41);
      const ids = ((config.plans as { id: string }[]) ?? []).map((p) => p.id);
      expect(ids.some((id) => id.includes(`api-${tag}`))).to.equal(true);
      expect(ids.some((id) => id.includes(`apibad-${tag}`))).to.equal(false);
      expect(config.modno).to.equal(42);
      expect(r.logs.some((l) => l.action === 'backrest.restarted')).to.equal(false);
    } finally {
      server.close();
    }
  });
});
