import type Docker from 'dockerode';
import { expect } from 'chai';
import path from 'node:path';
import { DockerContainerActions, DockerodeClient, ImageLabelTrust } from '@dockop/docker';
import { ImageWorkloadLabelTrust } from '@backrest-sidecar/api';
import { runBackupOnce, type BackupOnceOptions } from '@backrest-sidecar/controller-backup';
import { runForget } from '@backrest-sidecar/controller-retention';
import { createResticRunner } from '@backrest-sidecar/restic';
import { RESTIC_IMAGE, removeLabeled, requireEngine, runId } from './support/engine.js';
import {
  CapturingLogger,
  exec,
  listSnapshots,
  makeRepo,
  removeDir,
  type Repo,
  type Snap,
} from './retention-fixture.js';
import { REDIS_IMAGE, dockerExec, startDb } from './dump-fixture.js';

// A dump preset's snapshots (backup-once --engine restic streams the dump into `restic backup
// --stdin --stdin-filename <container>.<ext>` with the workload's tags) fall under the workload's
// backrest.keep like its file snapshots: made for real by three backup-once runs of two redis
// containers, then forgotten with real restic, and the repository read back.
describe('retention: dump snapshots under the workload policy (integration, real restic)', function () {
  this.timeout(300_000);
  let docker: Docker;
  const run = runId();
  const runKey = 'dockop.test.run';
  const runVal = `retdump-${run}`;
  const runLabel = `${runKey}=${runVal}`;
  const n = { kept: `retdump-${run}-kept`, free: `retdump-${run}-free` };
  const vol = { kept: `retdump-${run}-keptdata`, free: `retdump-${run}-freedata` };
  const HOST = 'retdump-test';
  let repo: Repo;
  let before3: Snap[];

  const dumpPath = (name: string): string => `/${name}.rdb`;
  const filePath = (name: string): string => `/volumes/${name}`;
  const at = (snaps: Snap[], p: string, host = HOST): Snap[] =>
    snaps
      .filter((s) => s.hostname === host && s.paths.length === 1 && s.paths[0] === p)
      .sort((a, b) => a.time.localeCompare(b.time));

  before(async function () {
    docker = await requireEngine(this);
    repo = await makeRepo('retention-dump');
    const enable = { 'backrest.enable': 'true', 'backrest.dump': 'redis' };
    await Promise.all([
      startDb(
        {
          name: n.kept,
          image: REDIS_IMAGE,
          labels: { ...enable, 'backrest.keep': 'last=2' },
          volumes: [`${vol.kept}:/data`],
        },
        runLabel,
        ['redis-cli', 'ping'],
      ),
      // Dumps too, but no policy: none of its snapshots may go.
      startDb(
        { name: n.free, image: REDIS_IMAGE, labels: enable, volumes: [`${vol.free}:/data`] },
        runLabel,
        ['redis-cli', 'ping'],
      ),
    ]);
    const client = new DockerodeClient();
    const options: BackupOnceOptions = {
      engine: 'restic',
      rcbEnvFile: repo.containerEnvFile,
      resticImage: RESTIC_IMAGE,
      resticMounts: [{ type: 'bind', source: repo.repo, target: '/repo' }],
      resticHost: HOST,
      selector: [runLabel],
      quiesceLabel: `dockop.test.quiesce-${run}=true`,
      stateDir: path.join(repo.dir, 'state'),
      progress: 'none',
      noForget: true,
      oneShotLabels: { [runKey]: runVal },
    };
    for (let i = 0; i < 3; i++) {
      await dockerExec(n.kept, ['redis-cli', 'set', 'round', String(i)]);
      const report = await runBackupOnce(options, {
        actions: new DockerContainerActions(client),
        client,
        logger: new CapturingLogger(),
      });
      expect(report.exitCode, JSON.stringify(report.workloads)).to.equal(0);
    }
    // The same file name from another host (a shared repository): never ours to forget.
    await exec(
      'sh',
      [
        '-c',
        `echo other | restic backup -q --host other-host --stdin --stdin-filename ${n.kept}.rdb --tag backrest-sidecar --tag container:${n.kept}`,
      ],
      { env: repo.env },
    );
    before3 = await listSnapshots(repo);
  });

  after(async function () {
    if (docker) {
      await removeLabeled(docker, runLabel);
      for (const v of Object.values(vol))
        await docker
          .getVolume(v)
          .remove()
          .catch(() => undefined);
    }
    await removeDir(repo?.dir);
  });

  it('backup-once made one dump snapshot per run at /<container>.rdb with our tags', () => {
    for (const name of [n.kept, n.free]) {
      const dumps = at(before3, dumpPath(name));
      expect(dumps, name).to.have.length(3);
      for (const d of dumps) {
        expect((d as Snap & { tags?: string[] }).tags).to.include.members([
          'backrest-sidecar',
          `container:${name}`,
        ]);
      }
      expect(at(before3, filePath(name)), name).to.have.length(3);
    }
  });

  it("keep=last=2 leaves the two newest dumps and the two newest file snapshots; others' untouched", async () => {
    const client = new DockerodeClient();
    const logger = new CapturingLogger();
    const restic = await createResticRunner(
      { kind: 'local', envFile: repo.hostEnvFile },
      new DockerContainerActions(client),
      { PATH: process.env.PATH, HOME: process.env.HOME },
    );
    const report = await runForget(
      { host: HOST, selector: [runLabel], prune: 'never' },
      {
        containers: new DockerContainerActions(client),
        restic,
        logger,
        trust: new ImageWorkloadLabelTrust(new ImageLabelTrust(client), false),
      },
    );
    expect(report.exitCode, JSON.stringify(report)).to.equal(0);
    const w = report.workloads.find((x) => x.containers.includes(n.kept));
    expect(w?.status, JSON.stringify(report)).to.equal('forgotten');
    const oldDump = at(before3, dumpPath(n.kept))[0]!;
    const oldFile = at(before3, filePath(n.kept))[0]!;
    expect([...w!.removed].sort()).to.deep.equal([oldDump.short_id, oldFile.short_id].sort());
    expect(w!.kept).to.have.length(4);
    expect(logger.lines.some((l) => l.includes('"retention.forgotten_dumps"'))).to.equal(true);

    const after = await listSnapshots(repo);
    expect(at(after, dumpPath(n.kept)).map((s) => s.id)).to.deep.equal(
      at(before3, dumpPath(n.kept))
        .slice(1)
        .map((s) => s.id),
    );
    expect(at(after, filePath(n.kept))).to.have.length(2);
    // No policy: every dump and file snapshot of the other workload stays.
    expect(at(after, dumpPath(n.free))).to.have.length(3);
    expect(at(after, filePath(n.free))).to.have.length(3);
    // Another host's snapshot of the same file name stays.
    expect(at(after, dumpPath(n.kept), 'other-host')).to.have.length(1);
    expect(after).to.have.length(before3.length - 2);
  });
});
