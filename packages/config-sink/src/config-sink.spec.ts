import { expect } from 'chai';
import fc from 'fast-check';
import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { rename as fsRename } from 'node:fs/promises';
import path from 'node:path';
import lockfile from 'proper-lockfile';
import { applyChanges, emptyConfig } from './apply-changes.js';
import { ConfigError } from './config-error.js';
import { configSecretValues } from './config-secrets.js';
import { ConfigSink } from './config-sink.js';
import type { ConfigSinkOptions } from './config-sink-options.js';
import { lineDiff } from './line-diff.js';
import type { ConfigFormat, PlanChanges } from './plan-spec.js';
import { renderConfig } from './render-config.js';
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

describe('ConfigSink (real files)', () => {
  let dir: string;
  let cleanup: () => void;
  let file: string;
  const sink = (o: Partial<ConfigSinkOptions> = {}) => new ConfigSink({ path: file, ...o });

  beforeEach(() => {
    ({ dir, cleanup } = tempDir());
    file = path.join(dir, 'config.json');
  });
  afterEach(() => cleanup());

  describe('load', () => {
    it('reports a missing file as exists:false with no plans, in the default format', async () => {
      const loaded = await sink().load();
      expect(loaded).to.include({ exists: false, format: 'sidecar' });
      expect(loaded.plans).to.deep.equal([]);
      expect((await sink({ defaultFormat: 'backrest' }).load()).format).to.equal('backrest');
      expect(existsSync(file)).to.equal(false);
    });

    it('decodes both formats and detects them', async () => {
      writeFileSync(file, SIDECAR_WITH_DEFAULT);
      await sink().commit({ upsert: [plan('a')], remove: [] });
      const s = await sink().load();
      expect(s).to.include({ format: 'sidecar', exists: true });
      expect(s.repoIds).to.deep.equal(['default']);
      expect(s.plans).to.deep.equal([plan('a')]);

      writeFileSync(file, BACKREST_WITH_DEFAULT);
      await sink().commit({ upsert: [plan('b')], remove: [] });
      const b = await sink().load();
      expect(b).to.include({ format: 'backrest', modno: 6 });
      expect(b.planIds).to.deep.equal(['b']);
      expect(b.plans[0]).to.deep.equal(plan('b'));
    });

    it('refuses invalid JSON without quoting the file (it may hold passwords)', async () => {
      writeFileSync(file, '{"repos":[{"password":"hunter2-secret"');
      const err = await rejection(sink().load());
      expect(err.code).to.equal('InvalidJson');
      expect(err.path).to.equal(file);
      expect(err.message + err.details.join()).not.to.include('hunter2');
    });

    it('refuses a forced format that contradicts the file', async () => {
      writeFileSync(file, BACKREST_WITH_DEFAULT);
      const err = await rejection(sink({ format: 'sidecar' }).load());
      expect(err.code).to.equal('InvalidConfig');
      expect(err.message).to.include('backrest');
    });
  });

  describe('commit', () => {
    it('creates a missing file with empty plans (sidecar) and version 6 / modno 0 / instance (backrest)', async () => {
      const r = await sink().commit({ upsert: [], remove: [] });
      expect(r).to.include({ written: true, changed: true, before: '' });
      expect(JSON.parse(readFileSync(file, 'utf8'))).to.deep.equal({ repos: [], plans: [] });
      expect(statSync(file).mode & 0o777).to.equal(0o644);

      const other = path.join(dir, 'b', 'config.json');
      await new ConfigSink({ path: other, defaultFormat: 'backrest', instance: 'host-1' }).commit({
        upsert: [],
        remove: [],
      });
      expect(JSON.parse(readFileSync(other, 'utf8'))).to.deep.equal({
        modno: 0,
        version: 6,
        instance: 'host-1',
        repos: [],
        plans: [],
      });
      expect(statSync(other).mode & 0o777).to.equal(0o600);
    });

    it('does not write when the canonical bytes are unchanged (inode and mtime kept)', async () => {
      writeFileSync(file, SIDECAR_WITH_DEFAULT);
      await sink().commit({ upsert: [plan('a')], remove: [] });
      // Same content, non-canonical bytes: still no write.
      writeFileSync(file, JSON.stringify(JSON.parse(readFileSync(file, 'utf8'))));
      const before = statSync(file);
      const bytes = readFileSync(file);
      const r = await sink().commit({ upsert: [plan('a')], remove: [] });
      expect(r).to.include({ changed: false, written: false, diff: '' });
      const after = statSync(file);
      expect(after.ino).to.equal(before.ino);
      expect(after.mtimeMs).to.equal(before.mtimeMs);
      expect(readFileSync(file).equals(bytes)).to.equal(true);
    });

    it('bumps modno by exactly one per write in the backrest format', async () => {
      writeFileSync(file, BACKREST_WITH_DEFAULT);
      await sink().commit({ upsert: [plan('a')], remove: [] });
      expect(JSON.parse(readFileSync(file, 'utf8')).modno).to.equal(6);
      await sink().commit({ upsert: [plan('a')], remove: [] });
      expect(JSON.parse(readFileSync(file, 'utf8')).modno).to.equal(6);
      const r = await sink().commit({ upsert: [], remove: ['a'] });
      expect(JSON.parse(readFileSync(file, 'utf8')).modno).to.equal(7);
      expect(r.diff).to.include('-  "modno": 6,').and.include('+  "modno": 7,');
    });

    it('keeps the previous bytes as <path>.bak and returns a unified diff', async () => {
      writeFileSync(file, SIDECAR_WITH_DEFAULT);
      const r = await sink().commit({ upsert: [plan('a')], remove: [] });
      expect(r.backupPath).to.equal(`${file}.bak`);
      expect(readFileSync(`${file}.bak`, 'utf8')).to.equal(SIDECAR_WITH_DEFAULT);
      expect(r.diff).to.match(/^--- a\/config\.json\n\+\+\+ b\/config\.json\n@@ /);
      expect(r.diff).to.include('+      "id": "a",');
      expect(readdirSync(dir).sort()).to.deep.equal(['config.json', 'config.json.bak']);
      // keepBackup: false leaves the old .bak alone
      await sink({ keepBackup: false }).commit({ upsert: [plan('b')], remove: [] });
      expect(readFileSync(`${file}.bak`, 'utf8')).to.equal(SIDECAR_WITH_DEFAULT);
    });

    it('preview renders and diffs but writes nothing', async () => {
      writeFileSync(file, SIDECAR_WITH_DEFAULT);
      const r = await sink().preview({ upsert: [plan('a')], remove: [] });
      expect(r).to.include({ changed: true, written: false });
      expect(r.after).to.include('"id": "a"');
      expect(readFileSync(file, 'utf8')).to.equal(SIDECAR_WITH_DEFAULT);
      expect(readdirSync(dir)).to.deep.equal(['config.json']);
    });

    it("gives the secret values `after` holds, from its document (configSecretValues' answer)", async () => {
      const repo = (id: string, secrets: object) => ({ id, type: 'local', url: '/r', ...secrets });
      const cases: [ConfigFormat, object][] = [
        [
          'sidecar',
          {
            repos: [
              repo('default', { password: 'hunter2-pass', env: { AWS_SECRET: 'abc123=x' } }),
              repo('b', { env: { B2_KEY: 'b2-secret-key' } }),
            ],
            plans: [],
          },
        ],
        [
          'backrest',
          {
            modno: 1,
            version: 6,
            instance: 'x',
            repos: [
              {
                ...JSON.parse(BACKREST_WITH_DEFAULT).repos[0],
                password: 'hunter2-pass',
                env: ['K=v-secret'],
              },
            ],
            plans: [],
          },
        ],
      ];
      for (const [format, doc] of cases) {
        writeFileSync(file, JSON.stringify(doc));
        for (const changes of [
          { upsert: [plan('a', { repo: 'default' })], remove: [] },
          { upsert: [], remove: [] },
        ]) {
          const s = sink({ format });
          const results = [await s.preview(changes), await s.commit(changes)];
          for (const r of results) {
            expect(r.secretValues, `${format} ${r.changed}`).to.have.members(
              configSecretValues(r.after),
            );
            expect(r.secretValues).to.not.be.empty;
          }
        }
      }
    });

    it('refuses a plan whose repo is missing, and writes nothing', async () => {
      writeFileSync(file, SIDECAR_WITH_DEFAULT);
      const err = await rejection(
        sink().commit({ upsert: [plan('a', { repo: 'nope' })], remove: [] }),
      );
      expect(err.code).to.equal('Refused');
      expect(err.details.join('\n')).to.include('plan "a": repo "nope" not found');
      expect(readFileSync(file, 'utf8')).to.equal(SIDECAR_WITH_DEFAULT);
      expect(readdirSync(dir)).to.deep.equal(['config.json']);
    });

    it('refuses a bad cron and a bad keep spec with details naming the plan', async () => {
      writeFileSync(file, BACKREST_WITH_DEFAULT);
      const cron = await rejection(
        sink().commit({ upsert: [plan('a', { schedule: '0 2 * *' })], remove: [] }),
      );
      expect(cron.code).to.equal('Refused');
      expect(cron.details.join()).to.include('plan "a": schedule.cron "0 2 * *"');
      const keep = await rejection(
        sink().commit({ upsert: [plan('a', { retention: { spec: 'daily=x' } })], remove: [] }),
      );
      expect(keep.code).to.equal('InvalidConfig');
      expect(keep.details.join()).to.include('plan "a": retention.spec "daily=x"');
      expect(readFileSync(file, 'utf8')).to.equal(BACKREST_WITH_DEFAULT);
    });

    it("does not let a user plan's schedule Backrest loads block us, but holds our plans to the strict dialect", async () => {
      const doc = JSON.parse(BACKREST_WITH_DEFAULT);
      // Backrest runs this at 03:00 and silently never uses minute 61: not ours to refuse.
      doc.plans.push({
        id: 'user',
        repo: 'default',
        paths: ['/u'],
        schedule: { cron: '0,61 3 * * *' },
      });
      writeFileSync(file, JSON.stringify(doc));
      expect((await sink().commit({ upsert: [plan('a')], remove: [] })).written).to.equal(true);
      const err = await rejection(
        sink().commit({ upsert: [plan('b', { schedule: '0,61 3 * * *' })], remove: [] }),
      );
      expect(err.code).to.equal('Refused');
      expect(err.details.join()).to.include(
        'plan "b": schedule "0,61 3 * * *": minute field "0,61": 61 is out of range 0-59',
      );
      const user = JSON.parse(readFileSync(file, 'utf8')).plans.find(
        (p: { id: string }) => p.id === 'user',
      );
      expect(user.schedule.cron).to.equal('0,61 3 * * *');
    });

    it('never overwrites invalid JSON', async () => {
      const garbage = '{"repos": [], "plans": [ {"id": "x",  ';
      writeFileSync(file, garbage);
      const err = await rejection(sink().commit({ upsert: [plan('a')], remove: [] }));
      expect(err.code).to.equal('InvalidJson');
      expect(err.details[0]).to.match(/line 1, column \d+|unexpected end/);
      expect(readFileSync(file, 'utf8')).to.equal(garbage);
      expect(readdirSync(dir)).to.deep.equal(['config.json']);
    });

    it('reports a rename failure as WriteFailed and leaves the target and no .new behind', async () => {
      writeFileSync(file, SIDECAR_WITH_DEFAULT);
      const s = sink({
        faults: {
          rename: async () => {
            throw Object.assign(new Error('cross-device link not permitted'), { code: 'EXDEV' });
          },
        },
      });
      const err = await rejection(s.commit({ upsert: [plan('a')], remove: [] }));
      expect(err.code).to.equal('WriteFailed');
      expect(err.details.join()).to.include('EXDEV');
      expect(readFileSync(file, 'utf8')).to.equal(SIDECAR_WITH_DEFAULT);
      expect(existsSync(`${file}.new`)).to.equal(false);
    });

    it('fails cleanly when <path>.new cannot be created (a directory is in the way)', async () => {
      writeFileSync(file, SIDECAR_WITH_DEFAULT);
      mkdirSync(`${file}.new`);
      const err = await rejection(sink().commit({ upsert: [plan('a')], remove: [] }));
      expect(err.code).to.equal('WriteFailed');
      expect(readFileSync(file, 'utf8')).to.equal(SIDECAR_WITH_DEFAULT);
      expect(statSync(`${file}.new`).isDirectory()).to.equal(true);
    });

    it('fails cleanly in a read-only directory (run as nobody: root ignores 0555)', async function () {
      if (process.getuid?.() !== 0) this.skip();
      writeFileSync(file, SIDECAR_WITH_DEFAULT);
      chmodSync(file, 0o666);
      chmodSync(dir, 0o555);
      const script = `
        const { ConfigSink } = await import(${JSON.stringify(path.join(PACKAGE_DIR, 'dist', 'index.js'))});
        try {
          await new ConfigSink({ path: ${JSON.stringify(file)}, lockRetries: 0 }).commit({
            upsert: [{ id: 'a', repo: 'default', schedule: '0 2 * * *', sources: ['/x'], exclude: [],
              hooks: { pre: [], post: [] }, retention: { spec: '' } }], remove: [] });
          console.log('written');
        } catch (e) { console.log(e.code); }`;
      const out = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
        uid: 65534,
        gid: 65534,
        encoding: 'utf8',
      });
      if (out.error || /EACCES.*index\.js|Cannot find module/.test(out.stderr)) this.skip();
      expect(out.stdout.trim()).to.be.oneOf(['LockFailed', 'WriteFailed']);
      expect(readFileSync(file, 'utf8')).to.equal(SIDECAR_WITH_DEFAULT);
    });

    it('re-merges an external edit made between read and rename: theirs survives, ours lands', async () => {
      writeFileSync(file, BACKREST_WITH_DEFAULT);
      let calls = 0;
      const s = sink({
        faults: {
          beforeVerify: (p) => {
            if (calls++ > 0) return;
            // Backrest (which does not lock) saves a UI edit: a new plan, modno 5 -> 6.
            const doc = JSON.parse(readFileSync(p, 'utf8'));
            doc.modno = 6;
            doc.plans.push({ id: 'ui-plan', repo: 'default', paths: ['/home'] });
            writeFileSync(p, JSON.stringify(doc));
          },
        },
      });
      const r = await s.commit({ upsert: [plan('ours')], remove: [] });
      expect(r).to.include({ merged: true, written: true });
      const doc = JSON.parse(readFileSync(file, 'utf8'));
      expect(doc.plans.map((p: { id: string }) => p.id)).to.deep.equal(['ours', 'ui-plan']);
      expect(doc.modno).to.equal(7);
      // The backup is their version (what we replaced), not our first read.
      expect(JSON.parse(readFileSync(`${file}.bak`, 'utf8')).modno).to.equal(6);
      expect(calls).to.equal(2);
    });

    it('re-merges an edit by another process (sidecar format)', async () => {
      writeFileSync(file, SIDECAR_WITH_DEFAULT);
      let first = true;
      const s = sink({
        faults: {
          beforeVerify: (p) => {
            if (!first) return;
            first = false;
            const code = `const fs=require('fs');const d=JSON.parse(fs.readFileSync(${JSON.stringify(p)}));
              d.plans.push({id:'theirs',repo:'default',schedule:'@daily',sources:['/t']});fs.writeFileSync(${JSON.stringify(p)},JSON.stringify(d));`;
            execFileSync(process.execPath, ['-e', code]);
          },
        },
      });
      const r = await s.commit({ upsert: [plan('a')], remove: [] });
      expect(r.merged).to.equal(true);
      const loaded = await sink().load();
      expect(loaded.planIds).to.deep.equal(['a', 'theirs']);
    });

    it('serialises two sinks committing at once through the lock: both changes land', async () => {
      writeFileSync(file, BACKREST_WITH_DEFAULT);
      const results = await Promise.all([
        sink().commit({ upsert: [plan('one')], remove: [] }),
        sink().commit({ upsert: [plan('two')], remove: [] }),
      ]);
      expect(results.every((r) => r.written)).to.equal(true);
      const doc = JSON.parse(readFileSync(file, 'utf8'));
      expect(doc.plans.map((p: { id: string }) => p.id)).to.deep.equal(['one', 'two']);
      expect(doc.modno).to.equal(7);
    });

    it('fails with LockFailed when the lock stays held', async () => {
      writeFileSync(file, SIDECAR_WITH_DEFAULT);
      const release = await lockfile.lock(file, { realpath: false, lockfilePath: `${file}.lock` });
      try {
        const err = await rejection(
          sink({ lockRetries: 1 }).commit({ upsert: [plan('a')], remove: [] }),
        );
        expect(err.code).to.equal('LockFailed');
        expect(readFileSync(file, 'utf8')).to.equal(SIDECAR_WITH_DEFAULT);
      } finally {
        await release();
      }
    });

    it('writes through a symlinked path and keeps the link', async () => {
      const real = path.join(dir, 'real');
      mkdirSync(real);
      writeFileSync(path.join(real, 'config.json'), SIDECAR_WITH_DEFAULT);
      symlinkSync(path.join(real, 'config.json'), file);
      await sink().commit({ upsert: [plan('a')], remove: [] });
      expect(lstatSync(file).isSymbolicLink()).to.equal(true);
      expect(JSON.parse(readFileSync(path.join(real, 'config.json'), 'utf8')).plans[0].id).to.equal(
        'a',
      );
      expect(await sink().rollback()).to.equal(true);
      expect(lstatSync(file).isSymbolicLink()).to.equal(true);
      expect(readFileSync(path.join(real, 'config.json'), 'utf8')).to.equal(SIDECAR_WITH_DEFAULT);
    });

    it('inplace mode rewrites the same inode, still backed up and merge-safe', async () => {
      writeFileSync(file, BACKREST_WITH_DEFAULT);
      const ino = statSync(file).ino;
      let first = true;
      const s = sink({
        writeMode: 'inplace',
        faults: {
          beforeVerify: (p) => {
            if (!first) return;
            first = false;
            const doc = JSON.parse(readFileSync(p, 'utf8'));
            doc.instance = 'renamed-in-ui';
            writeFileSync(p, JSON.stringify(doc));
          },
        },
      });
      const r = await s.commit({ upsert: [plan('a')], remove: [] });
      expect(r).to.include({ written: true, merged: true });
      expect(statSync(file).ino).to.equal(ino);
      const doc = JSON.parse(readFileSync(file, 'utf8'));
      expect(doc.instance).to.equal('renamed-in-ui');
      expect(doc.plans[0].id).to.equal('a');
      expect(readFileSync(file, 'utf8')).to.equal(r.after);
      expect(JSON.parse(readFileSync(`${file}.bak`, 'utf8')).instance).to.equal('renamed-in-ui');
    });
  });

  describe('rollback', () => {
    it('returns false without a backup, and restores <path>.bak exactly otherwise', async () => {
      writeFileSync(file, SIDECAR_WITH_DEFAULT);
      expect(await sink().rollback()).to.equal(false);
      await sink().commit({ upsert: [plan('a')], remove: [] });
      expect(readFileSync(file, 'utf8')).not.to.equal(SIDECAR_WITH_DEFAULT);
      expect(await sink().rollback()).to.equal(true);
      expect(readFileSync(file, 'utf8')).to.equal(SIDECAR_WITH_DEFAULT);
      expect(readdirSync(dir).sort()).to.deep.equal(['config.json', 'config.json.bak']);
    });

    it('restores in place when writeMode is inplace', async () => {
      writeFileSync(file, SIDECAR_WITH_DEFAULT);
      const ino = statSync(file).ino;
      await sink({ writeMode: 'inplace' }).commit({ upsert: [plan('a')], remove: [] });
      expect(await sink({ writeMode: 'inplace' }).rollback()).to.equal(true);
      expect(readFileSync(file, 'utf8')).to.equal(SIDECAR_WITH_DEFAULT);
      expect(statSync(file).ino).to.equal(ino);
    });

    it('reports a failed restore as WriteFailed', async () => {
      writeFileSync(file, SIDECAR_WITH_DEFAULT);
      await sink().commit({ upsert: [plan('a')], remove: [] });
      const current = readFileSync(file, 'utf8');
      const s = sink({
        faults: {
          rename: async (from, to) => {
            if (to === file) throw Object.assign(new Error('busy'), { code: 'EBUSY' });
            await fsRename(from, to);
          },
        },
      });
      const err = await rejection(s.rollback());
      expect(err.code).to.equal('WriteFailed');
      expect(readFileSync(file, 'utf8')).to.equal(current);
    });
  });

  describe('rendering only what is needed (issue #13)', () => {
    it('sees an outside edit that keeps the size and the mtime (bytes are compared, not stat)', async () => {
      const s = sink({ format: 'sidecar' });
      writeFileSync(file, SIDECAR_WITH_DEFAULT);
      const mine = { upsert: [plan('a', { sources: ['/a/1'] })], remove: [] };
      expect((await s.commit(mine)).written).to.equal(true);
      const st = statSync(file);
      const theirs = readFileSync(file, 'utf8').replace('/a/1', '/a/2');
      writeFileSync(file, theirs);
      utimesSync(file, st.atime, st.mtime);
      expect(statSync(file).size).to.equal(st.size);
      expect((await s.load()).plans[0]?.sources).to.deep.equal(['/a/2']);
      const again = await s.commit(mine);
      expect(again.changed).to.equal(true);
      expect(again.before).to.equal(theirs);
      expect(readFileSync(file, 'utf8')).to.equal(again.after);
    });

    it('hands out frozen documents and plans: a caller cannot change what the next read reuses', async () => {
      const s = sink({ format: 'sidecar' });
      writeFileSync(file, SIDECAR_WITH_DEFAULT);
      await s.commit({ upsert: [plan('a')], remove: [] });
      const loaded = await s.load();
      expect(() => {
        (loaded.raw as { plans: unknown[] }).plans.push({});
      }).to.throw(TypeError);
      expect(() => {
        loaded.plans[0]!.sources.push('/x');
      }).to.throw(TypeError);
      loaded.plans.pop(); // the array itself is the caller's
      expect((await s.load()).plans.map((p) => p.sources)).to.deep.equal([
        ['/var/lib/docker/volumes/a/_data'],
      ]);
    });

    /** What a commit or preview of `changes` over `text` gives, rendered from scratch. */
    function fromScratch(text: string, format: ConfigFormat, changes: PlanChanges) {
      const doc = text.trim() === '' ? undefined : (JSON.parse(text) as Record<string, unknown>);
      const before = doc ? renderConfig(doc, format) : '';
      const next = applyChanges(
        doc ?? emptyConfig(format, 'test'),
        format,
        changes,
      ) as typeof doc & {};
      let after = renderConfig(next, format);
      const changed = after !== before;
      if (changed && format === 'backrest' && doc) {
        next['modno'] = Number(doc['modno'] ?? 0) + 1;
        after = renderConfig(next, format);
      }
      return {
        changed,
        before,
        after: changed ? after : before,
        diff: changed ? lineDiff(before, after, 'config.json') : '',
      };
    }

    const ids = fc.subarray(['a', 'b', 'c']);
    const variant = fc.constantFrom('1', '2');
    const changesArb = fc.record({
      upsert: fc.uniqueArray(fc.tuple(fc.constantFrom('a', 'b', 'c'), variant), {
        selector: ([id]) => id,
        maxLength: 2,
      }),
      remove: fc.constantFrom([], ['a'], ['c']),
    });
    const op = fc.oneof(
      fc.record({ kind: fc.constantFrom('preview', 'commit'), changes: changesArb }),
      // What a sink that kept its last read or write loads: what a new sink loads.
      fc.record({ kind: fc.constant('load') }),
      // Someone else writes the file: canonical bytes or other ones.
      fc.record({
        kind: fc.constant('edit'),
        ids,
        variant,
        style: fc.constantFrom('canonical', 'compact', 'indented'),
      }),
    );

    for (const format of ['sidecar', 'backrest'] as const) {
      it(`fast-check (${format}): previews, commits and outside edits give what rendering from scratch gives`, async () => {
        const base = format === 'sidecar' ? SIDECAR_WITH_DEFAULT : BACKREST_WITH_DEFAULT;
        await fc.assert(
          fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 6 }), async (ops) => {
            writeFileSync(file, base);
            const s = sink({ format, instance: 'test' });
            for (const o of ops) {
              if (o.kind === 'edit') {
                const upsert = o.ids.map((id) => plan(id, { sources: [`/${id}/${o.variant}`] }));
                const doc = applyChanges(JSON.parse(base), format, { upsert, remove: [] });
                const text =
                  o.style === 'canonical'
                    ? renderConfig(doc, format)
                    : o.style === 'compact'
                      ? JSON.stringify(doc)
                      : JSON.stringify(doc, null, 4);
                writeFileSync(file, text);
                continue;
              }
              if (o.kind === 'load') {
                const fresh = await sink({ format, instance: 'test' }).load();
                expect(await s.load()).to.deep.equal(fresh);
                continue;
              }
              const changes = {
                upsert: o.changes.upsert.map(([id, v]) => plan(id, { sources: [`/${id}/${v}`] })),
                // Never one id both upserted and removed (refused: not what this is about).
                remove: o.changes.remove.filter((id) => o.changes.upsert.every(([u]) => u !== id)),
              };
              const text = readFileSync(file, 'utf8');
              const want = fromScratch(text, format, changes);
              const got = await (o.kind === 'preview' ? s.preview(changes) : s.commit(changes));
              expect({
                changed: got.changed,
                before: got.before,
                after: got.after,
                diff: got.diff,
              }).to.deep.equal(want);
              const written = o.kind === 'commit' && want.changed;
              expect(got.written).to.equal(written);
              expect(readFileSync(file, 'utf8')).to.equal(written ? want.after : text);
            }
          }),
          { numRuns: 40 },
        );
      });
    }
  });
});
