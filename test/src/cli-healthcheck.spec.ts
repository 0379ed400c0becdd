import { expect } from 'chai';
import type { ChildProcess } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { requireEngine, runId } from './support/engine.js';
import {
  eventually,
  isolate,
  parseJsonLines,
  runCli,
  spawnDaemon,
  tempConfig,
} from './support/plan-cli.js';

// `backrest-sidecar healthcheck` against a real daemon: exit 0 and "OK: <url>" while it serves
// /healthz, exit 1 with one error line once it is gone (what a container HEALTHCHECK runs).
describe('backrest-sidecar healthcheck (integration)', function () {
  this.timeout(90_000);
  const run = runId();
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  let daemon: ChildProcess | undefined;
  let dir: string | undefined;

  after(async () => {
    if (daemon && daemon.exitCode === null) daemon.kill('SIGKILL');
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
    daemon = started.daemon;
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

    const exited = new Promise((r) => daemon!.once('exit', r));
    daemon.kill('SIGTERM');
    await exited;
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
