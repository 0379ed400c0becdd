import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { MemoryLogStream, SecretRedactor, createLogger } from '@dockop/runtime';
import type { BackupOnceReport } from './backup-result.js';
import { Notifiers } from './notify.js';

interface Received {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A local HTTP server that records every request and answers with `status(path)`. */
async function recorder(
  status: (path: string) => number = () => 200,
): Promise<{ server: Server; base: string; port: number; got: Received[] }> {
  const got: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      got.push({
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      });
      res.statusCode = status(req.url ?? '');
      res.end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return { server, base: `127.0.0.1:${port}`, port, got };
}

const UUID = '0f9e8d7c-6b5a-4c3d-8e2f-1a0b9c8d7e6f';

function report(exitCode: 0 | 1 | 3): BackupOnceReport {
  return {
    engine: 'restic',
    runId: 'run42',
    resticHost: 'host-a',
    startedAt: '2026-01-01T00:00:00.000Z',
    finishedAt: '2026-01-01T00:00:12.000Z',
    durationMs: 12_345,
    workloads: [
      { container: 'db', path: '/volumes/db', status: 'ok', durationMs: 5, warnings: [] },
      ...(exitCode === 0
        ? []
        : [
            {
              container: 'web',
              path: '/volumes/web',
              status: 'failed' as const,
              durationMs: 5,
              warnings: [],
              error: 'restic exited 1: RESTIC_PASSWORD=hunter22',
            },
          ]),
    ],
    quiesce: { stopped: ['db'], stopFailed: [], started: ['db'], startFailed: [] },
    exitCode,
  };
}

describe('Notifiers against a local HTTP server (what each service receives)', () => {
  let srv: Awaited<ReturnType<typeof recorder>>;
  beforeEach(async () => {
    srv = await recorder((p) => (p.startsWith('/down') ? 503 : 200));
  });
  afterEach(() => srv.server.close());

  function urls(): Record<string, string> {
    const b = srv.base;
    return {
      webhook: `http://${b}/plain/hook?token=webhooktok99`,
      ntfy: `ntfy://alice:ntfypa55@${b}/backups?scheme=http`,
      ntfyToken: `ntfy://:tk_ntfytoken1@${b}/tokentopic?scheme=http&priority=5&title=Nightly`,
      gotify: `gotify://${b}/gsub/AgotifyTok3n.x?scheme=http`,
      slack: `slack+http://${b}/services/T0AB/B0CD/slacks3cret`,
      discord: `discord+http://${b}/api/webhooks/1234/discordtok3n`,
      hc: `hc://${b}/${UUID}?scheme=http`,
    };
  }

  it('sends each service its own request shape on success (hc also at the start)', async () => {
    const out = new MemoryLogStream();
    const redactor = new SecretRedactor();
    const u = urls();
    const n = new Notifiers(Object.values(u), {
      redactor,
      logger: createLogger({ format: 'json', stream: out.writable, redactor }),
      sleep: async () => {},
    });
    expect(await n.start('run42')).to.have.length(1);
    expect(srv.got.map((r) => `${r.method} ${r.path}`)).to.deep.equal([`POST /${UUID}/start`]);
    const results = await n.finish(report(0));
    expect(results.every((r) => r.delivered)).to.equal(true);
    expect(results).to.have.length(7);
    const by = (prefix: string) => srv.got.filter((r) => r.path.startsWith(prefix));

    const [plain] = by('/plain/hook');
    expect(plain!.headers['content-type']).to.equal('application/json');
    const payload = JSON.parse(plain!.body);
    expect(payload).to.include({ event: 'backup.succeeded', engine: 'restic', exitCode: 0 });
    expect(payload.workloads[0]).to.include({ container: 'db', status: 'ok' });

    const [basic] = by('/backups');
    expect(basic!.headers.authorization).to.equal(
      `Basic ${Buffer.from('alice:ntfypa55').toString('base64')}`,
    );
    expect(basic!.headers['title']).to.equal('Backup succeeded on host-a');
    expect(basic!.headers['priority']).to.equal('3');
    expect(basic!.headers['tags']).to.equal('white_check_mark');
    expect(basic!.body).to.match(/^engine restic, 1 workload \(1 ok\), 12\.3 s, run run42$/);
    const [bearer] = by('/tokentopic');
    expect(bearer!.headers.authorization).to.equal('Bearer tk_ntfytoken1');
    expect(bearer!.headers['title']).to.equal('Nightly');
    expect(bearer!.headers['priority']).to.equal('5');

    const [gotify] = by('/gsub/message');
    expect(gotify!.headers['x-gotify-key']).to.equal('AgotifyTok3n.x');
    expect(JSON.parse(gotify!.body)).to.deep.equal({
      title: 'Backup succeeded on host-a',
      message: 'engine restic, 1 workload (1 ok), 12.3 s, run run42',
      priority: 5,
    });

    const [slack] = by('/services/T0AB');
    expect(JSON.parse(slack!.body)).to.have.keys(['text']);
    expect(JSON.parse(slack!.body).text).to.match(/^\*Backup succeeded on host-a\*\nengine restic/);

    const [discord] = by('/api/webhooks/1234');
    expect(JSON.parse(discord!.body)).to.have.keys(['content']);
    expect(JSON.parse(discord!.body).content).to.match(/^\*\*Backup succeeded on host-a\*\*\n/);

    const hc = by(`/${UUID}`).map((r) => r.path);
    expect(hc).to.deep.equal([`/${UUID}/start`, `/${UUID}`]);

    for (const r of srv.got) expect(r.headers['user-agent']).to.equal('backrest-sidecar');
    // Every token was registered: the logs name the services, never their credentials.
    for (const s of [
      'webhooktok99',
      'ntfypa55',
      'tk_ntfytoken1',
      'AgotifyTok3n.x',
      'slacks3cret',
      'discordtok3n',
      UUID,
    ]) {
      expect(out.text).to.not.include(s);
    }
    expect(out.text.match(/notify\.delivered/g)).to.have.length(8);
  });

  it('on failure: hc /fail, warning priorities, failed workloads listed, secrets redacted', async () => {
    const redactor = new SecretRedactor();
    const u = urls();
    const n = new Notifiers([u.hc!, u.ntfy!, u.gotify!], { redactor, sleep: async () => {} });
    await n.finish(report(3));
    const hc = srv.got.find((r) => r.path.startsWith(`/${UUID}`))!;
    expect(hc.path).to.equal(`/${UUID}/fail`);
    expect(hc.body).to.match(/^Backup partly failed on host-a\n/);
    const ntfy = srv.got.find((r) => r.path === '/backups')!;
    expect(ntfy.headers['priority']).to.equal('4');
    expect(ntfy.headers['tags']).to.equal('warning');
    expect(ntfy.body).to.include('- web: failed: restic exited 1');
    expect(JSON.parse(srv.got.find((r) => r.path === '/gsub/message')!.body).priority).to.equal(8);
    for (const r of srv.got) expect(r.body).to.not.include('hunter22');
  });

  it('a failing notifier is logged once and never stops the others', async () => {
    const out = new MemoryLogStream();
    const redactor = new SecretRedactor();
    const sleeps: number[] = [];
    const n = new Notifiers(
      [
        `slack+http://${srv.base}/down/T0/B0/downs3cret`,
        `ntfy://127.0.0.1:1/closedport?scheme=http`,
        `ntfy://${srv.base}/alive?scheme=http`,
      ],
      {
        redactor,
        attempts: 3,
        logger: createLogger({ format: 'json', stream: out.writable, redactor, level: 'info' }),
        sleep: async (ms) => void sleeps.push(ms),
      },
    );
    const results = await n.finish(report(0));
    expect(results.map((r) => [r.delivered, r.attempts, r.last])).to.deep.equal([
      [false, 3, 'HTTP 503'],
      [false, 3, results[1]!.last],
      [true, 1, 'HTTP 200'],
    ]);
    expect(srv.got.filter((r) => r.path.startsWith('/down'))).to.have.length(3);
    const warnings = out.text.split('\n').filter((l) => l.includes('notify.failed'));
    expect(warnings).to.have.length(2);
    expect(out.text).to.not.include('downs3cret').and.not.include('closedport');
  });
});
