import type Docker from 'dockerode';
import { expect } from 'chai';
import { createServer } from 'node:net';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { WORKLOAD_IMAGE, removeLabeled, requireEngine, runId } from './support/engine.js';
import { eventually, runCli, spawnDaemon, tempConfig } from './support/plan-cli.js';
import { exec, makeRepo, removeDir, resticRepoFlags, type Repo } from './retention-fixture.js';
import { removeVolumes } from './backup-fixture.js';
import { POSTGRES_IMAGE, psql, startDb } from './dump-fixture.js';

interface Status {
  conditions: { type: string; status: string; reason: string; message: string }[];
  verification?: { passed: boolean; snapshotId?: string; checks: string[] };
  events: { type: string; reason: string; message: string }[];
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

// The daemon and dump presets on the real engine (no backup schedule: nothing is backed up while
// it runs): a dump workload whose container lacks the tool (busybox labelled postgres) or the
// credential variable its label names is a Warning naming container and label as soon as the
// daemon observes it, and its DumpReady condition is False; a working postgres is DumpReady.
// With a one-minute --verify-schedule, the daemon's drill of the postgres dump (backed up once
// beforehand with backup-once) sets its Verified condition and the last-verified metric.
describe('daemon: dump pre-check and scheduled restore drills (integration)', function () {
  this.timeout(420_000);
  let docker: Docker;
  const run = runId();
  const runKey = 'dockop.test.run';
  const runVal = `dumpd-${run}`;
  const runLabel = `${runKey}=${runVal}`;
  const pgOnly = `dockop.test.dumpd-pg=${run}`;
  const n = {
    pg: `dumpd-${run}-pg`,
    nocred: `dumpd-${run}-nocred`,
    notool: `dumpd-${run}-notool`,
  };
  let repo: Repo;
  let stateDir: string;
  let config: { dir: string; path: string };

  const repoFlags = (selector: string): string[] => [
    ...resticRepoFlags(repo, stateDir, 'dumpd-test'),
    '--selector',
    selector,
    '--log-format',
    'json',
  ];

  const readStatus = async (name: string): Promise<Status | undefined> => {
    try {
      return JSON.parse(
        await readFile(path.join(stateDir, 'workloads', `${name}.json`), 'utf8'),
      ) as Status;
    } catch {
      return undefined;
    }
  };
  const condition = (s: Status | undefined, type: string) =>
    s?.conditions.find((c) => c.type === type);

  before(async function () {
    docker = await requireEngine(this);
    repo = await makeRepo('dump-daemon');
    stateDir = path.join(repo.dir, 'state');
    config = await tempConfig();
    const dump = { 'backrest.enable': 'true', 'backrest.dump': 'postgres' };
    const pgReady = ['psql', '-U', 'postgres', '-c', 'select 1'];
    await Promise.all([
      startDb(
        {
          name: n.pg,
          image: POSTGRES_IMAGE,
          env: { POSTGRES_PASSWORD: `pw-${run}`, POSTGRES_DB: 'app' },
          labels: { ...dump, 'dockop.test.dumpd-pg': run },
        },
        runLabel,
        ['psql', '-U', 'postgres', '-d', 'app', '-c', 'select 1'],
      ),
      startDb(
        {
          name: n.nocred,
          image: POSTGRES_IMAGE,
          env: { POSTGRES_PASSWORD: `pw-${run}` },
          labels: { ...dump, 'backrest.dump.password-env': 'DB_PASSWORD' },
        },
        runLabel,
        pgReady,
      ),
    ]);
    await exec('docker', [
      'run',
      '-d',
      '--name',
      n.notool,
      '--network',
      'none',
      '--label',
      runLabel,
      '--label',
      'backrest.enable=true',
      '--label',
      'backrest.dump=postgres',
      WORKLOAD_IMAGE,
      'sleep',
      '600',
    ]);
    await psql(n.pg, 'create table items (id int primary key, v text)');
    await psql(n.pg, "insert into items values (1, 'one'), (2, 'two')");
    // The postgres dump snapshot the daemon's drills will restore.
    const backup = await runCli(
      ['backup-once', '--engine', 'restic', '--no-forget', ...repoFlags(pgOnly)],
      { timeoutMs: 180_000 },
    );
    expect(backup.code, backup.stderr).to.equal(0);
  });

  after(async function () {
    if (docker) {
      await removeLabeled(docker, runLabel);
      await removeVolumes(docker, runLabel);
    }
    await removeDir(repo?.dir);
    await removeDir(config?.dir);
  });

  it('warns about a missing tool or credential on observation, and drills on --verify-schedule', async () => {
    const port = await freePort();
    const { daemon, logs, exited } = spawnDaemon([
      '--config',
      config.path,
      '--interval',
      '5s',
      '--verify-schedule',
      '* * * * *',
      '--read-data-parts',
      '2',
      '--http-addr',
      `127.0.0.1:${port}`,
      ...repoFlags(runLabel),
    ]);
    const warnings = (name: string) =>
      logs.filter(
        (l) =>
          l.action === 'event' &&
          l.key === `BackupWorkload/${name}` &&
          l.reason === 'DumpNotReady' &&
          l.type === 'Warning',
      );
    let metrics = '';
    try {
      // Observed: the two broken workloads are warned about, long before any drill or backup.
      await eventually(
        () => warnings(n.nocred).length > 0 && warnings(n.notool).length > 0,
        60_000,
        'DumpNotReady warnings',
      );
      expect(logs.some((l) => l.action === 'verify.starting')).to.equal(false);
      expect(String(warnings(n.notool)[0]!.msg)).to.equal(
        `container ${n.notool}: backrest.dump=postgres needs pg_dump in the container, and it has none`,
      );
      expect(String(warnings(n.nocred)[0]!.msg)).to.equal(
        `container ${n.nocred}: backrest.dump.password-env needs the variable DB_PASSWORD set in the container, and it is not`,
      );
      await eventually(
        async () => condition(await readStatus(n.pg), 'DumpReady')?.status === 'True',
        60_000,
        `${n.pg} DumpReady`,
      );
      expect(condition(await readStatus(n.notool), 'DumpReady')).to.include({
        status: 'False',
        reason: 'DumpNotReady',
      });
      expect(condition(await readStatus(n.nocred), 'DumpReady')?.message).to.contain('DB_PASSWORD');
      // The warning is said once, not on every 5 s resync.
      await new Promise((r) => setTimeout(r, 12_000));
      expect(warnings(n.notool)).to.have.length(1);

      // The first scheduled drill (within the next minute, plus the drill itself).
      await eventually(
        async () => (await readStatus(n.pg))?.verification !== undefined,
        240_000,
        `a scheduled drill of ${n.pg}`,
      );
      metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    } finally {
      daemon.kill('SIGTERM');
      await exited;
    }
    const s = await readStatus(n.pg);
    expect(s?.verification?.passed, JSON.stringify(s?.verification)).to.equal(true);
    const verified = condition(s, 'Verified');
    expect(verified?.status, JSON.stringify(verified)).to.equal('True');
    expect(verified?.message).to.contain('restore drill OK').and.contain('probe: 1 user tables');
    const line = metrics
      .split('\n')
      .find((l) =>
        l.startsWith(`backrest_sidecar_last_verified_timestamp_seconds{workload="${n.pg}"}`),
      );
    expect(line, metrics.slice(0, 2000)).to.be.a('string');
    const ts = Number(line!.split(' ').pop());
    expect(ts).to.be.within(Date.now() / 1000 - 600, Date.now() / 1000 + 5);
    // The broken ones were drilled too, and failed: nothing of theirs is in the repository.
    expect(condition(await readStatus(n.notool), 'Verified')?.status).to.equal('False');
    // Nothing backed them up while the daemon ran (no --backup-schedule).
    expect(logs.some((l) => l.action === 'backup.done')).to.equal(false);
  });
});
