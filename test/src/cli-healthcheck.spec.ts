import { expect } from 'chai';
import { rm } from 'node:fs/promises';
import { requireEngine, runId } from './support/engine.js';
import {
  eventually,
  isolate,
  parseJsonLines,
  runCli,
  spawnDaemon,
  stopDaemon,
  tempConfig,
} from './support/plan-cli.js';

// `backrest-sidecar healthcheck` against a real daemon: exit 0 and "OK: <url>" while it serves
// /healthz, exit 1 with one error line once it is gone (what a container HEALTHCHECK runs).
describe('backrest-sidecar healthcheck (integration)', function () {
  this.timeout(90_000);
  const run = runId();
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  let daemon: ReturnType<typeof spawnDaemon> | undefined;
  let dir: string | undefined;

  after(async () => {
    if (daemon) await stopDaemon(daemon, 0);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('exits 0 while the daemon serves /healthz, 1 when nothing answers', async function () {
    await requireEngine(this);
    const c = await tempConfig();
    dir = c.dir;
    const before = await runCli(['healthcheck', '--http-addr', `127.0.0.1:${port}`]);
    expect(before.code).to.equal(1);
    expect(before.stdout).to.equal('');
    expect(String(parseJsonLines(before.stderr)[0]?.error)).to.match(/ECONNREFUSED|connect/);

    const started = spawnDaemon([
      '--config',
      c.path,
      ...isolate(run),
      '--interval',
      '1h',
      '--http-addr',
      `0.0.0.0:${port}`,
    ]);
    daemon = started;
    await eventually(
      () => started.logs.some((l) => l.action === 'manager.started'),
      30_000,
      'daemon started',
    );
    const ok = await runCli(['healthcheck', '--http-addr', `0.0.0.0:${port}`]);
    expect(ok.code, ok.stderr).to.equal(0);
    expect(ok.stdout).to.equal(`OK: http://127.0.0.1:${port}/healthz\n`);
    const ready = await runCli(['healthcheck', '--http-addr', `:${port}`, '--path', '/readyz']);
    expect(ready.code, ready.stderr).to.equal(0);

    await stopDaemon(started);
    const after = await runCli([
      'healthcheck',
      '--http-addr',
      `127.0.0.1:${port}`,
      '--timeout',
      '2s',
    ]);
    expect(after.code).to.equal(1);
  });
});
