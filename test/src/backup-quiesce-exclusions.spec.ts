// The quiesce set never holds the containers the backup needs: ours, Backrest's, a Docker socket
// proxy, or one labeled backrest.quiesce.exclude=true. The others are stopped as before.
import type Docker from 'dockerode';
import { expect } from 'chai';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { withQuiesce } from '@backrest-sidecar/controller-backup';
import { DockerContainerActions, DockerodeClient, createContainer } from '@dockop/docker';
import { WORKLOAD_IMAGE, removeLabeled, requireEngine, runId } from './support/engine.js';
import { CapturingLogger, exec } from './retention-fixture.js';

describe('quiesce exclusions (integration)', function () {
  this.timeout(90_000);
  let docker: Docker;
  let actions: DockerContainerActions;
  const run = runId();
  const runKey = 'dockop.test.run';
  const runVal = `quiesce-excl-${run}`;
  const quiesceKey = `dockop.test.quiesce-excl-${run}`;
  const proxyImage = `dockop-it/docker-socket-proxy-${run.replace(/[^a-z0-9]/g, '')}:local`;
  let stateDir: string;

  before(async function () {
    docker = await requireEngine(this);
    actions = new DockerContainerActions(new DockerodeClient());
    stateDir = await mkdtemp(path.join(tmpdir(), 'quiesce-excl-'));
    await exec('docker', ['tag', WORKLOAD_IMAGE, proxyImage]);
  });

  after(async function () {
    if (docker) await removeLabeled(docker, `${runKey}=${runVal}`);
    await exec('docker', ['rmi', proxyImage]).catch(() => undefined);
    if (stateDir) await rm(stateDir, { recursive: true, force: true });
  });

  async function container(
    name: string,
    extra: { image?: string; labels?: Record<string, string> } = {},
  ): Promise<Docker.Container> {
    const c = await createContainer(docker, {
      name: `quiesce-excl-${run}-${name}`,
      Image: extra.image ?? WORKLOAD_IMAGE,
      Cmd: ['sleep', '3600'],
      Labels: { [runKey]: runVal, [quiesceKey]: 'true', ...extra.labels },
      HostConfig: { NetworkMode: 'none' },
    });
    await c.start();
    return c;
  }

  it('stops the workload but not ours, Backrest, a socket proxy or an opted-out container; says why', async () => {
    const db = await container('db');
    const self = await container('sidecar');
    const backrest = await container('backrest');
    const proxy = await container('proxy', { image: proxyImage });
    const optOut = await container('vpn', { labels: { 'backrest.quiesce.exclude': 'true' } });
    const logger = new CapturingLogger();
    const during: Record<string, boolean> = {};
    const all = { db, self, backrest, proxy, optOut };
    const { outcome } = await withQuiesce(
      actions,
      {
        label: `${quiesceKey}=true`,
        selector: [`${runKey}=${runVal}`],
        stopTimeoutSec: 0,
        stateDir,
        logger,
        // Our own id as the sidecar would detect it (the detection itself is a unit test).
        exclude: { selfId: self.id, backrestContainer: `quiesce-excl-${run}-backrest` },
      },
      async () => {
        for (const [k, c] of Object.entries(all)) during[k] = (await c.inspect()).State.Running;
      },
    );
    expect(outcome.stopped).to.deep.equal([`quiesce-excl-${run}-db`]);
    expect(during).to.deep.equal({
      db: false,
      self: true,
      backrest: true,
      proxy: true,
      optOut: true,
    });
    expect((await db.inspect()).State.Running).to.equal(true);
    const excluded = logger.lines
      .map((l) => JSON.parse(l) as { action: string; container?: string; reason?: string })
      .filter((l) => l.action === 'quiesce.excluded');
    expect(excluded.map((l) => l.container).sort()).to.deep.equal(
      ['backrest', 'proxy', 'sidecar', 'vpn'].map((n) => `quiesce-excl-${run}-${n}`),
    );
    const reason = (n: string): string =>
      excluded.find((l) => l.container === `quiesce-excl-${run}-${n}`)!.reason!;
    expect(reason('sidecar')).to.include('this sidecar');
    expect(reason('backrest')).to.include('--backrest-container');
    expect(reason('proxy')).to.include('socket proxy');
    expect(reason('vpn')).to.include('backrest.quiesce.exclude=true');
  });
});
