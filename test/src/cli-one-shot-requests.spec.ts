// What a one-shot reconcile asks Docker, seen through a logging socket proxy: one container list
// carries labels, mounts and state, so there is no per-container inspect and no events stream.
// The only other calls: the reachability ping and one inspect per distinct image (image labels
// are not in the list response; see packages/docker/README.md). The list is the bin's early one
// (packages/cli/src/early-list.cts) when the command line lets it foresee the program's.
import type Docker from 'dockerode';
import { expect } from 'chai';
import { createContainer } from '@dockop/docker';
import { rm } from 'node:fs/promises';
import {
  startLoggingSocketProxy,
  type LoggingSocketProxy,
} from './support/logging-socket-proxy.js';
import { WORKLOAD_IMAGE, removeLabeled, requireEngine, runId } from './support/engine.js';
import { isolate, runCli, tempConfig } from './support/plan-cli.js';

describe('one-shot reconcile: Docker requests', function () {
  this.timeout(60_000);
  let docker: Docker;
  let proxy: LoggingSocketProxy | undefined;
  const run = runId();
  let dir = '';
  let file = '';

  before(async function () {
    docker = await requireEngine(this);
    ({ dir, path: file } = await tempConfig());
    for (const [i, start] of [true, true, false].entries()) {
      const c = await createContainer(docker, {
        name: `req-${run}-${i}`,
        Image: WORKLOAD_IMAGE,
        Cmd: ['sleep', '3600'],
        Labels: {
          'dockop.test.run': run,
          'backrest.enable': 'true',
          'com.docker.compose.project': `p${i}`,
          'com.docker.compose.service': 'svc',
        },
        HostConfig: { NetworkMode: 'none', Binds: [`/srv/req-${run}-${i}:/data`] },
      });
      if (start) await c.start();
    }
    proxy = await startLoggingSocketProxy();
  });

  after(async function () {
    await proxy?.close();
    if (docker) await removeLabeled(docker, `dockop.test.run=${run}`);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** Options (after the command) for the test's config, containers and logging proxy. */
  const throughProxy = (...more: string[]): string[] => [
    ...more,
    '--config',
    file,
    '--docker-sock',
    `unix://${proxy!.socketPath}`,
    ...isolate(run),
  ];

  it('lists once, inspects no container, opens no events stream', async () => {
    const r = await runCli(['reconcile', ...throughProxy('--dry-run')]);
    expect(r.code, r.stderr).to.equal(2);
    // The three containers were seen: three plans in the diff.
    expect(r.stdout.match(/"id":/g) ?? [], r.stdout).to.have.length(3);
    const paths = proxy!.requests.map((q) => `${q.method} ${q.url.replace(/^\/v[\d.]+/, '')}`);
    const lists = paths.filter((p) => p.startsWith('GET /containers/json'));
    expect(lists, paths.join('\n')).to.have.length(1);
    expect(paths.filter((p) => /^GET \/containers\/[^/?]+\/json/.test(p))).to.deep.equal([]);
    expect(paths.filter((p) => p.includes('/events'))).to.deep.equal([]);
    const others = paths.filter(
      (p) => !p.startsWith('GET /containers/json') && !p.startsWith('GET /_ping'),
    );
    // At most one inspect of the one image the three containers share (for image-label trust).
    expect(
      others.every((p) => p.startsWith('GET /images/')),
      paths.join('\n'),
    ).to.equal(true);
    expect(others.length).to.be.at.most(1);
  });

  it("the bin's early list (sent before the program loads) is the one list, and answers as the program's own", async () => {
    const args = ['reconcile', ...throughProxy('--dry-run', '--log-level', 'debug')];
    const lists = (): number =>
      proxy!.requests.filter((q) => q.url.replace(/^\/v[\d.]+/, '').startsWith('/containers/json'))
        .length;
    const before = lists();
    const early = await runCli(args);
    expect(early.code, early.stderr).to.equal(2);
    expect(early.stderr).to.include('"action":"docker.list.early"');
    expect(lists() - before, 'taken, not listed again').to.equal(1);
    const own = await runCli(args, { env: { BACKREST_SIDECAR_EARLY_LIST: '0' } });
    expect(own.code, own.stderr).to.equal(2);
    expect(own.stderr).to.not.include('docker.list.early');
    expect(lists() - before).to.equal(2);
    expect(early.stdout).to.equal(own.stdout);
    expect(early.stdout.match(/"id":/g) ?? []).to.have.length(3);
    // A preview run (`get plans`) takes it too.
    const get = await runCli(['get', 'plans', ...throughProxy('--log-level', 'debug')]);
    expect(get.code, get.stderr).to.equal(0);
    expect(get.stderr).to.include('"action":"docker.list.early"');
    expect(lists() - before).to.equal(3);
  });
});
