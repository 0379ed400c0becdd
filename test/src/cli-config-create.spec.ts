import type Docker from 'dockerode';
import { expect } from 'chai';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { defaultInstanceId } from '@backrest-sidecar/config-sink';
import { requireEngine, runId } from './support/engine.js';
import { runCli } from './support/plan-cli.js';
import { assertBackrestLoads } from '@backrest-sidecar/config-sink/backrest-oracle';

// The real binary creating a missing config in Backrest's native format: 0600 (as Backrest
// writes it), version 6, and an instance (Backrest refuses repo operations without one): by
// default the Docker engine's host name (the same "this host" as restic's --host), or
// --backrest-instance / BACKREST_INSTANCE.
describe('backrest-sidecar creates a native config safely (integration)', function () {
  this.timeout(120_000);
  let docker: Docker;
  const run = runId();
  let dir: string;

  before(async function () {
    docker = await requireEngine(this);
  });
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'cfg-create-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const reconcile = (file: string, extra: string[] = [], env: Record<string, string> = {}) =>
    runCli(
      [
        'reconcile',
        '--config',
        file,
        '--config-format',
        'backrest',
        '--selector',
        `dockop.test.run=${run}`,
        ...extra,
      ],
      { env, timeoutMs: 60_000 },
    );

  it('a missing file becomes 0600, version 6, instance = the engine host name', async () => {
    const file = path.join(dir, 'config.json');
    const r = await reconcile(file);
    expect(r.code, r.stderr + r.stdout).to.equal(0);
    const info = (await docker.info()) as { Name: string };
    const doc = JSON.parse(await readFile(file, 'utf8'));
    expect(doc).to.deep.equal({
      modno: 0,
      version: 6,
      instance: defaultInstanceId(info.Name),
      repos: [],
      plans: [],
    });
    expect((await stat(file)).mode & 0o7777).to.equal(0o600);
    assertBackrestLoads(await readFile(file, 'utf8'), file);
  });

  it('--backrest-instance and BACKREST_INSTANCE name it; an invalid one exits 1, no file', async () => {
    const a = path.join(dir, 'a.json');
    expect((await reconcile(a, ['--backrest-instance', 'nas-01'])).code).to.equal(0);
    expect(JSON.parse(await readFile(a, 'utf8')).instance).to.equal('nas-01');
    const b = path.join(dir, 'b.json');
    expect((await reconcile(b, [], { BACKREST_INSTANCE: 'nas-02' })).code).to.equal(0);
    expect(JSON.parse(await readFile(b, 'utf8')).instance).to.equal('nas-02');
    const c = path.join(dir, 'c.json');
    const bad = await reconcile(c, ['--backrest-instance', 'two words']);
    expect(bad.code).to.equal(1);
    expect(bad.stderr).to.include('--backrest-instance');
    await stat(c).then(
      () => expect.fail('no file may be created'),
      (err: NodeJS.ErrnoException) => expect(err.code).to.equal('ENOENT'),
    );
  });
});
