import type Docker from 'dockerode';
import { expect } from 'chai';
import path from 'node:path';
import { DockerContainerActions, DockerodeClient } from '@dockop/docker';
import { runBackupOnce, type BackupOnceOptions } from '@backrest-sidecar/controller-backup';
import { RESTIC_IMAGE, removeLabeled, requireEngine, runId } from './support/engine.js';
import { runCli } from './support/plan-cli.js';
import { makeRepo, removeDir, type Repo } from './retention-fixture.js';
import { removeVolumes } from './backup-fixture.js';
import {
  MARIADB_IMAGE,
  POSTGRES_IMAGE,
  REDIS_IMAGE,
  dockerExec,
  mariadb,
  psql,
  startDb,
} from './dump-fixture.js';

// Dump presets end to end (dockop/postgres, mariadb and redis :local, real restic, the CLI bundle): the
// drill loads the newest dump into a throwaway server with no network and counts its tables; the
// container is then lost with its volume and recreated empty, and `restore --in-place` loads the
// dump into the fresh server through docker exec: the rows are back.
describe('restore and verify of database dumps (integration)', function () {
  this.timeout(300_000);
  let docker: Docker;
  const run = runId();
  const runKey = 'dockop.test.run';
  const runVal = `restore-dump-${run}`;
  const runLabel = `${runKey}=${runVal}`;
  const name = `rdump-${run}-pg`;
  const volume = `rdump-${run.replace(/[^a-z0-9]/g, '')}-pgdata`;
  const db = {
    name,
    image: POSTGRES_IMAGE,
    env: { POSTGRES_PASSWORD: 'pg-secret-restore-test', POSTGRES_DB: 'app' },
    labels: { 'backrest.enable': 'true', 'backrest.dump': 'postgres' },
    volumes: [`${volume}:/var/lib/postgresql/data`],
  };
  const ready = ['psql', '-U', 'postgres', '-d', 'app', '-tAc', 'select 1'];
  const redisName = `rdump-${run}-redis`;
  const redisVolume = `rdump-${run.replace(/[^a-z0-9]/g, '')}-redisdata`;
  const redis = {
    name: redisName,
    image: REDIS_IMAGE,
    labels: { 'backrest.enable': 'true', 'backrest.dump': 'redis' },
    volumes: [`${redisVolume}:/data`],
  };
  const myName = `rdump-${run}-my`;
  const myVolume = `rdump-${run.replace(/[^a-z0-9]/g, '')}-mydata`;
  const my = {
    name: myName,
    image: MARIADB_IMAGE,
    env: { MARIADB_ROOT_PASSWORD: 'my-secret-restore-test', MARIADB_DATABASE: 'shop' },
    labels: { 'backrest.enable': 'true', 'backrest.dump': 'mariadb', 'backrest.dump.only': 'true' },
    volumes: [`${myVolume}:/var/lib/mysql`],
  };
  const myReady = ['sh', '-c', 'MYSQL_PWD="$MARIADB_ROOT_PASSWORD" mariadb -uroot -e "select 1"'];
  let repo: Repo;
  let stateDir: string;

  const flags = (): string[] => [
    '--rcb-env-file',
    repo.containerEnvFile,
    '--restic-image',
    RESTIC_IMAGE,
    '--restic-volume',
    `${repo.repo}:/repo`,
    '--state-dir',
    stateDir,
    '--selector',
    runLabel,
    '--log-format',
    'json',
  ];

  before(async function () {
    docker = await requireEngine(this);
    repo = await makeRepo('restore-dump');
    stateDir = path.join(repo.dir, 'state');
    await docker.createVolume({ Name: volume, Labels: { [runKey]: runVal } });
    await startDb(db, runLabel, ready);
    await psql(name, 'create table orders (id int primary key, item text)');
    await psql(name, "insert into orders values (1, 'apple'), (2, 'pear'), (3, 'plum')");
    await docker.createVolume({ Name: redisVolume, Labels: { [runKey]: runVal } });
    await startDb(redis, runLabel, ['redis-cli', 'ping']);
    for (let i = 0; i < 20; i++) {
      await dockerExec(redisName, ['redis-cli', 'set', `key:${i}`, `value-${i}`]);
    }
    await docker.createVolume({ Name: myVolume, Labels: { [runKey]: runVal } });
    await startDb(my, runLabel, myReady);
    await mariadb(myName, 'create table shop.orders (id int primary key, item varchar(32))');
    await mariadb(myName, "insert into shop.orders values (1, 'fig'), (2, 'kiwi'), (3, 'lime')");
    const client = new DockerodeClient();
    const options: BackupOnceOptions = {
      engine: 'restic',
      rcbEnvFile: repo.containerEnvFile,
      resticImage: RESTIC_IMAGE,
      resticMounts: [{ type: 'bind', source: repo.repo, target: '/repo' }],
      resticHost: 'restore-dump-test',
      selector: [runLabel],
      quiesceLabel: `dockop.test.none-${run}=true`,
      stateDir,
      progress: 'none',
      noForget: true,
      oneShotLabels: { [runKey]: runVal },
    };
    const report = await runBackupOnce(options, {
      actions: new DockerContainerActions(client),
      client,
    });
    expect(report.exitCode, JSON.stringify(report)).to.equal(0);
  });

  after(async function () {
    if (docker) {
      await removeLabeled(docker, runLabel);
      await removeVolumes(docker, runLabel);
      await docker
        .getVolume(volume)
        .remove()
        .catch(() => undefined);
      for (const v of [redisVolume, myVolume]) {
        await docker
          .getVolume(v)
          .remove()
          .catch(() => undefined);
      }
    }
    await removeDir(repo?.dir);
  });

  it('snapshots lists the dump snapshot (/<name>.sql) next to the files one', async () => {
    const res = await runCli(['snapshots', name, ...flags(), '-o', 'json', '--no-size']);
    expect(res.code, res.stderr).to.equal(0);
    const paths = (JSON.parse(res.stdout) as { paths: string[] }[]).map((s) => s.paths.join());
    expect(paths).to.include(`/${name}.sql`);
  });

  it('the drill loads the dump into a throwaway server without network and counts its tables', async () => {
    const res = await runCli(['verify', name, ...flags(), '--read-data-parts', '0'], {
      timeoutMs: 240_000,
    });
    expect(res.code, res.stderr).to.equal(0);
    const passed = res.logs.find((l) => l.action === 'verify.passed') as { checks: string[] };
    const dumpCheck = passed.checks.find((c) => c.startsWith('dump: ok:'));
    expect(dumpCheck, passed.checks.join('\n')).to.match(
      /backrest\.dump=postgres: dump [0-9a-f]{8} loaded into a throwaway server \(no network\).*probe: 1 user tables$/,
    );
    // The throwaway server, the one-shots and the scratch volumes of the drill are gone.
    const runIdOf = res.logs.find((l) => l.action === 'verify.starting')?.runId;
    expect(runIdOf).to.be.a('string');
    const run = `io.dockop.backrest-sidecar.run=${String(runIdOf)}`;
    expect(await docker.listContainers({ all: true, filters: { label: [run] } })).to.deep.equal([]);
    const { Volumes } = await docker.listVolumes({ filters: { label: [run] } });
    expect(Volumes ?? []).to.deep.equal([]);
    expect(res.stderr).to.not.include('pg-secret-restore-test');
  });

  it('the drills of mariadb and redis load their dumps into throwaway servers and probe them', async () => {
    const res = await runCli(['verify', myName, redisName, ...flags(), '--read-data-parts', '0'], {
      timeoutMs: 280_000,
    });
    expect(res.code, res.stderr).to.equal(0);
    const passed = res.logs.filter((l) => l.action === 'verify.passed') as unknown as {
      workload: string;
      checks: string[];
    }[];
    const dumpCheck = (w: string) =>
      passed.find((p) => p.workload === w)?.checks.find((c) => c.startsWith('dump: ok:'));
    expect(dumpCheck(myName), res.stderr).to.match(
      /backrest\.dump=mariadb: dump [0-9a-f]{8} loaded into a throwaway server \(no network\).*probe: 1 user tables$/,
    );
    // redis: the RDB is put in place before the throwaway server starts on it; DBSIZE counts.
    expect(dumpCheck(redisName), res.stderr).to.match(
      /backrest\.dump=redis: dump [0-9a-f]{8} loaded before a throwaway server started on it \(no network\); probe: 20 keys$/,
    );
    for (const id of new Set(
      res.logs.filter((l) => l.action === 'verify.starting').map((l) => String(l.runId)),
    )) {
      const label = `io.dockop.backrest-sidecar.run=${id}`;
      expect(await docker.listContainers({ all: true, filters: { label: [label] } })).to.deep.equal(
        [],
      );
    }
    expect(res.stderr).to.not.include('my-secret-restore-test');
  });

  it('restore --in-place of a mariadb dump into a freshly recreated, empty server: the rows are back', async () => {
    await docker.getContainer(myName).remove({ force: true });
    await docker.getVolume(myVolume).remove();
    await docker.createVolume({ Name: myVolume, Labels: { [runKey]: runVal } });
    await startDb(my, runLabel, myReady);
    expect(
      await mariadb(
        myName,
        "select count(*) from information_schema.tables where table_schema = 'shop'",
      ),
    ).to.equal('0');
    const res = await runCli(['restore', myName, '--in-place', ...flags()], {
      timeoutMs: 180_000,
    });
    expect(res.code, res.stderr).to.equal(0);
    expect(
      await mariadb(myName, 'select group_concat(item order by id) from shop.orders'),
    ).to.equal('fig,kiwi,lime');
    expect(res.stderr).to.not.include('my-secret-restore-test');
  });

  it('restore --in-place loads the dump into a freshly recreated, empty server: the rows are back', async () => {
    // The data is lost: container and volume gone; the service comes back empty.
    await docker.getContainer(name).remove({ force: true });
    await docker.getVolume(volume).remove();
    await docker.createVolume({ Name: volume, Labels: { [runKey]: runVal } });
    await startDb(db, runLabel, ready);
    expect(await psql(name, "select count(*) from pg_tables where tablename = 'orders'")).to.equal(
      '0',
    );
    const startedBefore = (await docker.getContainer(name).inspect()).State.StartedAt;

    const dry = await runCli(['restore', name, '--in-place', '--dry-run', ...flags()]);
    expect(dry.code, dry.stderr).to.equal(2);
    expect(dry.stdout).to.include(
      `/${name}.sql -> backrest.dump=postgres restore script in the running server (docker exec)`,
    );

    const res = await runCli(['restore', name, '--in-place', ...flags()], { timeoutMs: 180_000 });
    expect(res.code, res.stderr).to.equal(0);
    expect(await psql(name, "select string_agg(item, ',' order by id) from orders")).to.equal(
      'apple,pear,plum',
    );
    // Loaded into the running server: not restarted.
    expect((await docker.getContainer(name).inspect()).State.StartedAt).to.equal(startedBefore);
    expect(res.stderr).to.not.include('pg-secret-restore-test');
  });

  it('restore --in-place of a redis dump: stopped, dump.rdb replaced, started again with every key', async () => {
    await dockerExec(redisName, ['redis-cli', 'flushall']);
    expect((await dockerExec(redisName, ['redis-cli', 'DBSIZE'])).trim()).to.equal('0');
    const startedBefore = (await docker.getContainer(redisName).inspect()).State.StartedAt;
    const res = await runCli(
      ['restore', redisName, '--in-place', '--stop-timeout', '5s', ...flags()],
      {
        timeoutMs: 180_000,
      },
    );
    expect(res.code, res.stderr).to.equal(0);
    const starting = res.logs.find((l) => l.action === 'restore.starting') as {
      dump?: { into: string; file: string };
    };
    expect(starting.dump).to.deep.include({ into: 'stopped', file: `/${redisName}.rdb` });
    const info = await docker.getContainer(redisName).inspect();
    expect(info.State.Running).to.equal(true);
    expect(info.State.StartedAt).to.not.equal(startedBefore);
    let size = '';
    for (let i = 0; i < 40 && size !== '20'; i++) {
      size = (await dockerExec(redisName, ['redis-cli', 'DBSIZE']).catch(() => '')).trim();
      if (size !== '20') await new Promise((r) => setTimeout(r, 250));
    }
    expect(size).to.equal('20');
    expect((await dockerExec(redisName, ['redis-cli', 'get', 'key:7'])).trim()).to.equal('value-7');
  });
});
