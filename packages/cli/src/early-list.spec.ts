import { expect } from 'chai';
import { Command } from 'commander';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { EARLY_CONTAINER_LIST, type EarlyContainerList } from '@dockop/docker';
import { buildApp } from './app.js';
import { earlyListRequest, startEarlyList, warmHeapWhileListing } from './early-list.cjs';
import { addReconcileOptions, resolveSettings, type RawOptions } from './options.js';

type Slot = Record<symbol, EarlyContainerList | undefined>;

/** A Docker engine that records the requests it gets and answers lists with `answer`. */
async function fakeEngine(socketPath: string, answer: (path: string) => [number, string]) {
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    requests.push(req.url ?? '');
    const [status, body] = req.url?.startsWith('/containers/json') ? answer(req.url) : [200, 'OK'];
    res.writeHead(status, { 'content-type': 'application/json' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  return { requests, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** The filters of a recorded `GET /containers/json` request. */
function filtersOf(url: string): string {
  return new URL(url, 'http://engine').searchParams.get('filters') ?? '';
}

describe('the early container list (early-list.cts)', () => {
  describe('earlyListRequest', () => {
    const env = {};
    it('reads the listing commands, --selector (both forms, a later key wins) and the socket', () => {
      expect(earlyListRequest(['reconcile', '--dry-run'], env)).to.deep.equal({
        socketPath: '/var/run/docker.sock',
        filters: '{"label":["backrest.enable"]}',
      });
      expect(earlyListRequest(['--dry-run'], env)?.filters, 'the default command').to.equal(
        '{"label":["backrest.enable"]}',
      );
      expect(
        earlyListRequest(
          ['get', 'plan', '--selector', 'a=1', '--selector=b=x=y', '--selector', 'a=2'],
          { DOCKER_HOST: 'unix:///run/user/docker.sock' },
        ),
      ).to.deep.equal({
        socketPath: '/run/user/docker.sock',
        filters: '{"label":["backrest.enable","a=2","b=x=y"]}',
      });
      expect(
        earlyListRequest(['describe', 'plans', 'p1', '--docker-sock', '/d.sock'], {
          DOCKER_HOST: 'unix:///e.sock',
        })?.socketPath,
        'the flag wins over the environment',
      ).to.equal('/d.sock');
    });

    it('sends nothing when unsure or when nothing would list', () => {
      for (const [argv, e] of [
        [['daemon'], {}],
        [['backup', '--selector', 'a=1'], {}],
        [['get', 'volumes'], {}],
        [['get', 'workloads'], {}],
        [['describe', 'workload', 'web'], {}],
        [['-h'], {}],
        [['reconcile', '--plugin', './p.js'], {}],
        [['reconcile', '--plugin=./p.js'], {}],
        [['reconcile', '--selector'], {}],
        [['reconcile', '--selector', 'novalue'], {}],
        [['reconcile'], { DOCKER_HOST: 'tcp://10.0.0.1:2376' }],
        [['reconcile', '--docker-sock', 'ssh://me@host'], {}],
        [['reconcile'], { DOCKER_API_VERSION: '1.41' }],
        [['reconcile'], { BACKREST_SIDECAR_EARLY_LIST: '0' }],
      ] as [string[], Record<string, string>][]) {
        expect(earlyListRequest(argv, e), argv.join(' ')).to.equal(undefined);
      }
      // What follows `--` is not an option.
      expect(earlyListRequest(['reconcile', '--', '--selector', 'a=1'], env)?.filters).to.equal(
        '{"label":["backrest.enable"]}',
      );
    });
  });

  describe('against what the program itself asks (a recording engine on a unix socket)', () => {
    let dir = '';
    let socket = '';
    const saved = { ...process.env };
    beforeEach(async () => {
      dir = await mkdtemp(path.join(tmpdir(), 'early-list-'));
      socket = path.join(dir, 'docker.sock');
      delete process.env['DOCKER_HOST'];
      delete process.env['DOCKER_API_VERSION'];
    });
    afterEach(async () => {
      process.env = { ...saved };
      (globalThis as Slot)[EARLY_CONTAINER_LIST] = undefined;
      await rm(dir, { recursive: true, force: true });
    });

    it("asks the socket and filters the program's first list asks (else the program would not take it)", async () => {
      const engine = await fakeEngine(socket, () => [200, '[]']);
      try {
        for (const [argv, env] of [
          [['--docker-sock', socket], {}],
          [['--selector', 'stack=a', '--docker-sock', `unix://${socket}`], {}],
          [
            ['--selector=b=2', '--selector', 'a=1', '--selector', 'b=3'],
            { DOCKER_HOST: `unix://${socket}` },
          ],
        ] as [string[], Record<string, string>][]) {
          Object.assign(process.env, env);
          const early = earlyListRequest(['reconcile', ...argv], process.env);
          const cmd = addReconcileOptions(new Command('reconcile')).exitOverride();
          cmd.parse(argv, { from: 'user' });
          const settings = resolveSettings(cmd.opts<RawOptions>(), {});
          const manager = await buildApp(settings, {
            mode: 'once',
            logStream: new Writable({ write: (_c, _e, cb) => cb() }),
          });
          engine.requests.length = 0;
          manager.prefetch();
          for (let i = 0; i < 100 && engine.requests.length === 0; i++) {
            await new Promise((r) => setTimeout(r, 5));
          }
          await manager.stop('done');
          const lists = engine.requests.filter((u) => u.startsWith('/containers/json'));
          expect(lists, argv.join(' ')).to.have.length(1);
          expect(early, argv.join(' ')).to.deep.equal({
            socketPath: socket,
            filters: filtersOf(lists[0]!),
          });
          for (const k of Object.keys(env)) delete process.env[k];
        }
      } finally {
        await engine.close();
      }
    });

    it('startEarlyList sends it, fills the slot, and hands over the answer or the failure', async () => {
      let status = 200;
      const engine = await fakeEngine(socket, () => [
        status,
        status === 200 ? '[{"Id":"a"}]' : '{"message":"no"}',
      ]);
      try {
        expect(startEarlyList(['reconcile', '--docker-sock', socket], {})).to.equal(true);
        const slot = (globalThis as Slot)[EARLY_CONTAINER_LIST]!;
        expect(slot.socketPath).to.equal(socket);
        slot.ref();
        expect(await slot.list).to.deep.equal([{ Id: 'a' }]);
        expect(engine.requests.map(filtersOf)).to.deep.equal([slot.filters]);
        status = 500;
        expect(startEarlyList(['reconcile', '--docker-sock', socket], {})).to.equal(true);
        let error: unknown;
        await (globalThis as Slot)[EARLY_CONTAINER_LIST]!.list.catch(
          (err: unknown) => (error = err),
        );
        expect(String(error)).to.include('answered 500');
        expect(startEarlyList(['backup'], {}), 'nothing sent').to.equal(false);
        expect(engine.requests).to.have.length(2);
      } finally {
        await engine.close();
      }
    });

    it('warmHeapWhileListing allocates while the list is pending and stops when it is answered', async () => {
      // An engine that answers after 150 ms, as one listing 2,000 containers does.
      const server = createServer((_req, res) => {
        setTimeout(() => res.writeHead(200).end('[]'), 150);
      });
      await new Promise<void>((resolve) => server.listen(socket, resolve));
      try {
        expect(startEarlyList(['reconcile', '--docker-sock', socket], {})).to.equal(true);
        const slot = (globalThis as Slot)[EARLY_CONTAINER_LIST]!;
        slot.ref();
        expect(warmHeapWhileListing({ BACKREST_SIDECAR_HEAP_WARMUP: '0' }), 'off').to.equal(
          undefined,
        );
        let answeredAt = 0;
        const answered = slot.list.then(() => (answeredAt = performance.now()));
        const allocated = await warmHeapWhileListing({})!;
        const stoppedAt = performance.now();
        await answered;
        expect(allocated)
          .to.be.above(0)
          .and.at.most(32 * 1024 * 1024);
        // Stopped by the answer (a slice later at most), or by its budget before it.
        if (allocated < 32 * 1024 * 1024) expect(stoppedAt - answeredAt).to.be.below(50);
      } finally {
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    });
  });
});
