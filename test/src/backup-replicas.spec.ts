import type Docker from 'dockerode';
import { expect } from 'chai';
import { mkdir, mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createContainer } from '@dockop/docker';
import { WORKLOAD_IMAGE, removeLabeled, requireEngine, runId } from './support/engine.js';
import { runCli } from './support/plan-cli.js';
import { exec, makeRepo, removeDir, resticRepoFlags, type Repo } from './retention-fixture.js';
import { isRunning, removeVolumes } from './backup-fixture.js';

interface Snapshot {
  id: string;
  paths: string[];
  tags?: string[];
}

// Workloads are services, not containers: two replicas of one compose service (what
// `docker compose up --scale app=2` makes: same project and service labels, container-number 1
// and 2), each with its own anonymous volume at /data and its own bind mount at /conf, both
// sharing one named volume at /shared. backup-once --engine restic on the real engine with real
// restic makes ONE snapshot of /volumes/<project>/app holding both replicas' data (the shared
// volume once), quiesces and restarts both, and `get workloads` shows one workload.
describe('backup-once --engine restic: replicas of one service are one workload (integration)', function () {
  this.timeout(240_000);
  let docker: Docker;
  let repo: Repo;
  let binds: string;
  const run = runId();
  const runKey = 'dockop.test.run';
  const runVal = `replicas-${run}`;
  const runLabel = `${runKey}=${runVal}`;
  const project = `rp${run.replace(/[^a-z0-9]/g, '')}`;
  const quiesceKey = `dockop.test.quiesce-${run}`;
  const shared = `${project}_shared`;
  const replicas = [`${project}-app-1`, `${project}-app-2`];
  const stateDir = () => path.join(repo.dir, 'state');
  const repoFlags = () => [
    ...resticRepoFlags(repo, stateDir(), 'replicas-test'),
    '--selector',
    runLabel,
    '--log-format',
    'json',
  ];

  before(async function () {
    docker = await requireEngine(this);
    repo = await makeRepo('backup-replicas');
    binds = await mkdtemp(path.join(tmpdir(), 'backup-replicas-binds-'));
    await docker.createVolume({ Name: shared, Labels: { [runKey]: runVal } });
    await exec('docker', [
      'run',
      '--rm',
      '--label',
      runLabel,
      '-v',
      `${shared}:/v`,
      WORKLOAD_IMAGE,
      'sh',
      '-c',
      'printf shared > /v/shared.txt',
    ]);
    for (const [i, name] of replicas.entries()) {
      const conf = path.join(binds, `conf${i + 1}`);
      await mkdir(conf, { recursive: true });
      await writeFile(path.join(conf, `conf${i + 1}.txt`), `conf of replica ${i + 1}`);
      const c = await createContainer(docker, {
        name,
        Image: WORKLOAD_IMAGE,
        Cmd: ['sh', '-c', 'trap "exit 0" TERM; while true; do sleep 1; done'],
        Labels: {
          [runKey]: runVal,
          'backrest.enable': 'true',
          'backrest.keep': 'last=3',
          [quiesceKey]: 'true',
          'com.docker.compose.project': project,
          'com.docker.compose.service': 'app',
          'com.docker.compose.container-number': String(i + 1),
        },
        HostConfig: {
          NetworkMode: 'none',
          Mounts: [
            { Type: 'volume', Source: '', Target: '/data' }, // anonymous: each replica its own
            { Type: 'bind', Source: conf, Target: '/conf' },
            { Type: 'volume', Source: shared, Target: '/shared' },
          ],
        },
      });
      await c.start();
      await exec('docker', [
        'exec',
        name,
        'sh',
        '-c',
        `printf r${i + 1} > /data/replica${i + 1}.txt`,
      ]);
    }
  });

  after(async function () {
    if (docker) {
      await removeLabeled(docker, runLabel); // with their anonymous volumes
      await removeVolumes(docker, runLabel);
    }
    await removeDir(repo?.dir);
    await removeDir(binds);
  });

  it("makes one snapshot of the service with both replicas' data, quiesces both, shows one workload", async () => {
    const res = await runCli(
      [
        'backup-once',
        '--engine',
        'restic',
        '--include-project-name',
        '--quiesce-label',
        `${quiesceKey}=true`,
        '--stop-timeout',
        '5s',
        '--progress',
        'none',
        ...repoFlags(),
      ],
      { timeoutMs: 180_000 },
    );
    expect(res.code, res.stderr).to.equal(0);

    // Exactly one snapshot, at the service's path, tagged with the workload and both replicas.
    const { stdout } = await exec('restic', ['snapshots', '--json'], { env: repo.env });
    const snaps = JSON.parse(stdout) as Snapshot[];
    const root = `/volumes/${project}/app`;
    expect(
      snaps.map((s) => s.paths),
      stdout,
    ).to.deep.equal([[root]]);
    expect(snaps[0]!.tags).to.include.members([
      `container:${replicas[0]}`,
      `service:app`,
      `replica:${replicas[0]}`,
      `replica:${replicas[1]}`,
    ]);
    expect(snaps[0]!.tags).to.not.include(`container:${replicas[1]}`);

    // Its tree holds both replicas' own volume and bind mount, and the shared volume once.
    const ls = await exec('restic', ['ls', '--json', snaps[0]!.id], { env: repo.env });
    const files = ls.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { path?: string; type?: string })
      .filter((n) => n.type === 'file')
      .map((n) => n.path)
      .sort();
    expect(files).to.deep.equal(
      [
        `${root}/conf/conf1.txt`,
        `${root}/conf@${replicas[1]}/conf2.txt`,
        `${root}/data/replica1.txt`,
        `${root}/data@${replicas[1]}/replica2.txt`,
        `${root}/shared/shared.txt`,
      ].sort(),
    );

    // Both replicas were stopped for it (journaled quiesce) and run again.
    const stopped = res.logs
      .filter((l) => l.action === 'quiesce.stopping')
      .map((l) => l.container)
      .sort();
    expect(stopped).to.deep.equal([...replicas].sort());
    for (const r of replicas) expect(await isRunning(docker, r), r).to.equal(true);

    // One workload, named after its first replica; no status under the second's name.
    const get = await runCli(['get', 'workloads', '-o', 'json', ...repoFlags()], {
      timeoutMs: 120_000,
    });
    expect(get.code, get.stderr).to.equal(0);
    const rows = JSON.parse(get.stdout) as {
      name: string;
      state: string;
      replicas?: string[];
      snapshots: number | null;
      status: { lastBackup?: { snapshotId?: string } };
    }[];
    expect(rows.map((r) => r.name)).to.deep.equal([replicas[0]]);
    expect(rows[0]!.replicas).to.deep.equal(replicas);
    expect(rows[0]!.state).to.equal('Ok');
    expect(rows[0]!.snapshots).to.equal(1);
    expect(snaps[0]!.id.startsWith(rows[0]!.status.lastBackup!.snapshotId!)).to.equal(true);
    const statusFiles = await readdir(path.join(stateDir(), 'workloads'));
    expect(statusFiles.filter((f) => f.includes(replicas[1]!))).to.deep.equal([]);

    // The second replica's name finds its service's snapshot too (tag replica:<name>).
    const second = await runCli(
      ['snapshots', replicas[1]!, '-o', 'json', '--no-size', ...repoFlags()],
      {
        timeoutMs: 120_000,
      },
    );
    expect(second.code, second.stderr).to.equal(0);
    expect((JSON.parse(second.stdout) as { id: string }[]).map((s) => s.id)).to.deep.equal([
      snaps[0]!.id,
    ]);

    const describe = await runCli([
      'describe',
      'workload',
      replicas[0]!,
      '--no-repository',
      ...repoFlags(),
    ]);
    expect(describe.code, describe.stderr).to.equal(0);
    expect(describe.stdout).to.contain(`Replicas:     ${replicas.join(', ')}`);
  });
});
