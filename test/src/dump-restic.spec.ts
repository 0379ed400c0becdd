import type Docker from 'dockerode';
import { expect } from 'chai';
import path from 'node:path';
import { DockerContainerActions, DockerodeClient } from '@dockop/docker';
import { runBackupOnce, type BackupOnceOptions } from '@backrest-sidecar/controller-backup';
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
import {
  MARIADB_IMAGE,
  POSTGRES_IMAGE,
  REDIS_IMAGE,
  dockerExec,
  mariadb,
  pipeDump,
  psql,
  restoreExec,
  startDb,
  startWriter,
} from './dump-fixture.js';

// backup-once --engine restic with dump presets, on the real engine with real restic and real
// PostgreSQL 15, MariaDB and Redis (the images scripts/docker-engine.sh builds from Debian's
// packages): each dump is streamed into `restic backup --stdin` while the databases keep serving
// writes, and restored from the repository into fresh containers with the presets' own restore
// scripts. MongoDB and sqlite are covered by contract tests against stand-ins
// (packages/backrest-api/src/dump-preset.spec.ts): no image of theirs is built here.
describe('backup-once --engine restic with dump presets (integration)', function () {
  this.timeout(300_000);
  let docker: Docker;
  const run = runId();
  const runKey = 'dockop.test.run';
  const runVal = `dump-${run}`;
  const runLabel = `${runKey}=${runVal}`;
  const pgPassword = `pg-secret-${run}`;
  const myPassword = `my-secret-${run}`;
  const n = {
    pg: `dump-${run}-pg`,
    my: `dump-${run}-my`,
    redis: `dump-${run}-redis`,
    nocred: `dump-${run}-nocred`,
    bad: `dump-${run}-bad`,
    pgFresh: `dump-${run}-pg-fresh`,
    myFresh: `dump-${run}-my-fresh`,
    redisFresh: `dump-${run}-redis-fresh`,
  };
  const vol = {
    my: `dump-${run}-mydata`,
    redis: `dump-${run}-redisdata`,
    redisFresh: `dump-${run}-redisfresh`,
  };
  let repo: Repo;
  let report: Awaited<ReturnType<typeof runBackupOnce>>;
  const logger = new CapturingLogger();
  const recorder = new MemoryRecorder();
  const rows = { pgBefore: 0, pgAfter: 0, myBefore: 0, myAfter: 0 };

  const pgReady = ['psql', '-U', 'postgres', '-d', 'app', '-c', 'select 1'];

  before(async function () {
    docker = await requireEngine(this);
    repo = await makeRepo('dump-restic');
    const enable = { 'backrest.enable': 'true' };
    await Promise.all([
      startDb(
        {
          name: n.pg,
          image: POSTGRES_IMAGE,
          env: { POSTGRES_PASSWORD: pgPassword, POSTGRES_DB: 'app' },
          labels: { ...enable, 'backrest.dump': 'postgres' },
        },
        runLabel,
        pgReady,
      ),
      startDb(
        {
          name: n.my,
          image: MARIADB_IMAGE,
          env: { MARIADB_ROOT_PASSWORD: myPassword, MARIADB_DATABASE: 'shop' },
          labels: { ...enable, 'backrest.dump': 'mariadb', 'backrest.dump.only': 'true' },
          volumes: [`${vol.my}:/var/lib/mysql`],
        },
        runLabel,
        ['sh', '-c', 'MYSQL_PWD="$MARIADB_ROOT_PASSWORD" mariadb -uroot -e "select 1"'],
      ),
      startDb(
        {
          name: n.redis,
          image: REDIS_IMAGE,
          labels: { ...enable, 'backrest.dump': 'redis' },
          volumes: [`${vol.redis}:/data`],
        },
        runLabel,
        ['redis-cli', 'ping'],
      ),
      startDb(
        {
          name: n.nocred,
          image: POSTGRES_IMAGE,
          env: { POSTGRES_PASSWORD: pgPassword },
          labels: {
            ...enable,
            'backrest.dump': 'postgres',
            'backrest.dump.password-env': 'DB_PASSWORD',
          },
        },
        runLabel,
        ['psql', '-U', 'postgres', '-c', 'select 1'],
      ),
      startDb(
        {
          name: n.bad,
          image: POSTGRES_IMAGE,
          env: { POSTGRES_PASSWORD: pgPassword },
          labels: {
            ...enable,
            'backrest.dump': 'postgres',
            'backrest.dump.database': 'no_such_db',
          },
        },
        runLabel,
        ['psql', '-U', 'postgres', '-c', 'select 1'],
      ),
    ]);
    await psql(n.pg, 'create table t (id serial primary key, v text not null)');
    await psql(n.pg, "insert into t (v) select 'seed-' || g from generate_series(1, 5000) g");
    await mariadb(
      n.my,
      'create table shop.orders (id int auto_increment primary key, v varchar(64)) engine=InnoDB',
    );
    await mariadb(n.my, "insert into shop.orders (v) values ('a'),('b'),('c')");
    for (let i = 0; i < 50; i++)
      await dockerExec(n.redis, ['redis-cli', 'set', `key:${i}`, `value-${i}`]);
    // Writers that keep going through the backup: the databases keep serving.
    await startWriter(
      n.pg,
      `while true; do psql -U postgres -d app -qc "insert into t (v) values ('live')" >/dev/null 2>&1; done`,
    );
    await startWriter(
      n.my,
      `while true; do MYSQL_PWD="$MARIADB_ROOT_PASSWORD" mariadb -uroot -e "insert into shop.orders (v) values ('live')" >/dev/null 2>&1; done`,
    );
    await new Promise((r) => setTimeout(r, 1000));
    rows.pgBefore = Number(await psql(n.pg, 'select count(*) from t'));
    rows.myBefore = Number(await mariadb(n.my, 'select count(*) from shop.orders'));

    const client = new DockerodeClient();
    const options: BackupOnceOptions = {
      engine: 'restic',
      rcbEnvFile: repo.containerEnvFile,
      resticImage: RESTIC_IMAGE,
      resticMounts: [{ type: 'bind', source: repo.repo, target: '/repo' }],
      resticHost: 'dump-test',
      includeProjectName: true,
      selector: [runLabel],
      quiesceLabel: `dockop.test.quiesce-${run}=true`,
      stopTimeoutSec: 5,
      stateDir: path.join(repo.dir, 'state'),
      progress: 'log',
      progressIntervalMs: 0,
      noForget: true,
      oneShotLabels: { [runKey]: runVal },
    };
    report = await runBackupOnce(options, {
      actions: new DockerContainerActions(client),
      client,
      logger,
      recorder,
    });
    rows.pgAfter = Number(await psql(n.pg, 'select count(*) from t'));
    rows.myAfter = Number(await mariadb(n.my, 'select count(*) from shop.orders'));
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

  function result(name: string) {
    const r = report.workloads.find((w) => w.container === name);
    expect(r, `no result for ${name}: ${JSON.stringify(report.workloads)}`).to.not.equal(undefined);
    return r!;
  }

  async function snapshotOf(file: string) {
    const snaps = await listSnapshots(repo);
    return snaps.find((s) => s.paths.length === 1 && s.paths[0] === `/${file}`) as
      | (Awaited<ReturnType<typeof listSnapshots>>[number] & { tags: string[]; hostname: string })
      | undefined;
  }

  it('streams the postgres dump into its own snapshot while inserts go on, and it restores the rows', async function () {
    const r = result(n.pg);
    expect(r.status, JSON.stringify(r)).to.equal('ok');
    expect(r.dump).to.include({ status: 'ok', file: `${n.pg}.sql` });
    expect(r.path).to.equal(`/${n.pg}.sql`); // no mounts: the dump is the whole backup
    // The database kept serving: inserts went on during the backup.
    expect(rows.pgAfter).to.be.greaterThan(rows.pgBefore);
    const snap = await snapshotOf(`${n.pg}.sql`);
    expect(snap, 'snapshot of the dump').to.not.equal(undefined);
    expect(snap!.hostname).to.equal('dump-test');
    expect(snap!.tags).to.include.members(['backrest-sidecar', `container:${n.pg}`]);
    expect(r.snapshotId).to.equal(snap!.short_id);

    // Restore into a fresh container with the preset's restore script, and count the rows.
    await startDb(
      {
        name: n.pgFresh,
        image: POSTGRES_IMAGE,
        env: { POSTGRES_PASSWORD: 'fresh', POSTGRES_DB: 'app' },
      },
      runLabel,
      pgReady,
    );
    const piped = await pipeDump(
      repo.env,
      snap!.id,
      `${n.pg}.sql`,
      restoreExec(n.pgFresh, { preset: 'postgres', args: [] }),
    );
    expect(piped, piped.stderr).to.deep.include({ restic: 0, docker: 0 });
    const restored = Number(await psql(n.pgFresh, 'select count(*) from t'));
    expect(restored).to.be.at.least(rows.pgBefore);
    expect(restored).to.be.at.most(rows.pgAfter);
    expect(Number(await psql(n.pgFresh, "select count(*) from t where v = 'seed-4321'"))).to.equal(
      1,
    );
  });

  it('mariadb with dump.only: only the dump is backed up, and it restores the rows', async function () {
    const r = result(n.my);
    expect(r.status, JSON.stringify(r)).to.equal('ok');
    expect(r.path).to.equal(`/${n.my}.sql`);
    expect(rows.myAfter).to.be.greaterThan(rows.myBefore);
    const snaps = await listSnapshots(repo);
    // No snapshot of its data directory (/var/lib/mysql): the dump replaces it.
    expect(snaps.filter((s) => s.paths.some((p) => p.includes(n.my)))).to.have.length(1);
    const snap = await snapshotOf(`${n.my}.sql`);
    await startDb(
      { name: n.myFresh, image: MARIADB_IMAGE, env: { MARIADB_ROOT_PASSWORD: 'fresh' } },
      runLabel,
      ['sh', '-c', 'MYSQL_PWD="$MARIADB_ROOT_PASSWORD" mariadb -uroot -e "select 1"'],
    );
    const piped = await pipeDump(
      repo.env,
      snap!.id,
      `${n.my}.sql`,
      restoreExec(n.myFresh, { preset: 'mariadb', args: [] }),
    );
    expect(piped, piped.stderr).to.deep.include({ restic: 0, docker: 0 });
    const restored = Number(await mariadb(n.myFresh, 'select count(*) from shop.orders'));
    expect(restored).to.be.at.least(rows.myBefore);
    expect(restored).to.be.at.most(rows.myAfter);
  });

  it('redis: the RDB dump next to the file backup, and it restores every key', async function () {
    const r = result(n.redis);
    expect(r.status, JSON.stringify(r)).to.equal('ok');
    expect(r.dump).to.include({ status: 'ok', file: `${n.redis}.rdb` });
    const snap = await snapshotOf(`${n.redis}.rdb`);
    expect(snap).to.not.equal(undefined);
    // The restore script replaces dump.rdb with the server stopped: a one-shot on the volume.
    const piped = await pipeDump(repo.env, snap!.id, `${n.redis}.rdb`, [
      'run',
      '--rm',
      '-i',
      '--label',
      runLabel,
      '-v',
      `${vol.redisFresh}:/data`,
      '--entrypoint',
      'sh',
      REDIS_IMAGE,
      ...restoreExec('x', { preset: 'redis', args: [] }).slice(4),
    ]);
    expect(piped, piped.stderr).to.deep.include({ restic: 0, docker: 0 });
    await startDb(
      { name: n.redisFresh, image: REDIS_IMAGE, volumes: [`${vol.redisFresh}:/data`] },
      runLabel,
      ['redis-cli', 'ping'],
    );
    expect((await dockerExec(n.redisFresh, ['redis-cli', 'DBSIZE'])).trim()).to.equal('50');
    expect((await dockerExec(n.redisFresh, ['redis-cli', 'get', 'key:42'])).trim()).to.equal(
      'value-42',
    );
  });

  it('a missing credential is a Warning naming container and label, and fails that backup', function () {
    const r = result(n.nocred);
    expect(r.status).to.equal('failed');
    expect(r.error).to.equal(
      `container ${n.nocred}: backrest.dump.password-env needs the variable DB_PASSWORD set in the container, and it is not`,
    );
    const events = recorder.list(`BackupWorkload/${n.nocred}`);
    expect(events.map((e) => [e.type, e.reason, e.message])).to.deep.include([
      'Warning',
      'DumpNotReady',
      r.error,
    ]);
  });

  it('a failing dump fails the backup and leaves no snapshot of it', async function () {
    const r = result(n.bad);
    expect(r.status).to.equal('failed');
    expect(r.error).to.match(
      new RegExp(
        `^container ${n.bad}: backrest.dump=postgres: the dump exited with 1: .*no_such_db`,
      ),
    );
    expect(await snapshotOf(`${n.bad}.sql`)).to.equal(undefined);
    expect(recorder.list(`BackupWorkload/${n.bad}`).map((e) => e.reason)).to.include('DumpFailed');
    expect(report.exitCode).to.not.equal(0);
  });

  it('never logs a database password', function () {
    const all =
      logger.lines.join('\n') +
      JSON.stringify(report) +
      JSON.stringify(recorder.list(`BackupWorkload/${n.pg}`));
    expect(all).to.not.include(pgPassword);
    expect(all).to.not.include(myPassword);
    expect(all).to.not.include(PASSWORD);
  });

  it('the dumps ran with docker exec in the database containers (nothing else started)', async function () {
    // Only restic's one-shots carry the run's one-shot label; no helper container ran a dump.
    const { stdout } = await exec('docker', [
      'ps',
      '-a',
      '--filter',
      `label=${runLabel}`,
      '--format',
      '{{.Image}}',
    ]);
    const images = new Set(stdout.trim().split('\n'));
    expect(
      [...images].every((i) =>
        [POSTGRES_IMAGE, MARIADB_IMAGE, REDIS_IMAGE, RESTIC_IMAGE].includes(i),
      ),
    ).to.equal(true);
  });
});
