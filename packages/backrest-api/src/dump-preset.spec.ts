// The preset scripts run for real under /bin/sh with stand-in tools on PATH (shell scripts that
// print their argv and the password variables they were given): what each preset hands its tool.
// This is the contract test for mongo and sqlite (no image of theirs in this repo; sqlite's
// scripts also run with the host's real sqlite3 when it has one); the postgres, mariadb and redis
// presets also run against real servers in test/src/dump-*.spec.ts and restore-dump.spec.ts.
import { expect } from 'chai';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  checkArgv,
  describeUnmet,
  dumpFileName,
  dumpPreset,
  dumpRequirements,
  presetArgv,
  unmetRequirements,
  DUMP_PRESET_NAMES,
  type DumpSettings,
} from './dump-preset.js';
import { resolveDump } from './dump-settings.js';
import { validateDumpArg, validateDumpName } from './formats.js';

const STAND_IN = `#!/bin/sh
printf 'tool=%s\\n' "$(basename "$0")"
for a in "$@"; do printf 'arg=%s\\n' "$a"; done
printf 'PGPASSWORD=%s\\nMYSQL_PWD=%s\\nREDISCLI_AUTH=%s\\n' "\${PGPASSWORD-}" "\${MYSQL_PWD-}" "\${REDISCLI_AUTH-}"
`;

describe('dump presets', () => {
  let dir: string;
  let bin: string;

  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'dump-preset-'));
    bin = path.join(dir, 'bin');
    execFileSync('mkdir', ['-p', bin]);
    for (const tool of [
      'pg_dump',
      'psql',
      'mariadb-dump',
      'mariadb',
      'mysqldump',
      'mysql',
      'mongodump',
      'mongorestore',
      'mongosh',
      'redis-cli',
      'sqlite3',
    ]) {
      writeFileSync(path.join(bin, tool), STAND_IN);
      chmodSync(path.join(bin, tool), 0o755);
    }
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** Runs argv (`sh -c SCRIPT ...`) with only `env` (+ PATH with the stand-ins, or `pathDirs`). */
  function run(
    argv: string[],
    env: Record<string, string>,
    pathDirs = [bin, '/usr/bin', '/bin'],
  ): { status: number; lines: string[]; stderr: string } {
    const r = spawnSync(argv[0]!, argv.slice(1), {
      env: { PATH: pathDirs.join(':'), ...env },
      encoding: 'utf8',
    });
    return {
      status: r.status ?? -1,
      lines: r.stdout.split('\n').filter(Boolean),
      stderr: r.stderr,
    };
  }

  const settings = (s: Partial<DumpSettings> & Pick<DumpSettings, 'preset'>): DumpSettings => ({
    args: [],
    only: false,
    ...s,
  });

  it('postgres: the image conventions by default, the password only through PGPASSWORD', () => {
    const r = run(presetArgv('dump', settings({ preset: 'postgres' })), {
      POSTGRES_USER: 'app',
      POSTGRES_PASSWORD: 's3cret',
      POSTGRES_DB: 'appdb',
    });
    expect(r.status).to.equal(0);
    expect(r.lines).to.deep.equal([
      'tool=pg_dump',
      'arg=--username=app',
      'arg=--no-password',
      'arg=--clean',
      'arg=--if-exists',
      'arg=--',
      'arg=appdb',
      'PGPASSWORD=s3cret',
      'MYSQL_PWD=',
      'REDISCLI_AUTH=',
    ]);
  });

  it('label values are argv items, never shell text; .password-env names the variable', () => {
    const evil = '$(touch /tmp/owned-by-dump);`id`';
    const r = run(
      presetArgv(
        'dump',
        settings({
          preset: 'postgres',
          database: evil,
          user: "o'brien",
          passwordEnv: 'DB_PASS',
          args: ['--exclude-table=a b', '$(id)'],
        }),
      ),
      { DB_PASS: 'pw from env', POSTGRES_PASSWORD: 'not this one' },
    );
    expect(r.status).to.equal(0);
    expect(r.lines).to.include.members([
      "arg=--username=o'brien",
      'arg=--exclude-table=a b',
      'arg=$(id)',
      `arg=${evil}`,
      'PGPASSWORD=pw from env',
    ]);
    expect(existsSync('/tmp/owned-by-dump')).to.equal(false);
  });

  it('refuses a password-env that is not a variable name before eval sees it', () => {
    const r = run(presetArgv('dump', settings({ preset: 'postgres', passwordEnv: 'X;id' })), {});
    expect(r.status).to.equal(2);
    expect(r.stderr).to.contain('invalid variable name');
  });

  it('mariadb: root with MARIADB_ROOT_PASSWORD (or MYSQL_ROOT_PASSWORD), one database or all', () => {
    const one = run(presetArgv('dump', settings({ preset: 'mariadb' })), {
      MYSQL_ROOT_PASSWORD: 'rootpw',
      MARIADB_DATABASE: 'shop',
    });
    expect(one.lines[0]).to.equal('tool=mariadb-dump');
    expect(one.lines).to.include.members([
      'arg=--user=root',
      'arg=--single-transaction',
      'arg=--databases',
      'arg=shop',
      'MYSQL_PWD=rootpw',
    ]);
    const all = run(presetArgv('dump', settings({ preset: 'mariadb', user: 'app' })), {
      MARIADB_PASSWORD: 'apppw',
      MARIADB_ROOT_PASSWORD: 'rootpw',
    });
    expect(all.lines).to.include.members([
      'arg=--user=app',
      'arg=--all-databases',
      'MYSQL_PWD=apppw',
    ]);
  });

  it('mysql prefers mysqldump; mariadb falls back to mysqldump when mariadb-dump is absent', () => {
    const mysql = run(presetArgv('dump', settings({ preset: 'mysql' })), {
      MYSQL_ROOT_PASSWORD: 'x',
    });
    expect(mysql.lines[0]).to.equal('tool=mysqldump');
    const only = path.join(dir, 'only-mysqldump');
    execFileSync('mkdir', ['-p', only]);
    writeFileSync(path.join(only, 'mysqldump'), STAND_IN);
    chmodSync(path.join(only, 'mysqldump'), 0o755);
    const r = run(
      presetArgv('dump', settings({ preset: 'mariadb' })),
      { MARIADB_ROOT_PASSWORD: 'x' },
      [only, '/usr/bin', '/bin'],
    );
    expect(r.lines[0]).to.equal('tool=mysqldump');
    const none = run(presetArgv('dump', settings({ preset: 'mariadb' })), {}, [
      '/nonexistent',
      '/usr/bin',
      '/bin',
    ]);
    expect(none.status).to.equal(127);
    expect(none.stderr).to.contain('neither mariadb-dump nor mysqldump');
  });

  it('mongo (stand-in): archive to stdout, the root user of the image by default', () => {
    const r = run(presetArgv('dump', settings({ preset: 'mongo', database: 'app' })), {
      MONGO_INITDB_ROOT_USERNAME: 'admin',
      MONGO_INITDB_ROOT_PASSWORD: 'mpw',
    });
    expect(r.status).to.equal(0);
    expect(r.lines.slice(0, 8)).to.deep.equal([
      'tool=mongodump',
      'arg=--archive',
      'arg=--quiet',
      'arg=--username=admin',
      'arg=--password=mpw',
      'arg=--authenticationDatabase=admin',
      'arg=--db=app',
      'PGPASSWORD=',
    ]);
    // A user without a password would make mongodump prompt on a terminal: refused instead.
    const noPw = run(presetArgv('dump', settings({ preset: 'mongo', user: 'admin' })), {});
    expect(noPw.status).to.equal(2);
    expect(noPw.stderr).to.contain('has no password');
  });

  it('sqlite (stand-in): .dump of the labeled file, read-only', () => {
    const r = run(presetArgv('dump', settings({ preset: 'sqlite', database: '/data/app.db' })), {});
    expect(r.lines.slice(0, 4)).to.deep.equal([
      'tool=sqlite3',
      'arg=-readonly',
      'arg=/data/app.db',
      'arg=.dump',
    ]);
  });

  it('sqlite with the real sqlite3 (when the host has it): dump, restore over the file, probe', function () {
    const real = ['/usr/bin/sqlite3', '/bin/sqlite3'].find((p) => existsSync(p));
    if (!real) this.skip(); // the stand-in tests above still hold the contract
    const db = path.join(dir, 'app.db');
    execFileSync(real!, [db, "create table t (v text); insert into t values ('a'), ('b');"]);
    const sqlite = settings({ preset: 'sqlite', database: db });
    const onlyReal = ['/usr/bin', '/bin']; // no stand-ins on PATH
    const dump = spawnSync('sh', presetArgv('dump', sqlite).slice(1), {
      env: { PATH: onlyReal.join(':') },
      encoding: 'utf8',
    });
    expect(dump.status, dump.stderr).to.equal(0);
    expect(dump.stdout).to.contain('CREATE TABLE t');
    // The restore replaces the file atomically (temp file, then rename) from the dump on stdin.
    execFileSync(real!, [db, 'drop table t; create table other (x int);']);
    const restore = spawnSync('sh', presetArgv('restore', sqlite).slice(1), {
      env: { PATH: onlyReal.join(':') },
      input: dump.stdout,
      encoding: 'utf8',
    });
    expect(restore.status, restore.stderr).to.equal(0);
    expect(existsSync(`${db}.dockop-restore`)).to.equal(false);
    expect(
      execFileSync(real!, [db, 'select group_concat(v) from t'], { encoding: 'utf8' }).trim(),
    ).to.equal('a,b');
    const probe = run(presetArgv('probe', sqlite), {}, onlyReal);
    expect(probe.lines).to.deep.equal(['1']);
  });

  it('redis: the RDB on stdout, REDISCLI_AUTH from REDIS_PASSWORD or the named variable', () => {
    const r = run(presetArgv('dump', settings({ preset: 'redis' })), { REDIS_PASSWORD: 'rpw' });
    expect(r.lines).to.include.members([
      'tool=redis-cli',
      'arg=--rdb',
      'arg=-',
      'REDISCLI_AUTH=rpw',
    ]);
  });

  it('restore and probe scripts take no dump args', () => {
    const r = run(presetArgv('restore', settings({ preset: 'postgres', args: ['--evil'] })), {
      POSTGRES_USER: 'u',
    });
    expect(r.lines[0]).to.equal('tool=psql');
    expect(r.lines).to.not.include('arg=--evil');
    const p = run(presetArgv('probe', settings({ preset: 'mongo' })), {});
    expect(p.lines[0]).to.equal('tool=mongosh');
  });

  it('has a file name and extension for every preset', () => {
    for (const name of DUMP_PRESET_NAMES) {
      expect(dumpPreset(name).extension).to.match(/^[a-z]+$/);
      expect(dumpFileName('db-1', name)).to.equal(`db-1.${dumpPreset(name).extension}`);
    }
    expect(dumpFileName('pg', 'postgres')).to.equal('pg.sql');
    expect(dumpFileName('cache', 'redis')).to.equal('cache.rdb');
  });

  it('the requirement check reports a missing tool and a missing credential', () => {
    const reqs = dumpRequirements(settings({ preset: 'mariadb' }));
    const r = run(checkArgv(reqs), {}, ['/nonexistent', '/usr/bin', '/bin']);
    const unmet = unmetRequirements(reqs, r.lines.join('\n'));
    expect(unmet.map((u) => describeUnmet('db', u))).to.deep.equal([
      'container db: backrest.dump=mariadb needs mariadb-dump or mysqldump in the container, and it has none',
      'container db: backrest.dump=mariadb needs the variable MARIADB_ROOT_PASSWORD or MYSQL_ROOT_PASSWORD set in the container, and it is not',
    ]);
    const ok = run(checkArgv(reqs), { MYSQL_ROOT_PASSWORD: 'x' });
    expect(unmetRequirements(reqs, ok.lines.join('\n'))).to.deep.equal([]);
    const named = dumpRequirements(settings({ preset: 'postgres', passwordEnv: 'DB_PASS' }));
    const m = run(checkArgv(named), { POSTGRES_PASSWORD: 'x' });
    expect(unmetRequirements(named, m.lines.join('\n')).map((u) => u.because)).to.deep.equal([
      'backrest.dump.password-env',
    ]);
    // Postgres needs no password by default (local connections are trusted in its image).
    expect(dumpRequirements(settings({ preset: 'postgres' })).map((q) => q.kind)).to.deep.equal([
      'tool',
    ]);
  });
});

describe('resolveDump', () => {
  it('refuses a password in .args, naming the flag and never the value', () => {
    const cases: [string, string[], string][] = [
      ['postgres', ['--no-owner', '--password=hunter2pw'], 'item 2 passes a password (--password)'],
      ['mongo', ['--pass', 'hunter2pw'], 'item 1 passes a password (--pass)'],
      ['mariadb', ['-phunter2pw'], 'item 1 passes a password (-p)'],
      ['mongo', ['-p', 'hunter2pw'], 'item 1 passes a password (-p)'],
      ['redis', ['-a', 'hunter2pw'], 'item 1 passes a password (-a)'],
      [
        'postgres',
        ['--dbname=postgresql://app:hunter2pw@db/app'],
        'item 1 passes a password (a URL with a password)',
      ],
    ];
    for (const [preset, args, said] of cases) {
      const r = resolveDump({ enable: true, dump: { preset, args } } as never, 'db1');
      expect(r.ok, `${preset} ${args.join(' ')}`).to.equal(false);
      if (r.ok) continue;
      expect(r.message).to.contain(`container db1: label backrest.dump.args ${said}`);
      expect(r.message).to.contain('backrest.dump.password-env');
      expect(r.message).to.not.contain('hunter2pw');
    }
    // Not passwords: postgres' -p is the port, redis' --askpass reads stdin, -P is mysql's port.
    for (const [preset, args] of [
      ['postgres', ['-p5433']],
      ['redis', ['--askpass']],
      ['mysql', ['-P3307', '--skip-lock-tables']],
    ] as const) {
      expect(
        resolveDump({ enable: true, dump: { preset, args: [...args] } } as never, 'db1').ok,
      ).to.equal(true);
    }
  });

  it('is undefined without dump labels; settings with defaults otherwise', () => {
    expect(resolveDump({ enable: true }, 'c')).to.deep.equal({ ok: true, settings: undefined });
    expect(resolveDump({ enable: true, dump: { preset: 'redis' } }, 'c')).to.deep.equal({
      ok: true,
      settings: { preset: 'redis', args: [], only: false },
    });
  });

  it('refuses .database and friends without backrest.dump, naming container and labels', () => {
    const r = resolveDump({ enable: true, dump: { database: 'x', passwordEnv: 'P' } }, 'db1');
    expect(r).to.deep.equal({
      ok: false,
      message:
        'container db1: label backrest.dump.database, backrest.dump.password-env set without backrest.dump (which database kind to dump?)',
    });
  });

  it('sqlite needs an absolute .database', () => {
    const r = resolveDump({ enable: true, dump: { preset: 'sqlite' } }, 'app');
    expect(r.ok).to.equal(false);
    expect(!r.ok && r.message).to.contain('backrest.dump=sqlite needs backrest.dump.database');
    const rel = resolveDump(
      { enable: true, dump: { preset: 'sqlite', database: 'app.db' } },
      'app',
    );
    expect(!rel.ok && rel.message).to.contain('"app.db"');
  });

  it('reads own fields only', () => {
    const proto = { preset: 'postgres' };
    const dump = Object.create(proto) as { preset?: string };
    expect(resolveDump({ enable: true, dump }, 'c')).to.deep.equal({
      ok: true,
      settings: undefined,
    });
  });
});

describe('dump label formats', () => {
  it('refuses control, bidi, a leading dash and "=" in names', () => {
    expect(validateDumpName('app')).to.equal(true);
    expect(validateDumpName('-h')).to.be.a('string');
    expect(validateDumpName('host=evil dbname=x')).to.contain('connection string');
    expect(validateDumpName('a\nb')).to.contain('control');
    expect(validateDumpName('app\u202e')).to.contain('U+202E');
    expect(validateDumpArg('--exclude-table=x')).to.equal(true);
    expect(validateDumpArg('x\u2066')).to.contain('U+2066');
  });
});
