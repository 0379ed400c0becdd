// End to end: the image from deploy/Dockerfile (built by scripts/build-image.sh on this engine)
// runs the sidecar as the operator guide says — socket and config directory mounted, no network —
// and turns a labeled workload into a plan in config.json, then restarts a stand-in Backrest.
import type Docker from 'dockerode';
import { expect } from 'chai';
import {
  chmodSync,
  chownSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import http from 'node:http';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { WORKLOAD_IMAGE, removeLabeled, requireEngine, runId } from './support/engine.js';
import { BUILD_TIMEOUT_MS, planWithSource, run, waitFor } from './support/deploy.js';
import { createContainer } from '@dockop/docker';

/** A one-shot reconcile lists every labeled container on the engine: a busy shared engine is slow. */
const ONE_SHOT_TIMEOUT_MS = 120_000;
/**
 * The stand-in Backrest: exits on SIGTERM at once. (`sleep` as PID 1 ignores SIGTERM, so
 * `docker restart` would wait out its 10 s stop timeout before killing it.)
 */
const STAND_IN_CMD = ['sh', '-c', 'trap "exit 0" TERM; while true; do sleep 1; done'];

/** The -allow<METHOD>=<regexp> flags of the socket proxy in deploy/compose.socket-proxy.yaml. */
async function proxyAllowlist(): Promise<Map<string, RegExp>> {
  const res = await run('docker', [
    'stack',
    'config',
    '--compose-file',
    'deploy/compose.socket-proxy.yaml',
  ]);
  if (res.code !== 0) throw new Error(`docker stack config: ${res.stderr}`);
  const allow = new Map<string, RegExp>();
  for (const line of res.stdout.split('\n')) {
    const m = /^\s*- -allow([A-Z]+)=(.*)$/.exec(line);
    // socket-proxy anchors each pattern (^...$) and matches the path without the query string.
    if (m?.[1] && m[2] !== undefined) allow.set(m[1], new RegExp(`^${m[2]}$`));
  }
  if (allow.size === 0) throw new Error('no -allow flags found in compose.socket-proxy.yaml');
  return allow;
}

interface FilteringProxy {
  seen: string[];
  refused: string[];
  close(): Promise<void>;
}

/**
 * A stand-in for the socket proxy: serves the Docker API on `socketPath`, forwards what the
 * allowlist admits to the engine's socket (streams included: the event stream stays open), and
 * answers 403 to the rest, recording both.
 */
function filteringProxy(socketPath: string, allow: Map<string, RegExp>): Promise<FilteringProxy> {
  const seen: string[] = [];
  const refused: string[] = [];
  const sockets = new Set<Socket>();
  const server = http.createServer((req, res) => {
    const method = req.method ?? 'GET';
    const p = new URL(req.url ?? '/', 'http://docker').pathname;
    const call = `${method} ${p}`;
    if (!(allow.get(method)?.test(p) ?? false)) {
      refused.push(call);
      res.writeHead(403, { 'content-type': 'text/plain' }).end('Forbidden');
      return;
    }
    seen.push(call);
    const upstream = http.request(
      { socketPath: '/var/run/docker.sock', path: req.url, method, headers: req.headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    res.on('close', () => upstream.destroy());
    req.pipe(upstream);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () =>
      resolve({
        seen,
        refused,
        close: () =>
          new Promise<void>((done) => {
            for (const s of sockets) s.destroy();
            server.close(() => done());
          }),
      }),
    );
  });
}

/** Build the image once per suite; the tag is unique per run and removed afterwards. */
async function buildImage(tag: string): Promise<{ ms: number; mode: string }> {
  const started = Date.now();
  // SKIP_TSC: the test runner has built the tree (tests run from dist/); recompiling here would
  // race with other builds of the same tree.
  const res = await run(
    'bash',
    ['scripts/build-image.sh', tag],
    { SKIP_TSC: '1' },
    BUILD_TIMEOUT_MS,
  );
  if (res.code !== 0) {
    throw new Error(
      `scripts/build-image.sh ${tag} exited ${res.code}:\n${res.stderr.slice(-4000)}`,
    );
  }
  const mode = /building from the local tree/.test(res.stderr) ? 'context' : 'source';
  return { ms: Date.now() - started, mode };
}

describe('deploy: container image (e2e, real engine)', function () {
  let docker: Docker;
  const id = runId();
  const runLabel = `dockop.test.run=${id}`;
  const tag = `dockop/backrest-sidecar:e2e-${id}`;
  /** `docker run --rm` of the image without a network, labeled for the clean-up. */
  const inImage = (dockerArgs: string[], imageArgs: string[], timeoutMs?: number) =>
    run(
      'docker',
      ['run', '--rm', '--network', 'none', '--label', runLabel, ...dockerArgs, tag, ...imageArgs],
      {},
      timeoutMs,
    );
  const standIn = `dockop-e2e-deploy-backrest-${id}`;
  const sidecar = `dockop-e2e-deploy-sidecar-${id}`;
  let work: string;
  let configDir: string;
  let configFile: string;
  let built = false;

  const labels = { 'dockop.test.run': id };

  async function startedAt(name: string): Promise<string> {
    return (await docker.getContainer(name).inspect()).State.StartedAt;
  }

  async function sidecarLogs(): Promise<string> {
    const res = await run('docker', ['logs', '--tail', '60', sidecar]);
    return `${res.stdout}${res.stderr}`;
  }

  /** A labeled workload whose bind mount source is unique: the plan must list exactly it. */
  async function labeledWorkload(
    name: string,
    extra: Record<string, string> = {},
  ): Promise<string> {
    const source = path.join(work, `${name}-data`);
    mkdirSync(source, { recursive: true });
    const c = await createContainer(docker, {
      name,
      Image: WORKLOAD_IMAGE,
      Cmd: ['sleep', '3600'],
      Labels: { ...labels, 'backrest.enable': 'true', ...extra },
      HostConfig: { NetworkMode: 'none', Binds: [`${source}:/data`] },
    });
    await c.start();
    return source;
  }

  before(async function () {
    this.timeout(BUILD_TIMEOUT_MS + 30_000);
    docker = await requireEngine(this);
    work = mkdtempSync(path.join(tmpdir(), 'dockop-deploy-'));
    configDir = path.join(work, 'config');
    mkdirSync(configDir);
    configFile = path.join(configDir, 'config.json');
    const { ms, mode } = await buildImage(tag);
    built = true;
    console.log(`      image ${tag} built in ${ms} ms (${mode} mode)`);
  });

  after(async function () {
    this.timeout(60_000);
    if (!docker) return;
    await removeLabeled(docker, runLabel);
    if (built) await run('docker', ['image', 'rm', '--no-prune', tag]); // keep the layers: the build cache
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('has the documented entry point, command and user, with node and restic inside', async function () {
    this.timeout(60_000);
    const info = await docker.getImage(tag).inspect();
    expect(info.Config.Entrypoint).to.deep.equal(['backrest-sidecar']);
    expect(info.Config.Cmd).to.deep.equal([
      'daemon',
      '--config',
      '/etc/backrest/config.json',
      '--with-events',
      '--apply',
      '--http-addr',
      ':9464',
    ]);
    expect(['', 'root', '0', '0:0']).to.include(info.Config.User);
    // HEALTHCHECK runs the sidecar's own healthcheck against the CMD's --http-addr.
    expect(info.Config.Healthcheck?.Test).to.deep.equal([
      'CMD',
      'backrest-sidecar',
      'healthcheck',
      '--http-addr',
      '127.0.0.1:9464',
    ]);
    const oci = info.Config.Labels ?? {};
    for (const k of ['title', 'version', 'revision', 'source', 'licenses']) {
      expect(oci, k).to.have.property(`org.opencontainers.image.${k}`);
    }

    // Runtime dependencies only: no package manager, no tests or test helpers.
    const inside = await inImage(
      ['--entrypoint', 'sh'],
      [
        '-c',
        "for c in npm npx corepack yarn; do command -v $c; done; find /app -path '*/node_modules' -prune -o \\( -name '*.spec.*' -o -name '*spec-support*' -o -name test-support -o -name '*.d.ts' \\) -print; echo done",
      ],
    );
    expect(inside.code, inside.stderr).to.equal(0);
    expect(inside.stdout.trim()).to.equal('done');

    // A supported Node LTS (20 is past end of life) and a restic that runs.
    const versions = await inImage(
      ['--entrypoint', 'sh'],
      ['-c', 'node --version && restic version'],
    );
    expect(versions.code, versions.stderr).to.equal(0);
    const [nodeVersion = '', resticVersion = ''] = versions.stdout.trim().split('\n');
    expect(Number(/^v(\d+)\./.exec(nodeVersion)?.[1]), nodeVersion).to.be.at.least(22);
    expect(resticVersion).to.match(/^restic \d+\.\d+\.\d+/);

    const help = await inImage([], ['--help']);
    expect(help.code, help.stderr).to.equal(0);
    expect(help.stdout).to.match(/^Usage: backrest-sidecar/);

    // The entry point's memory settings (ADR 0010), seen by a stand-in `node` first on PATH: two
    // glibc arenas unless the operator chose a number, and no V8 flag of its own (the bin sets
    // the daemon's, ninth pass: a heap flag here would turn them off).
    const settings = await inImage(
      ['--entrypoint', 'sh'],
      [
        '-c',
        `mkdir -p /tmp/stand-in && printf '%s\\n' '#!/bin/sh' 'echo "arenas=$MALLOC_ARENA_MAX $*"' > /tmp/stand-in/node && chmod +x /tmp/stand-in/node && export PATH=/tmp/stand-in:$PATH && backrest-sidecar daemon --x && MALLOC_ARENA_MAX=4 backrest-sidecar version`,
      ],
    );
    expect(settings.code, settings.stderr).to.equal(0);
    expect(settings.stdout).to.equal(
      'arenas=2 /app/packages/cli/bin/backrest-sidecar.js daemon --x\n' +
        'arenas=4 /app/packages/cli/bin/backrest-sidecar.js version\n',
    );
    // The image's node takes the daemon's run-time V8 flags silently (V8 prints an error for a
    // flag it does not know, and the daemon would run with its defaults).
    const daemonFlags = await inImage(
      ['--entrypoint', 'node'],
      [
        '-e',
        "const flags = require('/app/packages/cli/dist/compile-cache.cjs').v8FlagsFor('daemon'); for (const f of flags) require('node:v8').setFlagsFromString(f); process.stdout.write(flags.join(' '));",
      ],
    );
    expect(daemonFlags.code, daemonFlags.stderr).to.equal(0);
    expect(daemonFlags.stderr).to.equal('');
    expect(daemonFlags.stdout).to.equal('--semi-space-growth-factor=1 --optimize-for-size');

    const restic = await inImage(['--entrypoint', 'restic'], ['version']);
    expect(restic.code, restic.stderr).to.equal(0);
    expect(restic.stdout).to.match(/^restic \d+\.\d+/);
  });

  it('offers every command of the CLI (reconcile, daemon, get, describe, backup-once, forget)', async function () {
    this.timeout(30_000);
    const help = await inImage([], ['--help']);
    expect(help.code, help.stderr).to.equal(0);
    const commands = help.stdout.split(/^Commands:$/m)[1]?.split(/\n\s*\n/)[0] ?? '';
    const listed = [...commands.matchAll(/^ {2}([a-z][a-z-]*)/gm)].map((m) => m[1]);
    const missing = ['reconcile', 'daemon', 'get', 'describe', 'backup-once', 'forget'].filter(
      (c) => !listed.includes(c),
    );
    expect(missing, `commands missing from --help (listed: ${listed.join(', ')})`).to.deep.equal(
      [],
    );
  });

  it('dry-run in the container with a read-only config mount: renders the plan, writes nothing, exits 2', async function () {
    this.timeout(ONE_SHOT_TIMEOUT_MS + 30_000);
    const dir = path.join(work, 'dry-run');
    mkdirSync(dir);
    const file = path.join(dir, 'config.json');
    const original = `${JSON.stringify({ repos: [{ id: 'default', type: 'local', url: '/repos/default' }], plans: [] }, null, 2)}\n`;
    writeFileSync(file, original);
    const source = await labeledWorkload(`dockop-e2e-deploy-dry-${id}`);

    const res = await inImage(
      ['-v', '/var/run/docker.sock:/var/run/docker.sock:ro', '-v', `${dir}:/etc/backrest:ro`],
      ['reconcile', '--dry-run', '--config', '/etc/backrest/config.json'],
      ONE_SHOT_TIMEOUT_MS,
    );
    expect(res.code, `${res.stdout}\n${res.stderr}`).to.equal(2);
    expect(readFileSync(file, 'utf8')).to.equal(original);
    const rendered = `${res.stdout}\n${res.stderr}`
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.action === 'plan.rendered');
    expect(JSON.stringify(rendered), 'a plan.rendered line for the labeled workload').to.include(
      source,
    );
  });

  it('daemon --with-events --apply: the plan lands in config.json and the stand-in Backrest restarts', async function () {
    this.timeout(150_000);
    writeFileSync(
      configFile,
      `${JSON.stringify({ repos: [{ id: 'default', type: 'local', url: '/repos/default' }], plans: [] }, null, 2)}\n`,
    );
    const backrest = await createContainer(docker, {
      name: standIn,
      Image: WORKLOAD_IMAGE,
      Cmd: STAND_IN_CMD,
      Labels: labels,
      HostConfig: { NetworkMode: 'none' },
    });
    await backrest.start();
    const firstStart = await startedAt(standIn);
    const source = await labeledWorkload(`dockop-e2e-deploy-app-${id}`, {
      'backrest.schedule': '15 3 * * *',
    });

    const t0 = Date.now();
    const side = await createContainer(docker, {
      name: sidecar,
      Image: tag,
      // The image's default CMD plus the stand-in's name, and a resync interval far beyond the
      // waits below: the second workload can only arrive through the event stream.
      Cmd: [
        'daemon',
        '--config',
        '/etc/backrest/config.json',
        '--with-events',
        '--apply',
        '--backrest-container',
        standIn,
        '--interval',
        '600s',
        '--apply-cooldown',
        '1s',
      ],
      Labels: labels,
      HostConfig: {
        NetworkMode: 'none',
        Binds: ['/var/run/docker.sock:/var/run/docker.sock:ro', `${configDir}:/etc/backrest`],
      },
    });
    await side.start();

    try {
      const plan = await waitFor('the first plan in config.json', 60_000, async () =>
        planWithSource(configFile, source),
      );
      const planMs = Date.now() - t0;
      expect(JSON.stringify(plan.schedule)).to.include('15 3 * * *');
      const restarted = await waitFor('the stand-in Backrest to be restarted', 60_000, async () => {
        const s = await startedAt(standIn);
        return s !== firstStart ? s : undefined;
      });
      const restartMs = Date.now() - t0;

      const t1 = Date.now();
      const source2 = await labeledWorkload(`dockop-e2e-deploy-app2-${id}`);
      await waitFor('the second plan (from a Docker event)', 60_000, async () =>
        planWithSource(configFile, source2),
      );
      const eventMs = Date.now() - t1;
      await waitFor('a second restart of the stand-in Backrest', 60_000, async () => {
        const s = await startedAt(standIn);
        return s !== restarted ? s : undefined;
      });
      expect(
        (await docker.getContainer(sidecar).inspect()).State.Running,
        'sidecar still running',
      ).to.equal(true);
      expect(
        (await docker.getContainer(standIn).inspect()).State.Running,
        'stand-in running',
      ).to.equal(true);
      console.log(
        `      first plan ${planMs} ms, first restart ${restartMs} ms after the sidecar started; ` +
          `event-driven plan ${eventMs} ms after docker run`,
      );
    } catch (err) {
      throw new Error(`${(err as Error).message}\n--- sidecar logs ---\n${await sidecarLogs()}`);
    }
  });

  it('through the socket-proxy allowlist only (compose.socket-proxy.yaml): plan written, Backrest restarted, nothing refused', async function () {
    this.timeout(180_000);
    const dir = path.join(work, 'proxied');
    const proxyDir = path.join(work, 'proxy');
    mkdirSync(dir);
    mkdirSync(proxyDir);
    const file = path.join(dir, 'config.json');
    writeFileSync(
      file,
      `${JSON.stringify({ repos: [{ id: 'default', type: 'local', url: '/r' }], plans: [] })}\n`,
    );
    const proxy = await filteringProxy(path.join(proxyDir, 'docker.sock'), await proxyAllowlist());
    const name = `dockop-e2e-deploy-proxied-${id}`;
    const backrestName = `dockop-e2e-deploy-proxied-backrest-${id}`;
    try {
      const backrest = await createContainer(docker, {
        name: backrestName,
        Image: WORKLOAD_IMAGE,
        Cmd: STAND_IN_CMD,
        Labels: labels,
        HostConfig: { NetworkMode: 'none' },
      });
      await backrest.start();
      const firstStart = await startedAt(backrestName);
      const source = await labeledWorkload(`dockop-e2e-deploy-proxied-app-${id}`);
      const side = await createContainer(docker, {
        name,
        Image: tag,
        Cmd: [
          'daemon',
          '--config',
          '/etc/backrest/config.json',
          '--with-events',
          '--apply',
          '--backrest-container',
          backrestName,
          '--apply-cooldown',
          '1s',
        ],
        Env: ['DOCKER_HOST=unix:///run/docker-proxy/docker.sock'],
        Labels: labels,
        // No Docker socket at all: only the proxy's.
        HostConfig: {
          NetworkMode: 'none',
          Binds: [`${proxyDir}:/run/docker-proxy`, `${dir}:/etc/backrest`],
        },
      });
      await side.start();
      await waitFor('the plan written through the proxy', 60_000, async () =>
        planWithSource(file, source),
      );
      await waitFor('the restart through the proxy', 60_000, async () => {
        const s = await startedAt(backrestName);
        return s !== firstStart ? s : undefined;
      }).catch(async (err: Error) => {
        const logs = await run('docker', ['logs', '--tail', '40', name]);
        throw new Error(
          `${err.message}\nrefused: ${JSON.stringify(proxy.refused)}\n--- sidecar logs ---\n${logs.stdout}${logs.stderr}`,
        );
      });
      await docker.getContainer(name).remove({ force: true });
      expect(proxy.refused, 'calls the allowlist refused').to.deep.equal([]);
      const kinds = [
        ...new Set(
          proxy.seen.map((c) =>
            c
              .replace(/\/containers\/[^/]+\//, '/containers/{id}/')
              .replace(/\/images\/[^/]+\//, '/images/{id}/'),
          ),
        ),
      ].sort();
      expect(
        kinds.some((k) => /^POST .*\/containers\/\{id\}\/restart$/.test(k)),
        kinds.join(', '),
      ).to.equal(true);
      expect(
        kinds.some((k) => /^GET .*\/events$/.test(k)),
        kinds.join(', '),
      ).to.equal(true);
      console.log(`      API calls through the proxy: ${kinds.join(', ')}`);
    } finally {
      await proxy.close();
    }
  });

  it('non-root variant: --user with the socket group writes the config it owns', async function () {
    this.timeout(ONE_SHOT_TIMEOUT_MS + 30_000);
    const dir = path.join(work, 'nonroot');
    mkdirSync(dir);
    const file = path.join(dir, 'config.json');
    writeFileSync(
      file,
      `${JSON.stringify({ repos: [{ id: 'default', type: 'local', url: '/r' }], plans: [] })}\n`,
    );
    chownSync(dir, 65534, 65534);
    chownSync(file, 65534, 65534);
    chmodSync(file, 0o644);
    const socketGid = statSync('/var/run/docker.sock').gid;
    const source = await labeledWorkload(`dockop-e2e-deploy-nonroot-${id}`);

    const res = await inImage(
      [
        '--user',
        '65534:65534',
        '--group-add',
        String(socketGid),
        '-v',
        '/var/run/docker.sock:/var/run/docker.sock:ro',
        '-v',
        `${dir}:/etc/backrest`,
      ],
      ['reconcile', '--config', '/etc/backrest/config.json'],
      ONE_SHOT_TIMEOUT_MS,
    );
    // 0 written; 3 written with some plans skipped (other labeled containers on a shared engine).
    expect([0, 3], `${res.stdout}\n${res.stderr}`).to.include(res.code);
    expect(planWithSource(file, source), 'plan for the workload').to.not.equal(undefined);
    expect(statSync(file).uid, 'owner kept').to.equal(65534);
  });
});
