import type Docker from 'dockerode';
import { expect } from 'chai';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { toBackrestPlan } from '@backrest-sidecar/config-sink';
import { buildPlans, defaultPlanDefaults } from '@backrest-sidecar/controller-plan';
import { RESTIC_IMAGE, removeLabeled, requireEngine, runId } from './support/engine.js';
import { runCli } from './support/plan-cli.js';
import { exec, makeRepo, removeDir, type Repo } from './retention-fixture.js';
import { removeVolumes } from './backup-fixture.js';
import { POSTGRES_IMAGE, psql, startDb } from './dump-fixture.js';

// The dump hook a Backrest plan gets for `backrest.dump`, run for real: the command text taken
// from the native plan we write, run by `sh` (as Backrest runs a hook) with the docker CLI
// against the real engine and PostgreSQL. Backrest itself is not run here (no image of it can be
// built offline); what it adds is `ON_ERROR_FATAL`, checked in controllers/plan's plan-dump spec.
describe('backrest.dump hook in a Backrest plan (integration)', function () {
  this.timeout(300_000);
  let docker: Docker;
  const run = runId();
  const runLabel = `dockop.test.run=dumphook-${run}`;
  const name = `dumphook-${run}-pg`;
  let dir: string;
  let repo: Repo | undefined;

  before(async function () {
    docker = await requireEngine(this);
    dir = await mkdtemp(path.join(tmpdir(), 'dump-hook-'));
    await startDb(
      {
        name,
        image: POSTGRES_IMAGE,
        env: { POSTGRES_PASSWORD: `pw-${run}`, POSTGRES_DB: 'app' },
        labels: { 'backrest.enable': 'true', 'backrest.dump': 'postgres' },
      },
      runLabel,
      ['psql', '-U', 'postgres', '-d', 'app', '-c', 'select 1'],
    );
    await psql(name, "create table t (v text); insert into t values ('row-1'), ('row-2')");
  });

  after(async function () {
    if (docker) {
      await removeLabeled(docker, runLabel);
      await removeVolumes(docker, runLabel);
    }
    await removeDir(dir);
    await removeDir(repo?.dir);
  });

  function hookFor(dump: Record<string, unknown>): { command: string; planDir: string } {
    const built = buildPlans(
      [
        {
          name,
          spec: { enable: true, dump } as never,
          status: { name, mounts: [] },
        },
      ],
      defaultPlanDefaults({ dumpDir: dir }),
      { repoIds: ['default'] },
    );
    expect(built.skipped).to.deep.equal([]);
    const plan = built.plans[0]!.plan;
    const native = toBackrestPlan(plan) as {
      paths: string[];
      hooks: { onError?: string; actionCommand: { command: string } }[];
    };
    const hook = native.hooks.find((h) => h.onError === 'ON_ERROR_FATAL')!;
    expect(native.paths).to.have.length(1);
    return { command: hook.actionCommand.command, planDir: native.paths[0]! };
  }

  it('writes <dump-dir>/<plan id>/<container>.sql atomically, the rows in it', async function () {
    const { command, planDir } = hookFor({ preset: 'postgres' });
    expect(planDir).to.equal(path.join(dir, `backrest_sidecar_${name}`));
    const r = spawnSync('sh', { input: command, encoding: 'utf8' });
    expect(r.status, r.stderr).to.equal(0);
    expect(await readdir(planDir)).to.deep.equal([`${name}.sql`]);
    const sql = await readFile(path.join(planDir, `${name}.sql`), 'utf8');
    expect(sql).to.contain('COPY public.t (v) FROM stdin;\nrow-1\nrow-2\n');
    expect(sql).to.not.contain(`pw-${run}`);
  });

  it('a failing dump exits non-zero and keeps the previous dump, with no partial file', async function () {
    const { command, planDir } = hookFor({ preset: 'postgres', database: 'no_such_db' });
    await writeFile(path.join(planDir, `${name}.sql`), 'previous good dump');
    const r = spawnSync('sh', { input: command, encoding: 'utf8' });
    expect(r.status).to.not.equal(0);
    expect(r.stderr).to.contain('no_such_db');
    expect(await readdir(planDir)).to.deep.equal([`${name}.sql`]);
    expect(await readFile(path.join(planDir, `${name}.sql`), 'utf8')).to.equal(
      'previous good dump',
    );
  });

  it('a snapshot Backrest made of the hook dump drills and restores in place (plan:<id> tag)', async function () {
    const { command, planDir } = hookFor({ preset: 'postgres' });
    const hook = spawnSync('sh', { input: command, encoding: 'utf8' });
    expect(hook.status, hook.stderr).to.equal(0);
    // What Backrest runs for the plan: its paths, its plan and instance tags, its host.
    repo = await makeRepo('dump-hook');
    const planId = path.basename(planDir);
    await exec(
      'restic',
      ['backup', planDir, '--tag', `plan:${planId}`, '--tag', 'created-by:test-backrest'],
      { env: { ...repo.env, RESTIC_HOST: 'test-backrest' } },
    );
    const flags = [
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
    const drill = await runCli(['verify', name, ...flags, '--read-data-parts', '0'], {
      timeoutMs: 240_000,
    });
    expect(drill.code, drill.stderr).to.equal(0);
    const passed = drill.logs.find((l) => l.action === 'verify.passed') as { checks: string[] };
    expect(passed.checks.find((c) => c.startsWith('dump: ok:'))).to.match(
      /backrest\.dump=postgres: dump [0-9a-f]{8} loaded into a throwaway server .*probe: 1 user tables$/,
    );

    // The data is lost; the dump inside Backrest's snapshot loads into the running server.
    await psql(name, 'drop table t');
    const dry = await runCli(['restore', planId, '--in-place', '--dry-run', ...flags]);
    expect(dry.code, dry.stderr).to.equal(2);
    expect(dry.stdout).to.contain(
      `${planDir}/${name}.sql -> backrest.dump=postgres restore script in the running server`,
    );
    const res = await runCli(['restore', planId, '--in-place', ...flags], { timeoutMs: 180_000 });
    expect(res.code, res.stderr).to.equal(0);
    expect(await psql(name, "select string_agg(v, ',' order by v) from t")).to.equal('row-1,row-2');
    expect(res.stderr).to.not.contain(`pw-${run}`);
  });
});
