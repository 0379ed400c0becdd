import type Docker from 'dockerode';
import { expect } from 'chai';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { RESTIC_IMAGE, removeLabeled, requireEngine, runId } from './support/engine.js';
import { makeRepo, removeDir, type Repo } from './retention-fixture.js';
import { removeVolumes, startWorkload } from './backup-fixture.js';
import { runCli } from './support/plan-cli.js';

// `backup-once --notify-url …` (repeatable) from the real CLI bundle on the real engine: each
// service receives its request shape at a local HTTP server standing in for ntfy, Gotify,
// healthchecks and a Slack-compatible webhook; a receiver that is down is one warning, not a
// failed backup; no credential of any URL appears on stderr.
describe('backup-once --notify-url (integration)', function () {
  this.timeout(180_000);
  let docker: Docker;
  const run = runId();
  const runKey = 'dockop.test.run';
  const runVal = `notify-${run}`;
  const runLabel = `${runKey}=${runVal}`;
  const project = `nt${run.replace(/[^a-z0-9]/g, '')}`;
  const name = `notify-${run}-db`;
  let repo: Repo;
  let server: Server;
  let base = '';
  const got: {
    method: string;
    path: string;
    headers: IncomingHttpHeaders;
    body: string;
    at: number;
  }[] = [];

  before(async function () {
    docker = await requireEngine(this);
    repo = await makeRepo('cli-notify');
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        got.push({
          method: req.method ?? '',
          path: req.url ?? '',
          headers: req.headers,
          body,
          at: Date.now(),
        });
        res.statusCode = req.url?.startsWith('/down') ? 500 : 200;
        res.end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    await startWorkload(
      docker,
      {
        name,
        project,
        service: 'db',
        labels: { 'backrest.enable': 'true' },
        volumes: [{ name: `${project}_data`, destination: '/data', files: { 'a.txt': 'hello' } }],
      },
      { [runKey]: runVal },
    );
  });

  after(async function () {
    server?.close();
    if (docker) {
      await removeLabeled(docker, runLabel);
      await removeVolumes(docker, runLabel);
    }
    await removeDir(repo?.dir);
  });

  const UUID = '3d1f0e9c-8b7a-4c6d-9e5f-4a3b2c1d0e9f';

  it('tells every URL the outcome, healthchecks also the start; a dead receiver is one warning', async () => {
    const urls = [
      `hc://${base}/${UUID}?scheme=http`,
      `ntfy://:tk_clintfytoken@${base}/clitopic?scheme=http`,
      `gotify://${base}/AcliGotifyTok3n?scheme=http`,
      `slack+http://${base}/down/T0/B0/clislacksecret`,
    ];
    const started = Date.now();
    const r = await runCli(
      [
        'backup-once',
        '--engine',
        'restic',
        '--rcb-env-file',
        repo.containerEnvFile,
        '--restic-image',
        RESTIC_IMAGE,
        '--restic-volume',
        `${repo.repo}:/repo`,
        '--restic-host',
        'notify-test',
        '--no-forget',
        '--selector',
        runLabel,
        '--quiesce-label',
        `dockop.test.quiesce-${run}=true`,
        '--state-dir',
        path.join(repo.dir, 'state'),
        '--log-format',
        'json',
        ...urls.flatMap((u) => ['--notify-url', u]),
      ],
      { timeoutMs: 150_000 },
    );
    expect(r.code, r.stderr).to.equal(0);
    const paths = got.map((g) => `${g.method} ${g.path.replace(/^\/down.*/, '/down')}`);
    expect(paths[0]).to.equal(`POST /${UUID}/start`);
    expect(paths.slice(1).sort()).to.deep.equal(
      // The Slack-compatible receiver answers 500: tried 4 times (1 s, 2 s, 4 s backoff).
      [`POST /${UUID}`, 'POST /message', 'POST /clitopic', ...Array(4).fill('POST /down')].sort(),
    );
    // The start ping came before the backup's one-shot, the outcome after it.
    const backupDone = r.logs.find((l) => l.action === 'backup.done');
    expect(backupDone).to.include({ exitCode: 0 });
    expect(got[0]!.at).to.be.below(got[1]!.at);
    expect(got[0]!.at).to.be.at.least(started);

    const ntfy = got.find((g) => g.path === '/clitopic')!;
    expect(ntfy.headers.authorization).to.equal('Bearer tk_clintfytoken');
    expect(ntfy.headers['title']).to.equal('Backup succeeded on notify-test');
    expect(ntfy.body).to.match(/^engine restic, 1 workload \(1 ok\), [\d.]+ s, run [0-9a-f]{16}$/);
    const gotify = got.find((g) => g.path === '/message')!;
    expect(gotify.headers['x-gotify-key']).to.equal('AcliGotifyTok3n');
    expect(JSON.parse(gotify.body)).to.include({
      title: 'Backup succeeded on notify-test',
      priority: 5,
    });

    const failed = r.logs.filter((l) => l.action === 'notify.failed');
    expect(failed, 'the dead receiver is logged once').to.have.length(1);
    expect(failed[0]).to.include({
      url: 'slack http://' + base + '/[REDACTED]',
      attempts: 4,
      last: 'HTTP 500',
    });
    expect(r.logs.filter((l) => l.action === 'notify.delivered')).to.have.length(4);
    for (const s of [UUID, 'tk_clintfytoken', 'AcliGotifyTok3n', 'clislacksecret', 'clitopic']) {
      expect(r.stderr, s).to.not.include(s);
    }
  });

  it('refuses a bad --notify-url before touching Docker, naming flag and scheme, secret masked', async () => {
    const sock = ['--docker-sock', `/tmp/none-${run}.sock`];
    const r = await runCli([
      'backup-once',
      '--notify-url',
      `http://${base}/fine`,
      '--notify-url',
      'ntfy://alice:hunter2secret@ntfy.local/',
      ...sock,
      '--log-format',
      'json',
    ]);
    expect(r.code).to.equal(1);
    expect(r.logs).to.have.length(1);
    expect(r.logs[0]).to.include({
      action: 'usage.error',
      error: '--notify-url ntfy://[REDACTED]@ntfy.local (ntfy): needs a topic: ntfy://host/topic',
    });
    expect(r.stderr).to.not.include('hunter2secret');
    const env = await runCli(['backup-once', ...sock, '--log-format', 'json'], {
      env: { BACKREST_SIDECAR_NOTIFY_URL: `http://${base}/ok gotify://g.local/?x=1` },
    });
    expect(env.code).to.equal(1);
    expect(String(env.logs[0]?.error)).to.match(
      /^--notify-url gotify:\/\/g\.local\/\[REDACTED\] \(gotify\): unknown parameter "x"/,
    );
  });
});
