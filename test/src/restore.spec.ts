import type Docker from 'dockerode';
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, readdir, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DockerContainerActions, DockerodeClient } from '@dockop/docker';
import { runBackupOnce } from '@backrest-sidecar/controller-backup';
import {
  RESTIC_IMAGE,
  WORKLOAD_IMAGE,
  removeLabeled,
  requireEngine,
  runId,
} from './support/engine.js';
import { CLI_BIN, parseJsonLines, runCli } from './support/plan-cli.js';
import { PASSWORD, exec, makeRepo, removeDir, type Repo } from './retention-fixture.js';
import { removeVolumes, startWorkload } from './backup-fixture.js';

// `snapshots` and `restore` end to end: real engine, real restic, the CLI from its bundle. A
// compose-like db with a dependent app; backup-once --engine restic makes the snapshot; restore
// puts it into a directory, then in place (both containers stopped, dependents first, and
// started again), also from a snapshot Backrest would have made (host paths, tag plan:<id>).
describe('restore (integration)', function () {
  this.timeout(240_000);
  let docker: Docker;
  const run = runId();
  const runKey = 'dockop.test.run';
  const runVal = `restore-${run}`;
  const runLabel = `${runKey}=${runVal}`;
  const project = `rs${run.replace(/[^a-z0-9]/g, '')}`;
  const names = { db: `restore-${run}-db`, app: `restore-${run}-app` };
  const volume = `${project}_dbdata`;
  const planId = `backrest_sidecar_${project}_db`;
  const original = { 'table.dat': 'rows 1-100', 'sub/wal.log': 'wal segment' };
  let repo: Repo;
  let dir: string;

  const repoFlags = (): string[] => [
    '--rcb-env-file',
    repo.containerEnvFile,
    '--restic-image',
    RESTIC_IMAGE,
    '--restic-volume',
    `${repo.repo}:/repo`,
    '--state-dir',
    path.join(repo.dir, 'state'),
    '--selector',
    runLabel,
    '--log-format',
    'json',
  ];

  /** The files of the db volume (path → contents), read through a throwaway container. */
  async function volumeFiles(): Promise<Record<string, string>> {
    const { stdout } = await exec('docker', [
      'run',
      '--rm',
      '--label',
      runLabel,
      '-v',
      `${volume}:/v:ro`,
      WORKLOAD_IMAGE,
      'sh',
      '-c',
      'cd /v && find . -type f | sort | while read f; do printf "%s\\t%s\\n" "$f" "$(cat "$f")"; done',
    ]);
    return Object.fromEntries(
      stdout
        .split('\n')
        .filter(Boolean)
        .map((l) => {
          const [f, c] = l.split('\t');
          return [f!.replace(/^\.\//, ''), c ?? ''];
        }),
    );
  }

  async function startedAt(name: string): Promise<string> {
    return (await docker.getContainer(name).inspect()).State.StartedAt;
  }

  async function damageVolume(): Promise<void> {
    await exec('docker', [
      'run',
      '--rm',
      '--label',
      runLabel,
      '-v',
      `${volume}:/v`,
      WORKLOAD_IMAGE,
      'sh',
      '-c',
      'echo corrupted > /v/table.dat && rm /v/sub/wal.log && echo stale > /v/extra.tmp',
    ]);
  }

  before(async function () {
    docker = await requireEngine(this);
    repo = await makeRepo('restore');
    dir = await mkdtemp(path.join(tmpdir(), 'restore-to-'));
    await startWorkload(
      docker,
      {
        name: names.db,
        project,
        service: 'db',
        labels: { 'backrest.enable': 'true' },
        volumes: [{ name: volume, destination: '/var/lib/db', files: original }],
      },
      { [runKey]: runVal },
    );
    await startWorkload(
      docker,
      { name: names.app, project, service: 'app', labels: {}, dependsOn: ['db'] },
      { [runKey]: runVal },
    );
    const client = new DockerodeClient();
    const report = await runBackupOnce(
      {
        engine: 'restic',
        rcbEnvFile: repo.containerEnvFile,
        resticImage: RESTIC_IMAGE,
        resticMounts: [{ type: 'bind', source: repo.repo, target: '/repo' }],
        resticHost: 'restore-test',
        includeProjectName: true,
        selector: [runLabel],
        quiesceLabel: `dockop.test.none-${run}=true`,
        stateDir: path.join(repo.dir, 'state'),
        progress: 'none',
        noForget: true,
        oneShotLabels: { [runKey]: runVal },
      },
      { actions: new DockerContainerActions(client), client },
    );
    expect(report.exitCode, JSON.stringify(report)).to.equal(0);
  });

  after(async function () {
    if (docker) {
      await removeLabeled(docker, runLabel);
      await removeVolumes(docker, runLabel);
    }
    await removeDir(repo?.dir);
    await removeDir(dir);
  });

  it('snapshots lists the workload by container name and by plan id, as JSON and as a table', async () => {
    const byName = await runCli(['snapshots', names.db, ...repoFlags(), '-o', 'json']);
    expect(byName.code, byName.stderr).to.equal(0);
    const snaps = JSON.parse(byName.stdout) as {
      id: string;
      tags: string[];
      size: number;
      paths: string[];
    }[];
    expect(snaps).to.have.length(1);
    expect(snaps[0]!.tags).to.include(`container:${names.db}`);
    expect(snaps[0]!.paths).to.deep.equal([`/volumes/${project}/db`]);
    // restore-size: the bytes of the two files.
    expect(snaps[0]!.size).to.equal(original['table.dat'].length + original['sub/wal.log'].length);
    const byPlan = await runCli(['snapshots', planId, ...repoFlags()]);
    expect(byPlan.code, byPlan.stderr).to.equal(0);
    const lines = byPlan.stdout.trim().split('\n');
    expect(lines[0]).to.match(/^TIME\s+ID\s+SIZE\s+HOST\s+TAGS$/);
    expect(lines).to.have.length(2);
    expect(lines[1]).to.include(snaps[0]!.id.slice(0, 8)).and.include('restore-test');
    // Another workload's name finds nothing (and is not an error).
    const none = await runCli(['snapshots', `${names.app}`, ...repoFlags(), '-o', 'json']);
    expect(none.code, none.stderr).to.equal(0);
    expect(JSON.parse(none.stdout)).to.deep.equal([]);
  });

  it('restore --to DIR puts the files back under their mount paths', async () => {
    const to = path.join(dir, 'out');
    const res = await runCli(['restore', names.db, '--to', to, ...repoFlags()]);
    expect(res.code, res.stderr).to.equal(0);
    expect(await readFile(path.join(to, 'var/lib/db/table.dat'), 'utf8')).to.equal(
      original['table.dat'],
    );
    expect(await readFile(path.join(to, 'var/lib/db/sub/wal.log'), 'utf8')).to.equal(
      original['sub/wal.log'],
    );
    expect(await readdir(to)).to.deep.equal(['var']);
    // A directory that already holds files is refused: nothing is merged.
    const again = await runCli(['restore', names.db, '--to', to, ...repoFlags()]);
    expect(again.code).to.equal(1);
    expect(again.stderr).to.include('is not empty');
  });

  it('restore --in-place --dry-run prints the plan and changes nothing (exit 2)', async () => {
    await damageVolume();
    const before = await startedAt(names.db);
    const res = await runCli(['restore', names.db, '--in-place', '--dry-run', ...repoFlags()]);
    expect(res.code, res.stderr).to.equal(2);
    expect(res.stdout).to.include(`/volumes/${project}/db/var/lib/db -> volume ${volume}`);
    expect(res.stdout).to.include(`Stop:      ${names.app}, ${names.db}`);
    expect(await startedAt(names.db)).to.equal(before);
    expect((await volumeFiles())['table.dat']).to.equal('corrupted');
  });

  it('restore --in-place stops the app, then the db, replaces the volume and starts both again', async () => {
    const before = { db: await startedAt(names.db), app: await startedAt(names.app) };
    const res = await runCli([
      'restore',
      names.db,
      '--in-place',
      '--stop-timeout',
      '5s',
      ...repoFlags(),
    ]);
    expect(res.code, res.stderr).to.equal(0);
    expect(await volumeFiles()).to.deep.equal(original);
    const stops = res.logs.filter((l) => l.action === 'quiesce.stopping').map((l) => l.container);
    expect(stops).to.deep.equal([names.app, names.db]);
    const starts = res.logs.filter((l) => l.action === 'quiesce.started').map((l) => l.container);
    expect(starts).to.deep.equal([names.db, names.app]);
    for (const n of [names.db, names.app]) {
      const info = await docker.getContainer(n).inspect();
      expect(info.State.Running, n).to.equal(true);
    }
    expect(await startedAt(names.db)).to.not.equal(before.db);
    expect(await startedAt(names.app)).to.not.equal(before.app);
    // The event is kept in the workload's status (describe workload).
    const status = JSON.parse(
      await readFile(path.join(repo.dir, 'state', 'workloads', `${names.db}.json`), 'utf8'),
    ) as { events: { type: string; reason: string; message: string }[] };
    expect(status.events.at(-1)).to.include({ type: 'Normal', reason: 'Restored' });
    expect(status.events.at(-1)?.message).to.match(
      /^snapshot [0-9a-f]{8} of .* restored in place$/,
    );
    // Nothing left behind: no scratch volume, no one-shot of this run.
    const runIdOf = res.logs.find((l) => l.action === 'restore.starting')?.runId;
    expect(runIdOf).to.be.a('string');
    const run = `io.dockop.backrest-sidecar.run=${String(runIdOf)}`;
    const { Volumes } = await docker.listVolumes({ filters: { label: [run] } });
    expect(Volumes ?? []).to.deep.equal([]);
    expect(await docker.listContainers({ all: true, filters: { label: [run] } })).to.deep.equal([]);
  });

  it('restores in place from a snapshot Backrest made from the plan (host paths, tag plan:<id>)', async () => {
    const hostPath = `/var/lib/docker/volumes/${volume}/_data`;
    // What Backrest does for the plan: back up the volume's host path, tagged plan:<id>.
    await exec('docker', [
      'run',
      '--rm',
      '--label',
      runLabel,
      '-e',
      'RESTIC_REPOSITORY=/repo',
      '-e',
      `RESTIC_PASSWORD=${PASSWORD}`,
      '-v',
      `${repo.repo}:/repo`,
      '-v',
      `${volume}:${hostPath}:ro`,
      RESTIC_IMAGE,
      'backup',
      '-q',
      '--host',
      'backrest-instance',
      '--tag',
      `plan:${planId},created-by:backrest-instance`,
      hostPath,
    ]);
    await damageVolume();
    const res = await runCli([
      'restore',
      planId,
      '--in-place',
      '--stop-timeout',
      '5s',
      ...repoFlags(),
    ]);
    expect(res.code, res.stderr).to.equal(0);
    const starting = res.logs.find((l) => l.action === 'restore.starting') as {
      items: { from: string }[];
    };
    expect(starting.items.map((i) => i.from)).to.deep.equal([hostPath]);
    expect(await volumeFiles()).to.deep.equal(original);
  });

  it('a SIGTERM while the workload is stopped still starts it again', async () => {
    await damageVolume();
    const child = spawn(
      process.execPath,
      [CLI_BIN, 'restore', names.db, '--in-place', '--stop-timeout', '5s', ...repoFlags()],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    // Signal as soon as the first container was stopped.
    let signalled = false;
    for (let i = 0; i < 1200 && !signalled; i++) {
      if (parseJsonLines(stderr).some((l) => l.action === 'quiesce.stopping')) {
        child.kill('SIGTERM');
        signalled = true;
      } else await new Promise((r) => setTimeout(r, 25));
    }
    expect(signalled, stderr).to.equal(true);
    const code = await exited;
    const logs = parseJsonLines(stderr);
    expect(
      logs.some((l) => l.action === 'signal.received'),
      stderr,
    ).to.equal(true);
    for (const n of [names.db, names.app]) {
      expect((await docker.getContainer(n).inspect()).State.Running, `${n} running`).to.equal(true);
    }
    // Either the copy had started (it is never cut off: restored) or the abort came first (failed).
    if (code === 0) expect(await volumeFiles()).to.deep.equal(original);
    else expect(code).to.equal(1);
    const journal = await stat(path.join(repo.dir, 'state', 'quiesce-journal.json')).catch(
      () => undefined,
    );
    expect(journal, 'journal released').to.equal(undefined);
  });
});
