import type Docker from 'dockerode';
import { expect } from 'chai';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import {
  RESTIC_IMAGE,
  WORKLOAD_IMAGE,
  removeLabeled,
  requireEngine,
  runId,
} from './support/engine.js';
import { runCli, tempConfig, type CliResult } from './support/plan-cli.js';
import { PASSWORD, exec, makeRepo, removeDir, type Repo } from './retention-fixture.js';
import { removeVolumes } from './backup-fixture.js';

// Secrets planted where a dump, a restore and a drill could echo them, on the real engine with
// real restic and the CLI bundle: an invalid `backrest.dump.password-env` whose value is a
// password, and database tools (stand-ins built on busybox) that print the password they were
// given on stderr when they fail. None of them may appear on stdout, stderr (logs and events), in
// `get workloads` / `describe workload`, or in the state directory's files.
describe('dump, restore and verify never echo a secret (integration)', function () {
  this.timeout(300_000);
  let docker: Docker;
  const run = runId();
  const runKey = 'dockop.test.run';
  const runVal = `dumpsec-${run}`;
  const runLabel = `${runKey}=${runVal}`;
  const image = `dockop-test/fakepg:${run.replace(/[^a-z0-9]/g, '')}`;
  const secrets = {
    label: `Pl4nted-Label-Secret-${run}`,
    failing: `fail-pw-${run}-Xq7`,
    ok: `ok-pw-${run}-Vz3`,
    convention: `pg-conv-${run}-Kw9`,
  };
  const n = {
    badLabel: `dumpsec-${run}-badlabel`,
    failing: `dumpsec-${run}-fail`,
    ok: `dumpsec-${run}-ok`,
  };
  let repo: Repo;
  let stateDir: string;
  const outputs: { what: string; text: string }[] = [];

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

  async function cli(what: string, args: string[], timeoutMs = 180_000): Promise<CliResult> {
    const r = await runCli(args, { timeoutMs });
    outputs.push({ what, text: `${r.stdout}\n${r.stderr}` });
    return r;
  }

  /** A pg_dump that prints the password on failure; a psql whose probe answers 1 and whose load fails loudly. */
  async function buildImage(): Promise<void> {
    const pgDump = [
      '#!/bin/sh',
      'if [ "${FAKE_FAIL:-}" = 1 ]; then',
      '  echo "pg_dump: error: connection failed: password $PGPASSWORD rejected (POSTGRES_PASSWORD=$POSTGRES_PASSWORD)" >&2',
      '  exit 1',
      'fi',
      'echo "-- stand-in dump"',
      'echo "create table t (v text);"',
    ].join('\n');
    const psql = [
      '#!/bin/sh',
      'for a in "$@"; do case $a in -c) echo 1; exit 0 ;; esac; done',
      'cat >/dev/null',
      'echo "psql: FATAL: password \\"$PGPASSWORD\\" rejected; also $POSTGRES_PASSWORD" >&2',
      'exit 2',
    ].join('\n');
    const builder = `dumpsec-build-${run}`;
    await exec('docker', [
      'run',
      '--name',
      builder,
      '--label',
      runLabel,
      WORKLOAD_IMAGE,
      'sh',
      '-c',
      `mkdir -p /usr/local/bin && cat > /usr/local/bin/pg_dump <<'EOF'\n${pgDump}\nEOF\ncat > /usr/local/bin/psql <<'EOF'\n${psql}\nEOF\nchmod +x /usr/local/bin/pg_dump /usr/local/bin/psql`,
    ]);
    await exec('docker', [
      'commit',
      '--change',
      'ENV PATH=/usr/local/bin:/usr/bin:/bin',
      '--change',
      'CMD ["sleep","600"]',
      builder,
      image,
    ]);
    await exec('docker', ['rm', '-f', builder]);
  }

  async function start(name: string, env: Record<string, string>, labels: Record<string, string>) {
    const args = ['run', '-d', '--name', name, '--network', 'none', '--label', runLabel];
    for (const [k, v] of Object.entries(labels)) args.push('--label', `${k}=${v}`);
    for (const [k, v] of Object.entries(env)) args.push('-e', `${k}=${v}`);
    await exec('docker', [...args, image]);
  }

  before(async function () {
    docker = await requireEngine(this);
    repo = await makeRepo('dump-secrets');
    stateDir = path.join(repo.dir, 'state');
    await buildImage();
    const dump = { 'backrest.enable': 'true', 'backrest.dump': 'postgres' };
    await start(n.badLabel, {}, { ...dump, 'backrest.dump.password-env': secrets.label });
    await start(
      n.failing,
      { APP_DB_PW: secrets.failing, FAKE_FAIL: '1' },
      { ...dump, 'backrest.dump.password-env': 'APP_DB_PW' },
    );
    await start(
      n.ok,
      { APP_DB_PW: secrets.ok, POSTGRES_PASSWORD: secrets.convention },
      { ...dump, 'backrest.dump.password-env': 'APP_DB_PW' },
    );
  });

  after(async function () {
    if (docker) {
      await removeLabeled(docker, runLabel);
      await removeVolumes(docker, runLabel);
      await exec('docker', ['rmi', '-f', image]).catch(() => undefined);
    }
    await removeDir(repo?.dir);
  });

  function expectClean(text: string, what: string): void {
    for (const [k, v] of Object.entries(secrets)) {
      expect(text.includes(v), `${what} shows the ${k} secret:\n${text}`).to.equal(false);
    }
  }

  it('backup-once: the failures are reported, naming container and label, and no secret', async () => {
    const r = await cli('backup-once', [
      'backup-once',
      '--engine',
      'restic',
      '--no-forget',
      '--restic-host',
      'dumpsec',
      ...flags(),
    ]);
    expect(r.code, r.stderr).to.equal(3);
    expectClean(r.stdout + r.stderr, 'backup-once');
    const text = r.stderr;
    expect(text).to.contain(
      `label backrest.dump.password-env=(${secrets.label.length} characters, not shown)`,
    );
    expect(text).to.contain(
      `container ${n.failing}: backrest.dump=postgres: the dump exited with 1`,
    );
    expect(text).to.contain('pg_dump: error: connection failed: password');
    expect(text).to.not.contain(PASSWORD);
  });

  it('restore --in-place: the failing load is reported without the password it echoed', async () => {
    const r = await cli('restore', ['restore', n.ok, '--in-place', ...flags()]);
    expect(r.code, r.stderr).to.equal(1);
    expect(r.stderr).to.contain('loading the dump exited with 2').and.contain('psql: FATAL');
    expectClean(r.stdout + r.stderr, 'restore');
  });

  it('verify: the drill loads into a throwaway with the workload env; its failure shows no secret', async () => {
    const r = await cli('verify', ['verify', n.ok, '--read-data-parts', '0', ...flags()]);
    expect(r.code, r.stderr).to.equal(3);
    expect(r.stderr).to.contain('loading the dump exited with 2');
    expectClean(r.stdout + r.stderr, 'verify');
  });

  it('the daemon side: the label refusal event (reconcile --dry-run) does not show the value', async () => {
    const config = await tempConfig();
    try {
      const r = await cli('reconcile', [
        'reconcile',
        '--dry-run',
        '--config',
        config.path,
        '--selector',
        runLabel,
        '--log-format',
        'json',
      ]);
      const refusal = r.logs.find(
        (l) => l.action === 'event' && l.key === `BackupWorkload/${n.badLabel}`,
      );
      expect(refusal, r.stderr).to.include({ type: 'Warning', reason: 'InvalidSpec' });
      expect(String(refusal?.msg)).to.contain('label backrest.dump.password-env=(');
      expectClean(r.stdout + r.stderr, 'reconcile --dry-run');
    } finally {
      await removeDir(config.dir);
    }
  });

  it('get workloads, describe workload and every state file are clean', async () => {
    const get = await cli('get workloads', [
      'get',
      'workloads',
      '-o',
      'json',
      '--no-repository',
      '--state-dir',
      stateDir,
      '--selector',
      runLabel,
    ]);
    expect(get.code, get.stderr).to.equal(0);
    expect(get.stdout).to.contain(n.failing);
    for (const name of Object.values(n)) {
      await cli(`describe ${name}`, [
        'describe',
        'workload',
        name,
        '--no-repository',
        '--state-dir',
        stateDir,
      ]);
    }
    for (const o of outputs) expectClean(o.text, o.what);
    const files = await readdir(stateDir, { recursive: true });
    let checked = 0;
    for (const f of files) {
      const text = await readFile(path.join(stateDir, f), 'utf8').catch(() => undefined);
      if (text === undefined) continue;
      checked++;
      expectClean(text, `state file ${f}`);
    }
    expect(checked, 'state files read').to.be.greaterThan(0);
  });
});
