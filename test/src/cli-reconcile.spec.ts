import type Docker from 'dockerode';
import { expect } from 'chai';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { WORKLOAD_IMAGE, removeLabeled, requireEngine, runId } from './support/engine.js';
import { isolate, prefixOf, runCli, tempConfig } from './support/plan-cli.js';
import { createContainer } from '@dockop/docker';

// The real binary against the real engine: labeled containers (compose labels set) →
// `backrest-sidecar reconcile` → the config file's content.
describe('backrest-sidecar reconcile (integration)', function () {
  this.timeout(120_000);
  let docker: Docker;
  const run = runId();
  const project = `p${run.replace(/-/g, '')}`;
  const volume = `${project}_pgdata`;
  const prefix = prefixOf(run);
  const dirs: string[] = [];

  before(async function () {
    docker = await requireEngine(this);
    const common = { 'dockop.test.run': run, 'backrest.enable': 'true' };
    await docker.createVolume({ Name: volume, Labels: { 'dockop.test.run': run } });
    // A compose-style database: named volume, hooks with $SELF, schedule, keep, an exclude
    // given as a container path under the volume.
    await createContainer(docker, {
      name: `${project}-db-1`,
      Image: WORKLOAD_IMAGE,
      Cmd: ['sleep', '3600'],
      Labels: {
        ...common,
        'com.docker.compose.project': project,
        'com.docker.compose.service': 'db',
        'backrest.schedule': '15 3 * * *',
        'backrest.keep': 'daily=7,weekly=4,monthly=6',
        'backrest.paths.exclude': '/var/lib/postgresql/data/pg_wal',
        'backrest.pre': "sh -c 'docker stop $SELF'",
        'backrest.post': "sh -c 'docker start $SELF'",
      },
      HostConfig: {
        NetworkMode: 'none',
        Mounts: [{ Type: 'volume', Source: volume, Target: '/var/lib/postgresql/data' }],
      },
    });
    // Only the opt-in label and a bind mount, no compose labels: the id is the container name.
    await createContainer(docker, {
      name: `${project}-lite`,
      Image: WORKLOAD_IMAGE,
      Cmd: ['sleep', '3600'],
      Labels: common,
      HostConfig: { NetworkMode: 'none', Binds: ['/srv/lite-data:/data:ro'] },
    });
  });

  after(async function () {
    if (!docker) return;
    await removeLabeled(docker, `dockop.test.run=${run}`);
    await docker
      .getVolume(volume)
      .remove()
      .catch(() => undefined);
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  async function config(repos?: string[], plans?: object[]): Promise<string> {
    const c = await tempConfig(repos, plans);
    dirs.push(c.dir);
    return c.path;
  }

  it('writes one plan per labeled container (exit 0), then nothing on the second run (exit 2)', async () => {
    const file = await config(
      ['default'],
      [
        {
          id: 'hand_made',
          repo: 'default',
          schedule: '0 1 * * *',
          sources: ['/etc'],
          exclude: [],
          hooks: { pre: [], post: [] },
          retention: { spec: 'last=1' },
        },
      ],
    );
    const first = await runCli([
      'reconcile',
      '--config',
      file,
      '--include-project-name',
      ...isolate(run),
    ]);
    expect(first.code, first.stderr + first.stdout).to.equal(0);
    const doc = JSON.parse(await readFile(file, 'utf8'));
    expect(doc.plans).to.deep.equal(
      [
        {
          id: 'hand_made',
          repo: 'default',
          schedule: '0 1 * * *',
          sources: ['/etc'],
          exclude: [],
          hooks: { pre: [], post: [] },
          retention: { spec: 'last=1' },
        },
        {
          id: `${prefix}${project}-lite`,
          repo: 'default',
          schedule: '0 2 * * *',
          sources: ['/srv/lite-data'],
          exclude: [],
          hooks: { pre: [], post: [] },
          retention: { spec: 'daily=7,weekly=4' },
        },
        {
          id: `${prefix}${project}_db`,
          repo: 'default',
          schedule: '15 3 * * *',
          sources: [`/var/lib/docker/volumes/${volume}/_data`],
          exclude: [`/var/lib/docker/volumes/${volume}/_data/pg_wal`],
          hooks: {
            pre: [`sh -c 'docker stop ${project}-db-1'`],
            post: [`sh -c 'docker start ${project}-db-1'`],
          },
          retention: { spec: 'daily=7,weekly=4,monthly=6' },
        },
      ].sort((a, b) => (a.id < b.id ? -1 : 1)),
    );
    const written = first.logs.filter((l) => l.action === 'config.written');
    expect(written).to.have.length(1);
    expect(
      first.logs
        .filter((l) => l.action === 'plan.rendered')
        .map((l) => l.plan_id)
        .sort(),
    ).to.deep.equal([`${prefix}${project}-lite`, `${prefix}${project}_db`].sort());

    const before = await stat(file);
    const second = await runCli([
      'reconcile',
      '--config',
      file,
      '--include-project-name',
      ...isolate(run),
    ]);
    expect(second.code, second.stderr).to.equal(2);
    expect((await stat(file)).mtimeMs).to.equal(before.mtimeMs);
    expect(
      second.logs.some((l) => l.action === 'config.unchanged' && l.changed === false),
    ).to.equal(true);
  });

  it('--dry-run writes nothing, logs plan.rendered + dry-run.complete, prints a diff on stdout (logs on stderr), exits 2', async () => {
    const file = await config();
    const original = await readFile(file, 'utf8');
    const r = await runCli(['reconcile', '--dry-run', '--config', file, ...isolate(run)]);
    expect(r.code, r.stderr).to.equal(2);
    expect(await readFile(file, 'utf8')).to.equal(original);
    const done = r.logs.find((l) => l.action === 'dry-run.complete');
    expect(done).to.deep.include({ plans_seen: 2, plans_changed: 2, config: file });
    expect(r.logs.filter((l) => l.action === 'plan.rendered')).to.have.length(2);
    expect(r.stdout).to.include(`+`).and.include(`${prefix}${project}_db`);
    // stdout carries the diff only: no log line.
    expect(r.stdout).to.not.include('"action"');
  });

  it('a reader of its logs that went away (stderr closed) does not end the run: the config is written, exit 0', async () => {
    const file = await config();
    const r = await runCli(['reconcile', '--config', file, ...isolate(run)], { closed: 'stderr' });
    // Before: the first log line's EPIPE was an uncaught error, exit 1, nothing written.
    expect(r.code).to.equal(0);
    const written = JSON.parse(await readFile(file, 'utf8')) as { plans: { id: string }[] };
    expect(written.plans.map((p) => p.id)).to.include(`${prefix}${project}_db`);
  });

  it('a reader of its output that went away (stdout closed) leaves the exit code the result: a dry run still exits 2', async () => {
    const file = await config();
    const r = await runCli(['reconcile', '--dry-run', '--config', file, ...isolate(run)], {
      closed: 'stdout',
    });
    expect(r.code, r.stderr).to.equal(2);
    expect(r.stderr).to.not.include('EPIPE');
    expect(r.logs.find((l) => l.action === 'dry-run.complete')).to.deep.include({
      plans_changed: 2,
    });
  });

  it('BACKREST_CONFIG overrides --config and BACKREST_VOLUME_PREFIX rewrites volume sources', async () => {
    const file = await config();
    const r = await runCli(
      ['reconcile', '--config', '/nonexistent/ignored.json', ...isolate(run)],
      {
        env: { BACKREST_CONFIG: file, BACKREST_VOLUME_PREFIX: '/docker_volumes' },
      },
    );
    expect(r.code, r.stderr).to.equal(0);
    const doc = JSON.parse(await readFile(file, 'utf8'));
    const db = doc.plans.find((p: { id: string }) => p.id === `${prefix}${project}_db`);
    expect(db.sources).to.deep.equal([`/docker_volumes/${volume}/_data`]);
  });

  it('a missing repo skips that plan with a warning and exits 3; the others are written', async () => {
    const file = await config(['offsite']);
    // --default-repo names a repo the file lacks → the first declared repo ('offsite') is used.
    const ok = await runCli([
      'reconcile',
      '--config',
      file,
      '--default-repo',
      'default',
      ...isolate(run),
    ]);
    expect(ok.code, ok.stderr).to.equal(0);
    expect(
      JSON.parse(await readFile(file, 'utf8')).plans.map((p: { repo: string }) => p.repo),
    ).to.deep.equal(['offsite', 'offsite']);
    const bad = await config([]);
    const r = await runCli(['reconcile', '--config', bad, ...isolate(run)]);
    expect(r.code).to.equal(3);
    expect(r.logs.filter((l) => l.action === 'plan.skipped').map((l) => l.reason)).to.deep.equal([
      'RepoMissing',
      'RepoMissing',
    ]);
  });

  it('invalid config JSON is fatal: exit 1, file untouched', async () => {
    const file = await config();
    await writeFile(file, '{"repos": [');
    const r = await runCli(['reconcile', '--config', file, ...isolate(run)]);
    expect(r.code).to.equal(1);
    expect(await readFile(file, 'utf8')).to.equal('{"repos": [');
  });

  it('an unreachable Docker is fatal (exit 1) with a message naming the socket', async () => {
    const file = await config();
    const r = await runCli(
      ['reconcile', '--config', file, '--docker-sock', `/tmp/none-${run}.sock`],
      { timeoutMs: 30_000 },
    );
    expect(r.code).to.equal(1);
    expect(r.stderr).to.include(`Docker is unreachable at /tmp/none-${run}.sock`);
  });

  it('a Docker socket that accepts and never answers is fatal after the 10 s ping, not the 30 s request timeout', async () => {
    // The container list is sent before the ping (it overlaps the set-up): it must be abandoned too.
    const dir = await mkdtemp(path.join(tmpdir(), 'hung-docker-'));
    const sock = path.join(dir, 'docker.sock');
    const requests: string[] = [];
    const server = createServer((socket) => {
      socket.on('data', (chunk) => requests.push(chunk.toString('latin1').split('\r\n')[0] ?? ''));
    });
    await new Promise<void>((resolve) => server.listen(sock, resolve));
    try {
      const file = await config();
      const started = Date.now();
      const r = await runCli(['reconcile', '--dry-run', '--config', file, '--docker-sock', sock], {
        timeoutMs: 40_000,
      });
      const took = Date.now() - started;
      expect(r.code, r.stderr).to.equal(1);
      expect(r.stderr).to.include(`Docker is unreachable at ${sock}: no answer within 10000 ms`);
      expect(took).to.be.below(20_000);
      expect(requests.some((l) => l.startsWith('GET /containers/json'))).to.equal(true);
      expect(requests.some((l) => l.startsWith('GET /_ping'))).to.equal(true);
    } finally {
      server.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('get plans -o json lists the plans with their status; describe plan shows conditions', async () => {
    const file = await config();
    const g = await runCli(['get', 'plans', '-o', 'json', '--config', file, ...isolate(run)]);
    expect(g.code, g.stderr).to.equal(0);
    const rows = JSON.parse(g.stdout) as { planId: string; status: string; container: string }[];
    expect(rows.map((r) => [r.planId, r.status])).to.deep.equal(
      [
        [`${prefix}${project}-lite`, 'Pending'],
        [`${prefix}${project}_db`, 'Pending'],
      ].sort((a, b) => (a[0]! < b[0]! ? -1 : 1)),
    );
    const d = await runCli([
      'describe',
      'plan',
      `${prefix}${project}_db`,
      '--config',
      file,
      ...isolate(run),
    ]);
    expect(d.code, d.stderr).to.equal(0);
    expect(d.stdout).to.include(`Container:  ${project}-db-1`);
    expect(d.stdout).to.match(/^ {2}Ready +True /m);
  });
});
