import type Docker from 'dockerode';
import { expect } from 'chai';
import { mkdtemp } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DockerContainerActions, DockerodeClient, type ContainerActions } from '@dockop/docker';
import {
  journalPath,
  runBackupOnce,
  type BackupOnceOptions,
} from '@backrest-sidecar/controller-backup';
import { ForgetRetention } from '@backrest-sidecar/controller-retention';
import { RESTIC_IMAGE, removeLabeled, requireEngine, runId } from './support/engine.js';
import {
  CapturingLogger,
  MemoryRecorder,
  PASSWORD,
  exec,
  listSnapshots,
  makeRepo,
  removeDir,
  type Repo,
} from './retention-fixture.js';
import { isRunning, removeVolumes, startWorkload } from './backup-fixture.js';

// backup-once --engine restic end to end on the real engine: two workloads with a named volume
// and a bind mount each, one of them quiesced; one restic snapshot per workload at exactly
// /volumes/<project>/<service>, tagged with the workload; then retention.
describe('backup-once --engine restic (integration)', function () {
  this.timeout(180_000);
  let docker: Docker;
  let actions: DockerContainerActions;
  let client: DockerodeClient;
  const run = runId();
  const runKey = 'dockop.test.run';
  const runVal = `backup-${run}`;
  const runLabel = `${runKey}=${runVal}`;
  const project = `bk${run.replace(/[^a-z0-9]/g, '')}`;
  const quiesceLabel = `dockop.test.quiesce-${run}=true`;
  let repo: Repo;
  let dir: string;
  const names = { app: `backup-${run}-app`, db: `backup-${run}-db` };

  before(async function () {
    docker = await requireEngine(this);
    client = new DockerodeClient();
    actions = new DockerContainerActions(client);
    repo = await makeRepo('backup-restic');
    dir = await mkdtemp(path.join(tmpdir(), 'backup-restic-binds-'));
    await startWorkload(
      docker,
      {
        name: names.db,
        project,
        service: 'db',
        labels: {
          'backrest.enable': 'true',
          'backrest.keep': 'last=1',
          [quiesceLabel.split('=')[0]!]: 'true',
        },
        volumes: [
          {
            name: `${project}_dbdata`,
            destination: '/var/lib/db',
            files: { 'table.dat': 'rows', 'sub/wal.log': 'wal' },
          },
        ],
      },
      { [runKey]: runVal },
    );
    await startWorkload(
      docker,
      {
        name: names.app,
        project,
        service: 'app',
        labels: { 'restic-compose-backup.volumes': 'true', 'backrest.keep': 'last=2' },
        volumes: [{ name: `${project}_media`, destination: '/media', files: { 'a.jpg': 'jpeg' } }],
        binds: [
          { dir: path.join(dir, 'config'), destination: '/etc/app', files: { 'app.conf': 'x=1' } },
        ],
        dependsOn: ['db'],
      },
      { [runKey]: runVal },
    );
  });

  after(async function () {
    if (docker) {
      await removeLabeled(docker, runLabel);
      await removeVolumes(docker, runLabel);
    }
    await removeDir(repo?.dir);
    await removeDir(dir);
  });

  function options(extra: Partial<BackupOnceOptions> = {}): BackupOnceOptions {
    return {
      engine: 'restic',
      rcbEnvFile: repo.containerEnvFile,
      resticImage: RESTIC_IMAGE,
      resticMounts: [{ type: 'bind', source: repo.repo, target: '/repo' }],
      resticHost: 'backup-test',
      includeProjectName: true,
      selector: [runLabel],
      quiesceLabel,
      stopTimeoutSec: 5,
      stateDir: path.join(repo.dir, 'state'),
      progress: 'log',
      progressIntervalMs: 0,
      oneShotLabels: { [runKey]: runVal },
      ...extra,
    };
  }

  /** ContainerActions that records, at each one-shot's start, whether the db workload runs. */
  function observing(seen: boolean[]): ContainerActions {
    return new Proxy(actions, {
      get(target, prop, receiver) {
        if (prop === 'runOneShot') {
          return async (...args: Parameters<ContainerActions['runOneShot']>) => {
            seen.push(await isRunning(docker, names.db));
            return target.runOneShot(...args);
          };
        }
        const v = Reflect.get(target, prop, receiver) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
  }

  it('makes one snapshot per workload at exactly its path, tagged, with the quiesced container stopped meanwhile', async function () {
    const logger = new CapturingLogger();
    const recorder = new MemoryRecorder();
    const seen: boolean[] = [];
    const report = await runBackupOnce(options({ noForget: true }), {
      actions: observing(seen),
      client,
      logger,
      recorder,
    });
    expect(report.exitCode, JSON.stringify(report, null, 1)).to.equal(0);
    expect(report.workloads.map((w) => [w.container, w.path, w.status])).to.deep.equal([
      [names.app, `/volumes/${project}/app`, 'ok'],
      [names.db, `/volumes/${project}/db`, 'ok'],
    ]);
    // db was stopped while each backup one-shot started, and runs again now.
    expect(seen).to.deep.equal([false, false]);
    expect(report.quiesce.stopped).to.deep.equal([names.db]);
    expect(await isRunning(docker, names.db)).to.equal(true);
    expect(await isRunning(docker, names.app)).to.equal(true);
    expect(existsSync(journalPath(path.join(repo.dir, 'state')))).to.equal(false);

    const snaps = await listSnapshots(repo);
    expect(snaps).to.have.length(2);
    for (const svc of ['app', 'db'] as const) {
      const s = snaps.find((x) => x.paths[0] === `/volumes/${project}/${svc}`) as unknown as {
        paths: string[];
        tags: string[];
        hostname: string;
        short_id: string;
      };
      expect(s.paths).to.deep.equal([`/volumes/${project}/${svc}`]);
      expect(s.hostname).to.equal('backup-test');
      expect(s.tags).to.include.members([
        'backrest-sidecar',
        `container:${names[svc]}`,
        `service:${svc}`,
        `project:${project}`,
      ]);
      expect(report.workloads.find((w) => w.path === s.paths[0])!.snapshotId).to.equal(s.short_id);
    }
    const { stdout: appFiles } = await exec(
      'restic',
      ['ls', '--json', snaps.find((x) => x.paths[0]!.endsWith('/app'))!.id],
      { env: repo.env },
    );
    const appPaths = appFiles
      .split('\n')
      .filter((l) => l.includes('"struct_type":"node"'))
      .map((l) => (JSON.parse(l) as { path: string }).path);
    expect(appPaths).to.include.members([
      `/volumes/${project}/app/media/a.jpg`,
      `/volumes/${project}/app/etc/app/app.conf`,
    ]);
    const { stdout: dbFiles } = await exec(
      'restic',
      ['ls', '--json', snaps.find((x) => x.paths[0]!.endsWith('/db'))!.id],
      { env: repo.env },
    );
    expect(dbFiles).to.include(`/volumes/${project}/db/var/lib/db/sub/wal.log`);
    const summary = report.workloads.find((w) => w.container === names.app)!;
    expect(summary.filesTotal).to.equal(2);
    expect(summary.bytesAdded).to.be.greaterThan(0);
    expect(recorder.list(`BackupWorkload/${names.db}`).map((e) => e.reason)).to.deep.equal([
      'BackedUp',
    ]);
    expect(logger.lines.join('\n')).to.not.include(PASSWORD);
  });

  it("excludes bind mounts with excludeBindMounts, then applies each workload's retention", async function () {
    const logger = new CapturingLogger();
    // Two more runs: app keeps 2 (last=2), db keeps 1 (last=1).
    const first = await runBackupOnce(options({ excludeBindMounts: true, noForget: true }), {
      actions,
      client,
      logger,
    });
    expect(first.exitCode).to.equal(0);
    const snapsMid = await listSnapshots(repo);
    const newestApp = snapsMid
      .filter((s) => s.paths[0]!.endsWith('/app'))
      .sort((a, b) => a.time.localeCompare(b.time))
      .at(-1)!;
    const { stdout } = await exec('restic', ['ls', newestApp.id], { env: repo.env });
    expect(stdout).to.include(`/volumes/${project}/app/media/a.jpg`);
    expect(stdout).to.not.include('app.conf');

    // Retention is the retention controller's BackupRetention (backup imports no controller).
    const second = await runBackupOnce(options({ forgetRunner: 'container' }), {
      actions,
      client,
      logger,
      retention: new ForgetRetention(actions, client, logger),
    });
    expect(second.exitCode, JSON.stringify(second.forget)).to.equal(0);
    const byPath = Object.fromEntries(second.forget!.workloads.map((w) => [w.path, w]));
    expect(byPath[`/volumes/${project}/app`]!.kept).to.have.length(2);
    expect(byPath[`/volumes/${project}/app`]!.removed).to.have.length(1);
    expect(byPath[`/volumes/${project}/db`]!.kept).to.have.length(1);
    expect(byPath[`/volumes/${project}/db`]!.removed).to.have.length(2);
    const after = await listSnapshots(repo);
    expect(after.filter((s) => s.paths[0]!.endsWith('/app'))).to.have.length(2);
    const db = after.filter((s) => s.paths[0]!.endsWith('/db'));
    expect(db.map((s) => s.short_id)).to.deep.equal([
      second.workloads.find((w) => w.container === names.db)!.snapshotId,
    ]);
  });

  it('starts the quiesced container again when the backup fails (exit 1, journal removed)', async function () {
    const bad = path.join(repo.dir, 'bad.env');
    await exec('sh', [
      '-c',
      `printf 'RESTIC_REPOSITORY=/repo\\nRESTIC_PASSWORD=wrong-password\\n' > ${bad}`,
    ]);
    const seen: boolean[] = [];
    const report = await runBackupOnce(options({ rcbEnvFile: bad }), {
      actions: observing(seen),
      client,
      logger: new CapturingLogger(),
    });
    expect(report.exitCode).to.equal(1);
    expect(report.workloads.every((w) => w.status === 'failed')).to.equal(true);
    expect(report.workloads[0]!.error).to.match(/wrong password|exited with/);
    expect(report.forget).to.equal(undefined);
    expect(seen).to.deep.equal([false, false]);
    expect(await isRunning(docker, names.db)).to.equal(true);
    expect(existsSync(journalPath(path.join(repo.dir, 'state')))).to.equal(false);
  });

  it('starts the quiesced container again when aborted mid-backup (SIGINT path)', async function () {
    const controller = new AbortController();
    const slow: ContainerActions = new Proxy(actions, {
      get(target, prop, receiver) {
        if (prop === 'runOneShot') {
          return async (
            spec: Parameters<ContainerActions['runOneShot']>[0],
            opts: Parameters<ContainerActions['runOneShot']>[1],
          ) => {
            // A one-shot that would sleep for a minute; abort as soon as it was started.
            const p = target.runOneShot(
              { ...spec, entrypoint: ['sh', '-c'], cmd: ['sleep 60'] },
              opts,
            );
            setImmediate(() => controller.abort(new Error('SIGINT')));
            return p;
          };
        }
        const v = Reflect.get(target, prop, receiver) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    const report = await runBackupOnce(options({ signal: controller.signal }), {
      actions: slow,
      client,
      logger: new CapturingLogger(),
    });
    expect(report.exitCode).to.not.equal(0);
    expect(report.quiesce.stopped).to.deep.equal([names.db]);
    expect(report.quiesce.started).to.include(names.db);
    expect(await isRunning(docker, names.db)).to.equal(true);
    expect(existsSync(journalPath(path.join(repo.dir, 'state')))).to.equal(false);
  });

  it('refuses two workloads backed up to one path (prod/db and zz/db without --include-project-name), naming both', async function () {
    const collide = `dockop.test.collide-${run}`;
    const svc = `db${run.replace(/[^a-z0-9]/g, '')}`;
    const made: string[] = [];
    for (const proj of [`${project}prod`, `${project}zz`]) {
      const name = `backup-${run}-${proj}-db`;
      made.push(name);
      await startWorkload(
        docker,
        {
          name,
          project: proj,
          service: svc,
          labels: { 'backrest.enable': 'true', [collide]: 'true' },
          volumes: [{ name: `${proj}_data`, destination: '/data', files: { 'x.dat': proj } }],
        },
        { [runKey]: runVal },
      );
    }
    const recorder = new MemoryRecorder();
    const before = await listSnapshots(repo);
    const report = await runBackupOnce(
      options({ includeProjectName: false, selector: [`${collide}=true`], noForget: true }),
      { actions, client, logger: new CapturingLogger(), recorder },
    );
    expect(report.workloads.map((w) => [w.container, w.status])).to.deep.equal(
      made.map((m) => [m, 'failed']),
    );
    for (const w of report.workloads) {
      expect(w.error)
        .to.include(made[0]!)
        .and.include(made[1]!)
        .and.include('--include-project-name');
      expect(recorder.list(`BackupWorkload/${w.container}`).map((e) => e.reason)).to.deep.equal([
        'PathCollision',
      ]);
    }
    expect(report.exitCode).to.equal(1);
    expect((await listSnapshots(repo)).length).to.equal(before.length);
    // With the project in the path they are two workloads again.
    const separated = await runBackupOnce(
      options({ includeProjectName: true, selector: [`${collide}=true`], noForget: true }),
      { actions, client, logger: new CapturingLogger() },
    );
    expect(separated.workloads.map((w) => w.status)).to.deep.equal(['ok', 'ok']);
  });
});
