import { expect } from 'chai';
import { rm } from 'node:fs/promises';
import { requireEngine, runId } from './support/engine.js';
import {
  startLoggingSocketProxy,
  type LoggingSocketProxy,
} from './support/logging-socket-proxy.js';
import { isolate, runCli, tempConfig } from './support/plan-cli.js';

// docs/socket-proxy.md promises which Docker API calls each mode makes; a read-only allowlist
// without /events must be enough for one-shot commands. Checked through a recording proxy in
// front of the real engine.
describe('Docker API calls of one-shot commands (integration)', function () {
  this.timeout(60_000);
  let proxy: LoggingSocketProxy | undefined;
  const dirs: string[] = [];

  after(async () => {
    await proxy?.close();
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('reconcile --dry-run and get plans never open /events; only GETs', async function () {
    await requireEngine(this);
    proxy = await startLoggingSocketProxy();
    const c = await tempConfig();
    dirs.push(c.dir);
    const common = ['--config', c.path, '--docker-sock', proxy.socketPath, ...isolate(runId())];
    const dry = await runCli(['reconcile', '--dry-run', ...common]);
    expect(dry.code, dry.stderr).to.equal(2);
    const get = await runCli(['get', 'plans', ...common]);
    expect(get.code, get.stderr).to.equal(0);
    const paths = proxy.requests.map((r) => `${r.method} ${r.url.split('?')[0]}`);
    expect(
      paths.some((p) => p.includes('/containers/json')),
      paths.join('\n'),
    ).to.equal(true);
    expect(paths.filter((p) => p.includes('/events'))).to.deep.equal([]);
    expect(proxy.requests.filter((r) => r.method !== 'GET' && r.method !== 'HEAD')).to.deep.equal(
      [],
    );
  });
});
