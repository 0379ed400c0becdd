import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  readFileSync,
  readdirSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { applyChanges } from './apply-changes.js';
import { assertLoadable } from './assert-loadable.js';
import { defaultInstanceId, instanceIdProblem } from './backrest-instance.js';
import { ConfigError } from './config-error.js';
import { ConfigSink, holdsSecrets } from './config-sink.js';
import type { ConfigSinkOptions } from './config-sink-options.js';
import {
  BACKREST_WITH_DEFAULT,
  PACKAGE_DIR,
  SIDECAR_WITH_DEFAULT,
  plan,
  tempDir,
} from './spec-support.js';

async function rejection(p: Promise<unknown>): Promise<ConfigError> {
  try {
    await p;
  } catch (err) {
    expect(err).to.be.instanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError, the call succeeded');
}

const isRoot = process.getuid?.() === 0;

describe('ConfigSink write safety (real files)', () => {
  let dir: string;
  let cleanup: () => void;
  let file: string;
  const sink = (o: Partial<ConfigSinkOptions> = {}) => new ConfigSink({ path: file, ...o });
  const modeOf = (f: string) => statSync(f).mode & 0o7777;

  beforeEach(() => {
    ({ dir, cleanup } = tempDir());
    file = path.join(dir, 'config.json');
  });
  afterEach(() => cleanup());

  describe('file mode, owner and group', () => {
    // Every existing mode is kept exactly, in both formats and both write modes, whatever the
    // content: widening a 0600 file to 0644 leaked repo passwords.
    for (const writeMode of ['atomic', 'inplace'] as const) {
      for (const [format, base] of [
        ['sidecar', SIDECAR_WITH_DEFAULT],
        ['backrest', BACKREST_WITH_DEFAULT],
      ] as const) {
        for (const mode of [0o600, 0o640, 0o604, 0o644, 0o660, 0o2640]) {
          it(`${writeMode}, ${format}: keeps mode ${mode.toString(8)}${isRoot ? ', owner and group' : ''}`, async () => {
            writeFileSync(file, base);
            if (isRoot) chownSync(file, 1234, 5678);
            chmodSync(file, mode); // after chown, which clears setgid
            const ino = statSync(file).ino;
            const r = await sink({ writeMode }).commit({ upsert: [plan('a')], remove: [] });
            expect(r.written).to.equal(true);
            const st = statSync(file);
            expect(st.mode & 0o7777).to.equal(mode);
            if (isRoot) expect([st.uid, st.gid]).to.deep.equal([1234, 5678]);
            if (writeMode === 'inplace') expect(st.ino).to.equal(ino);
            const bak = statSync(`${file}.bak`);
            expect(bak.mode & 0o777).to.equal(mode & 0o777);
            if (isRoot) expect([bak.uid, bak.gid]).to.deep.equal([1234, 5678]);
            expect(r.warnings).to.deep.equal([]);
          });
        }
      }
    }

    it('ignores fileMode for an existing file (it only applies to files we create)', async () => {
      writeFileSync(file, SIDECAR_WITH_DEFAULT);
      chmodSync(file, 0o600);
      await sink({ fileMode: 0o644 }).commit({ upsert: [plan('a')], remove: [] });
      expect(modeOf(file)).to.equal(0o600);
    });

    it('rollback keeps the current mode and owner', async () => {
      writeFileSync(file, BACKREST_WITH_DEFAULT);
      chmodSync(file, 0o640);
      if (isRoot) chownSync(file, 1234, 5678);
      await sink().commit({ upsert: [plan('a')], remove: [] });
      expect(await sink().rollback()).to.equal(true);
      expect(readFileSync(file, 'utf8')).to.equal(BACKREST_WITH_DEFAULT);
      expect(modeOf(file)).to.equal(0o640);
      if (isRoot) expect(statSync(file).uid).to.equal(1234);
    });

    describe('files we create (whatever the umask)', () => {
      let umask: number;
      beforeEach(() => {
        // 0: open()'s mode is not narrowed for us, so the sink must set it exactly itself.
        umask = process.umask(0);
      });
      afterEach(() => {
        process.umask(umask);
      });

      for (const writeMode of ['atomic', 'inplace'] as const) {
        it(`${writeMode}: Backrest's native format is 0600 with an instance and version 6`, async () => {
          await sink({ writeMode, defaultFormat: 'backrest', instance: 'nas-01' }).commit({
            upsert: [],
            remove: [],
          });
          expect(modeOf(file)).to.equal(0o600);
          const doc = JSON.parse(readFileSync(file, 'utf8'));
          expect(doc).to.include({ version: 6, instance: 'nas-01', modno: 0 });
        });
      }

      it("the seed's format is 0644 (a created file holds no repo, so no secret)", async () => {
        await sink().commit({ upsert: [], remove: [] });
        expect(modeOf(file)).to.equal(0o644);
      });

      it('holdsSecrets (0600 for a created seed-format file) sees credentials anywhere', () => {
        const withHook = (hook: string) => ({
          repos: [],
          plans: [{ id: 'a', hooks: { pre: [hook], post: [] } }],
        });
        for (const hook of [
          'curl -fsS https://hook:s3cr3t@example.com/ping',
          'restic -r s3:https://KEY:SECRET@s3.example.com/b snapshots',
          'curl -H "Authorization: Bearer abc" https://x',
          'PGPASSWORD=hunter2 pg_dumpall',
          'mysqldump --password=hunter2',
        ]) {
          expect(holdsSecrets(withHook(hook)), hook).to.equal(true);
        }
        expect(holdsSecrets({ repos: [{ id: 'r', env: ['X=1'] }] })).to.equal(true);
        expect(holdsSecrets({ repos: [{ id: 'r', password: 'p' }] })).to.equal(true);
        expect(holdsSecrets({ auth: { users: [{ name: 'u' }] } })).to.equal(true);
        expect(holdsSecrets(withHook("sh -c 'docker stop $SELF'"))).to.equal(false);
        expect(holdsSecrets(withHook('pg_dump -t users,orders'))).to.equal(false);
      });

      it('an explicit fileMode wins for a created file', async () => {
        await sink({ fileMode: 0o640, defaultFormat: 'backrest', instance: 'h' }).commit({
          upsert: [],
          remove: [],
        });
        expect(modeOf(file)).to.equal(0o640);
      });

      it('the default instance is the host name made a valid Backrest id', async () => {
        await sink({ defaultFormat: 'backrest' }).commit({ upsert: [], remove: [] });
        const doc = JSON.parse(readFileSync(file, 'utf8'));
        expect(doc.instance).to.equal(defaultInstanceId());
        expect(instanceIdProblem(doc.instance)).to.equal(undefined);
      });
    });

    it('takes the default instance from instanceHostName (e.g. the Docker engine), else the host', async () => {
      await sink({
        defaultFormat: 'backrest',
        instanceHostName: async () => 'Engine Host!',
      }).commit({ upsert: [], remove: [] });
      expect(JSON.parse(readFileSync(file, 'utf8')).instance).to.equal('Engine_Host_');

      const other = path.join(dir, 'other.json');
      const r = await new ConfigSink({
        path: other,
        defaultFormat: 'backrest',
        instanceHostName: async () => {
          throw new Error('connect ENOENT /var/run/docker.sock');
        },
      }).commit({ upsert: [], remove: [] });
      expect(JSON.parse(readFileSync(other, 'utf8')).instance).to.equal(defaultInstanceId());
      expect(r.warnings.join()).to.include('ENOENT');
      // Asked only when a native file is created.
      let asked = 0;
      await sink({
        instanceHostName: async () => {
          asked++;
          return 'x';
        },
      })
        .commit({ upsert: [plan('a', { repo: 'default' })], remove: [] })
        .catch(() => undefined);
      expect(asked).to.equal(0);
    });

    it('never adds or changes the instance of an existing native file', async () => {
      const doc = JSON.parse(BACKREST_WITH_DEFAULT);
      delete doc.instance;
      writeFileSync(file, JSON.stringify(doc));
      await sink({ instance: 'other' }).commit({ upsert: [plan('a')], remove: [] });
      expect(JSON.parse(readFileSync(file, 'utf8'))).not.to.have.property('instance');
    });
  });

  describe('instance ids', () => {
    it('derives a valid id from any host name', () => {
      expect(defaultInstanceId('nas-01.example.com')).to.equal('nas-01.example.com');
      expect(defaultInstanceId('my host/é')).to.equal('my_host_');
      expect(defaultInstanceId('_weird_')).to.equal('weird_');
      expect(defaultInstanceId('')).to.equal('backrest-sidecar');
      expect(defaultInstanceId('x'.repeat(80))).to.have.length(50);
      for (const h of ['my host/é', '_weird_', '', 'x'.repeat(80), '***']) {
        expect(instanceIdProblem(defaultInstanceId(h)), h).to.equal(undefined);
      }
    });

    it('refuses an invalid instance option', () => {
      for (const bad of ['', 'a b', '_x_', 'y'.repeat(51)]) {
        expect(() => new ConfigSink({ path: '/tmp/x.json', instance: bad }), bad).to.throw(
          TypeError,
          /instance/,
        );
      }
    });
  });

  describe('in-place writes', () => {
    // A config twice as long as the new one would be, so a torn write leaves old bytes behind.
    const longBase = () => {
      const doc = JSON.parse(BACKREST_WITH_DEFAULT);
      doc.plans = [
        { id: 'hand', repo: 'default', paths: ['/srv/' + 'x'.repeat(2000)], iexcludes: ['*.tmp'] },
      ];
      return JSON.stringify(doc, null, 2);
    };

    for (const step of ['write', 'truncate', 'sync', 'verify'] as const) {
      it(`a failure at the ${step} step restores the previous bytes (same inode, no journal left)`, async () => {
        writeFileSync(file, longBase());
        const before = readFileSync(file);
        const ino = statSync(file).ino;
        let failed = false;
        const s = sink({
          writeMode: 'inplace',
          faults: {
            inPlaceStep: (at) => {
              // Once: the restore goes through the same steps and must succeed.
              if (at !== step || failed) return;
              failed = true;
              throw Object.assign(new Error('no space left'), { code: 'ENOSPC' });
            },
          },
        });
        const err = await rejection(s.commit({ upsert: [plan('a')], remove: ['hand'] }));
        expect(err.code).to.equal('WriteFailed');
        expect(err.message).to.include('restored from .bak').and.include(file);
        expect(readFileSync(file).equals(before)).to.equal(true);
        expect(statSync(file).ino).to.equal(ino);
        expect(existsSync(`${file}.inplace`)).to.equal(false);
      });
    }

    it('a write that fails half-way (ENOSPC after some bytes) restores the previous bytes', async () => {
      writeFileSync(file, longBase());
      const before = readFileSync(file);
      let calls = 0;
      const s = sink({
        writeMode: 'inplace',
        faults: {
          inPlaceWrite: async (fh, buf, offset, position) => {
            calls++;
            // The first write (the new bytes) stops half-way; the restore's writes go through.
            if (calls === 1) {
              const half = Math.floor((buf.length - offset) / 2);
              await fh.write(buf, offset, half, position);
              throw Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
            }
            return (await fh.write(buf, offset, buf.length - offset, position)).bytesWritten;
          },
        },
      });
      const err = await rejection(s.commit({ upsert: [plan('a')], remove: [] }));
      expect(err.code).to.equal('WriteFailed');
      expect(err.details.join()).to.include('ENOSPC');
      expect(readFileSync(file).equals(before)).to.equal(true);
    });

    it('a short write is continued until every byte is written', async () => {
      writeFileSync(file, BACKREST_WITH_DEFAULT);
      const r = await sink({
        writeMode: 'inplace',
        faults: {
          inPlaceWrite: async (fh, buf, offset, position) =>
            (await fh.write(buf, offset, Math.min(7, buf.length - offset), position)).bytesWritten,
        },
      }).commit({ upsert: [plan('a')], remove: [] });
      expect(readFileSync(file, 'utf8')).to.equal(r.after);
    });

    it('a file that no longer parses after the write is restored from .bak', async () => {
      writeFileSync(file, BACKREST_WITH_DEFAULT);
      const s = sink({
        writeMode: 'inplace',
        faults: {
          // Someone (or a broken disk) leaves garbage between our fsync and our read-back.
          inPlaceStep: (at, p) => {
            if (at === 'verify') writeFileSync(p, '{"modno": 7, "plans": [');
          },
        },
      });
      const err = await rejection(s.commit({ upsert: [plan('a')], remove: [] }));
      expect(err.code).to.equal('WriteFailed');
      expect(readFileSync(file, 'utf8')).to.equal(BACKREST_WITH_DEFAULT);
    });

    it('a crash mid-write never leaves an empty file, and the next call repairs it from .bak', async function () {
      this.timeout(20_000);
      writeFileSync(file, longBase());
      const before = readFileSync(file);
      // A child process writes half the new bytes and is SIGKILLed: a real crash, not a throw.
      const script = `
        const { ConfigSink } = await import(${JSON.stringify(path.join(PACKAGE_DIR, 'dist', 'index.js'))});
        await new ConfigSink({ path: ${JSON.stringify(file)}, writeMode: 'inplace', faults: {
          inPlaceWrite: async (fh, buf, offset, position) => {
            await fh.write(buf, offset, Math.floor(buf.length / 2), position);
            await fh.sync();
            process.kill(process.pid, 'SIGKILL');
          },
        } }).commit({ upsert: [{ id: 'a', repo: 'default', schedule: '0 2 * * *', sources: ['/x'],
          exclude: [], hooks: { pre: [], post: [] }, retention: { spec: '' } }], remove: ['hand'] });`;
      const out = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
        encoding: 'utf8',
      });
      expect(out.signal, out.stderr).to.equal('SIGKILL');
      const torn = readFileSync(file);
      expect(torn.length).to.be.greaterThan(0);
      expect(torn.equals(before)).to.equal(false);
      // Torn: new bytes up to the crash, old ones after (it may even parse: "id": "aand").
      expect(existsSync(`${file}.inplace`)).to.equal(true);
      expect(readFileSync(`${file}.bak`).equals(before)).to.equal(true);

      // load() (the daemon's first step) repairs under the lock, then reads the old config.
      // The killed process held the lock: it is taken over once stale (2 s here, 10 s default).
      const loaded = await sink({ writeMode: 'inplace', lockStaleMs: 2000 }).load();
      expect(loaded.planIds).to.deep.equal(['hand']);
      expect(readFileSync(file).equals(before)).to.equal(true);
      expect(existsSync(`${file}.inplace`)).to.equal(false);
      const r = await sink({ writeMode: 'inplace' }).commit({ upsert: [plan('a')], remove: [] });
      expect(r.written).to.equal(true);
    });

    it('commit repairs a torn write first and says so in its warnings', async () => {
      writeFileSync(file, longBase());
      const before = readFileSync(file);
      await sink({
        writeMode: 'inplace',
        faults: {
          inPlaceStep: (at) => {
            // New bytes written over the old, not truncated yet: the old tail is still there.
            if (at === 'truncate') throw Object.assign(new Error('killed'), { code: 'EINTR' });
          },
          inPlaceWrite: async (fh, buf, offset, position) => {
            if (buf.equals(before)) throw new Error('restore fails too');
            return (await fh.write(buf, offset, buf.length - offset, position)).bytesWritten;
          },
        },
      })
        .commit({ upsert: [plan('a')], remove: ['hand'] })
        .then(
          () => expect.fail('expected a failure'),
          (err: ConfigError) => expect(err.message).to.include('so did the restore'),
        );
      expect(existsSync(`${file}.inplace`)).to.equal(true);
      const r = await sink({ writeMode: 'inplace' }).commit({ upsert: [plan('a')], remove: [] });
      expect(r.warnings.join()).to.include('restored from');
      expect(
        JSON.parse(readFileSync(file, 'utf8')).plans.map((p: { id: string }) => p.id),
      ).to.deep.equal(['a', 'hand']);
    });

    it('an atomic rename refused with EBUSY (bind-mounted file) falls back to an in-place write', async () => {
      writeFileSync(file, BACKREST_WITH_DEFAULT);
      chmodSync(file, 0o600);
      const ino = statSync(file).ino;
      const r = await sink({
        faults: {
          rename: async () => {
            throw Object.assign(new Error('resource busy'), { code: 'EBUSY' });
          },
        },
      }).commit({ upsert: [plan('a')], remove: [] });
      expect(r.written).to.equal(true);
      expect(r.warnings.join()).to.include('EBUSY');
      expect(statSync(file).ino).to.equal(ino);
      expect(readFileSync(file, 'utf8')).to.equal(r.after);
      expect(modeOf(file)).to.equal(0o600);
      expect(readdirSync(dir).sort()).to.deep.equal(['config.json', 'config.json.bak']);
    });

    it('an in-place rollback cut short is finished by the next call', async () => {
      writeFileSync(file, BACKREST_WITH_DEFAULT);
      await sink({ writeMode: 'inplace' }).commit({ upsert: [plan('a')], remove: [] });
      const err = await rejection(
        sink({
          writeMode: 'inplace',
          faults: {
            inPlaceWrite: async (fh, buf, offset, position) => {
              await fh.write(buf, offset, 10, position);
              throw Object.assign(new Error('I/O error'), { code: 'EIO' });
            },
          },
        }).rollback(),
      );
      expect(err.code).to.equal('WriteFailed');
      expect(existsSync(`${file}.inplace`)).to.equal(true);
      await sink({ writeMode: 'inplace' }).load();
      expect(readFileSync(file, 'utf8')).to.equal(BACKREST_WITH_DEFAULT);
      expect(existsSync(`${file}.inplace`)).to.equal(false);
    });

    it('keepBackup false still backs up during the write, then removes the backup', async () => {
      writeFileSync(file, BACKREST_WITH_DEFAULT);
      await sink({ writeMode: 'inplace', keepBackup: false }).commit({
        upsert: [plan('a')],
        remove: [],
      });
      expect(readdirSync(dir)).to.deep.equal(['config.json']);
    });
  });

  describe('retention edited by hand', () => {
    const byId = (id: string) =>
      (JSON.parse(readFileSync(file, 'utf8')).plans as { id: string }[]).find((p) => p.id === id);
    const handEdit = (fn: (plan: Record<string, unknown>) => void) => {
      const doc = JSON.parse(readFileSync(file, 'utf8'));
      fn(doc.plans.find((p: { id: string }) => p.id === 'a'));
      writeFileSync(file, JSON.stringify(doc, null, 2));
    };
    const defaulted = { spec: 'daily=7,weekly=4', defaulted: true };

    it('backrest: a plan without a keep label keeps the retention in the file', async () => {
      writeFileSync(file, BACKREST_WITH_DEFAULT);
      await sink().commit({ upsert: [plan('a')], remove: [] });
      handEdit((p) => (p['retention'] = { policyKeepLastN: 30 }));
      const r = await sink().commit({
        upsert: [plan('a', { schedule: '0 5 * * *', retention: defaulted })],
        remove: [],
      });
      expect(r.written).to.equal(true); // the schedule change lands...
      expect(byId('a')).to.deep.include({ retention: { policyKeepLastN: 30 } }); // ...not the default
      // A new plan gets the default; a keep label always wins.
      await sink().commit({ upsert: [plan('b', { retention: defaulted })], remove: [] });
      expect(byId('b')).to.deep.include({
        retention: { policyTimeBucketed: { daily: 7, weekly: 4 } },
      });
      await sink().commit({ upsert: [plan('a', { retention: { spec: 'last=3' } })], remove: [] });
      expect(byId('a')).to.deep.include({ retention: { policyKeepLastN: 3 } });
    });

    it('backrest: a removed retention stays removed, a carried keep-within stays carried', async () => {
      writeFileSync(file, BACKREST_WITH_DEFAULT);
      await sink().commit({
        upsert: [plan('a', { retention: { spec: 'within=90d' } })],
        remove: [],
      });
      const carried = byId('a');
      await sink().commit({ upsert: [plan('a', { retention: defaulted })], remove: [] });
      expect(byId('a')).to.deep.equal(carried);
      handEdit((p) => delete p['retention']);
      await sink().commit({ upsert: [plan('a', { retention: defaulted })], remove: [] });
      expect(byId('a')).not.to.have.property('retention');
    });

    it('sidecar: a plan without a keep label keeps the spec in the file', async () => {
      writeFileSync(file, SIDECAR_WITH_DEFAULT);
      await sink().commit({ upsert: [plan('a')], remove: [] });
      handEdit((p) => (p['retention'] = { spec: 'last=30' }));
      await sink().commit({ upsert: [plan('a', { retention: defaulted })], remove: [] });
      expect(byId('a')).to.deep.include({ retention: { spec: 'last=30' } });
      await sink().commit({ upsert: [plan('c', { retention: defaulted })], remove: [] });
      expect(byId('c')).to.deep.include({ retention: { spec: 'daily=7,weekly=4' } });
    });

    for (const [format, base] of [
      ['sidecar', SIDECAR_WITH_DEFAULT],
      ['backrest', BACKREST_WITH_DEFAULT],
    ] as const) {
      it(`${format}: a plan we don't own is never touched (retention, hooks, everything)`, async () => {
        const doc = JSON.parse(base);
        const mine =
          format === 'backrest'
            ? {
                id: 'user_plan',
                repo: 'default',
                paths: ['/home'],
                retention: { policyKeepLastN: 99 },
                hooks: [
                  {
                    conditions: ['CONDITION_SNAPSHOT_END'],
                    actionCommand: { command: 'x {{.Plan.Id}}' },
                  },
                ],
                iexcludes: ['*.iso'],
              }
            : {
                id: 'user_plan',
                repo: 'default',
                schedule: '0 1 * * *',
                sources: ['/home'],
                exclude: [],
                hooks: { pre: ['x {{y}}'], post: [] },
                retention: { spec: 'last=99' },
              };
        doc.plans = [mine];
        writeFileSync(file, JSON.stringify(doc));
        await sink().commit({ upsert: [plan('a', { retention: defaulted })], remove: [] });
        await sink().commit({ upsert: [plan('a', { retention: { spec: 'last=1' } })], remove: [] });
        expect(byId('user_plan')).to.deep.equal(mine);
      });
    }
  });

  describe('never writes what Backrest refuses', () => {
    // Every write path: both formats, both write modes, an existing and a missing file, the
    // EBUSY fallback. A refused commit leaves the bytes, inode and mtime (or the absence) as is.
    const bad = [
      plan('x', { repo: 'nope' }),
      plan('x', { schedule: '*/0 * * * *' }),
      plan('x', { schedule: '0 0 1 * ?' }),
      plan('x', { sources: [] }),
      plan('_x_'),
    ];
    for (const writeMode of ['atomic', 'inplace'] as const) {
      for (const [format, base] of [
        ['sidecar', SIDECAR_WITH_DEFAULT],
        ['backrest', BACKREST_WITH_DEFAULT],
      ] as const) {
        it(`${writeMode}, ${format}: a refused plan leaves the file untouched`, async () => {
          for (const p of bad) {
            writeFileSync(file, base);
            const st = statSync(file);
            const s = sink({
              writeMode,
              faults: {
                rename: async () => {
                  throw Object.assign(new Error('busy'), { code: 'EBUSY' });
                },
              },
            });
            const err = await rejection(s.commit({ upsert: [plan('ok'), p], remove: [] }));
            expect(err.code, JSON.stringify(p)).to.equal('Refused');
            expect(err.path).to.equal(file);
            expect(readFileSync(file, 'utf8')).to.equal(base);
            expect([statSync(file).ino, statSync(file).mtimeMs]).to.deep.equal([
              st.ino,
              st.mtimeMs,
            ]);
            expect(readdirSync(dir)).to.deep.equal(['config.json']);
            expect((await rejection(s.preview({ upsert: [p], remove: [] }))).code).to.equal(
              'Refused',
            );
          }
        });
      }
      it(`${writeMode}: a refused first write creates no file`, async () => {
        const err = await rejection(
          sink({ writeMode, defaultFormat: 'backrest' }).commit({
            upsert: [plan('a')],
            remove: [],
          }),
        );
        expect(err.code).to.equal('Refused'); // no repo "default" in a new file
        expect(readdirSync(dir)).to.deep.equal([]);
      });
    }

    it('assertLoadable is the same gate for other writers (e.g. an API payload)', () => {
      const doc = JSON.parse(BACKREST_WITH_DEFAULT);
      expect(() => assertLoadable(doc, 'backrest', 'http://backrest:9898')).not.to.throw();
      doc.plans = [{ id: 'p', repo: 'missing', paths: ['/x'] }];
      expect(() => assertLoadable(doc, 'backrest', 'http://backrest:9898')).to.throw(
        ConfigError,
        /Refused.*http:\/\/backrest:9898.*repo "missing"/,
      );
    });
  });

  describe('hostile documents', () => {
    it('refuses deeply nested JSON as a ConfigError naming the file, not a RangeError', async () => {
      const deep = '['.repeat(100_000) + ']'.repeat(100_000);
      for (const text of [
        `{"repos": [], "plans": [], "x": ${deep}}`,
        `{"version": 6, "sync": {"a": ${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}}}`,
      ]) {
        writeFileSync(file, text);
        for (const call of [
          () => sink().load(),
          () => sink().commit({ upsert: [plan('a')], remove: [] }),
          () => sink().preview({ upsert: [], remove: [] }),
        ]) {
          const err = await rejection(call());
          expect(err.code).to.equal('InvalidConfig');
          expect(err.path).to.equal(file);
          expect(err.message).to.include('nests deeper');
        }
        expect(readFileSync(file, 'utf8')).to.equal(text);
      }
      expect(() => applyChanges(JSON.parse(deep), 'backrest', { upsert: [], remove: [] })).to.throw(
        ConfigError,
        /nests deeper/,
      );
    });

    it('keeps an own "__proto__" key of the file (never a prototype), and Object.prototype clean', async () => {
      const text = `{"version": 6, "__proto__": {"polluted": "yes"}, "repos": [{"id": "default", "uri": "/r", "autoInitialize": true, "__proto__": {"x": 1}}], "plans": []}`;
      writeFileSync(file, text);
      await sink().commit({ upsert: [plan('a')], remove: [] });
      const doc = JSON.parse(readFileSync(file, 'utf8'));
      expect(Object.hasOwn(doc, '__proto__')).to.equal(true);
      expect(JSON.parse(JSON.stringify(doc['__proto__']))).to.deep.equal({ polluted: 'yes' });
      expect(Object.hasOwn(doc.repos[0], '__proto__')).to.equal(true);
      expect(({} as Record<string, unknown>)['polluted']).to.equal(undefined);
    });

    it('keeps a string modno numeric: "7" is read as 7 and written as the number 8', async () => {
      const doc = JSON.parse(BACKREST_WITH_DEFAULT);
      doc.modno = '7';
      writeFileSync(file, JSON.stringify(doc));
      expect((await sink().load()).modno).to.equal(7);
      const r = await sink().commit({ upsert: [plan('a')], remove: [] });
      expect(r.written).to.equal(true);
      expect(JSON.parse(readFileSync(file, 'utf8')).modno).to.equal(8);
      await sink().commit({ upsert: [plan('b')], remove: [] });
      expect(JSON.parse(readFileSync(file, 'utf8')).modno).to.equal(9);
    });

    it('rollback refuses a backup that would not load, and writes nothing', async () => {
      writeFileSync(file, SIDECAR_WITH_DEFAULT);
      await sink().commit({ upsert: [plan('a')], remove: [] });
      const current = readFileSync(file, 'utf8');
      writeFileSync(`${file}.bak`, '{"repos": [], "plans": [{"id": "x", "repo": "nope"}]}');
      const err = await rejection(sink().rollback());
      expect(err.code).to.equal('Refused');
      expect(readFileSync(file, 'utf8')).to.equal(current);
    });
  });
});
