import { expect } from 'chai';
import fc from 'fast-check';
import { createHash, createPrivateKey, createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { applyChanges } from './apply-changes.js';
import { assertBackrestLoads, backrestLoads } from './backrest-oracle.js';
import { checkCron } from '@backrest-sidecar/backrest-model';
import type { PlanSpec } from './plan-spec.js';
import { validateConfig, validatePlanSpecs } from './validate-config.js';
import { FIXTURES, GOLDEN, REPO_ROOT } from './spec-support.js';

const GUID = createHash('sha256').update('default').digest('hex');

function identity(seedByte: number): Record<string, string> {
  const seed = Buffer.alloc(32, seedByte);
  const key = createPrivateKey({
    key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]),
    format: 'der',
    type: 'pkcs8',
  });
  const pub = createPublicKey(key).export({ format: 'der', type: 'spki' }).subarray(-32);
  const raw = (x: Buffer) => x.toString('base64').replace(/=+$/, '');
  return {
    keyId: `ed25519.${createHash('sha256').update(pub).digest('base64url')}`,
    ed25519priv: raw(seed),
    ed25519pub: raw(pub),
  };
}

const repo = { id: 'default', uri: '/srv/restic', guid: GUID };
const plan = { id: 'p', repo: 'default', paths: ['/data'], schedule: { cron: '0 2 * * *' } };
const config = (over: object = {}) => ({
  version: 6,
  instance: 'host',
  repos: [repo],
  plans: [plan],
  ...over,
});
const loads = (doc: unknown) => backrestLoads(doc).loads;

describe('Backrest oracle (its load rules, from the Go source)', () => {
  describe('testdata/ and the package fixtures', () => {
    it('the shipped Backrest example loads; with its old 32-character guid it would not', () => {
      const file = path.join(REPO_ROOT, 'testdata', 'example-backrest.config.json');
      const bytes = readFileSync(file, 'utf8');
      assertBackrestLoads(bytes, file);
      const doc = JSON.parse(bytes);
      doc.repos[0].guid = doc.repos[0].guid.slice(0, 32);
      expect(backrestLoads(doc).errors.join()).to.match(/guid .* must be 64 characters/);
    });

    it('the golden Backrest files and the base fixture load', () => {
      for (const f of [
        'backrest-create-plans',
        'backrest-update',
        'backrest-remove',
        'backrest-preserve',
        'backrest-sort',
      ]) {
        const file = path.join(GOLDEN, `${f}.json`);
        assertBackrestLoads(readFileSync(file, 'utf8'), file);
      }
      assertBackrestLoads(
        readFileSync(path.join(FIXTURES, 'backrest-base.json'), 'utf8'),
        'backrest-base.json',
      );
    });
  });

  describe('rules (each: one config that loads, one that does not)', () => {
    const table: [string, object, object, RegExp][] = [
      [
        'version (migrations.go:23-43; config.go:37)',
        config({ version: 7 }),
        config({ version: 0 }),
        /version 0/,
      ],
      ['version 1 is too old', config({ version: 2 }), config({ version: 1 }), /too old/],
      [
        'migration 004 fills a missing guid for version <= 3 (004repoguid.go)',
        config({ version: 3, repos: [{ id: 'default', uri: '/r' }] }),
        config({ version: 4, repos: [{ id: 'default', uri: '/r' }] }),
        /guid is required/,
      ],
      [
        'guid 64 characters (validate.go:93)',
        config(),
        config({ repos: [{ ...repo, guid: GUID.slice(0, 32) }] }),
        /64/,
      ],
      [
        'guid or autoInitialize, not both (validate.go:88-98)',
        config({ repos: [{ id: 'default', uri: '/r', autoInitialize: true }] }),
        config({ repos: [{ ...repo, auto_initialize: true }] }),
        /auto_initialize set with guid/,
      ],
      [
        'uri (validate.go:100)',
        config(),
        config({ repos: [{ ...repo, uri: '' }] }),
        /uri is required/,
      ],
      [
        'env KEY=VALUE (validate.go:133)',
        config({ repos: [{ ...repo, env: ['A=1'] }] }),
        config({ repos: [{ ...repo, env: ['A'] }] }),
        /KEY=VALUE/,
      ],
      [
        'prune schedule (validate.go:104)',
        config({ repos: [{ ...repo, prunePolicy: { schedule: { maxFrequencyDays: 30 } } }] }),
        config({ repos: [{ ...repo, prunePolicy: { schedule: { cron: '@daily' } } }] }),
        /prune_policy schedule/,
      ],
      [
        'an active forget policy needs a retention (validate.go:116-131)',
        config({ repos: [{ ...repo, forgetPolicy: { schedule: { disabled: true } } }] }),
        config({ repos: [{ ...repo, forgetPolicy: { schedule: { maxFrequencyDays: 1 } } }] }),
        /must specify a retention/,
      ],
      [
        'a plan may take its paths from backup_flags (validate.go:156)',
        config({ plans: [{ ...plan, paths: [], backup_flags: ['--files-from=/l'] }] }),
        config({ plans: [{ ...plan, paths: [] }] }),
        /at least one path/,
      ],
      [
        'plan repo exists (validate.go:169)',
        config(),
        config({ plans: [{ ...plan, repo: 'x' }] }),
        /not found/,
      ],
      [
        'duplicate plan ids (validate.go:58)',
        config(),
        config({ plans: [plan, plan] }),
        /duplicate/,
      ],
      [
        'reserved ids (validationutil.go:30)',
        config(),
        config({ plans: [{ ...plan, id: '_x_' }] }),
        /reserved/,
      ],
      [
        'cron: dom AND dow, fires within five years (schedule.go:123)',
        config({ plans: [{ ...plan, schedule: { cron: '0 0 13 * 5' } }] }),
        config({ plans: [{ ...plan, schedule: { cron: '0 0 * * 7' } }] }),
        /next scheduled time is invalid/,
      ],
      [
        'cron: 5-7 and 0,61 load, */0 hangs',
        config({ plans: [{ ...plan, schedule: { cron: '0,61 3 * * 5-7' } }] }),
        config({ plans: [{ ...plan, schedule: { cron: '*/0 * * * *' } }] }),
        /hangs/,
      ],
      [
        'cron: exactly five fields (parser.go:249)',
        config({ plans: [{ ...plan, schedule: { cron: '0\t2 * * *' } }] }),
        config({ plans: [{ ...plan, schedule: { cron: '0 0 2 * * *' } }] }),
        /five/,
      ],
      [
        'one schedule oneof member (protojson)',
        config({ plans: [{ ...plan, schedule: { maxFrequencyHours: 1, clock: 'CLOCK_UTC' } }] }),
        config({ plans: [{ ...plan, schedule: { cron: '0 2 * * *', maxFrequencyDays: 1 } }] }),
        /oneof/,
      ],
      [
        'retention (conversion.go:113)',
        config({ plans: [{ ...plan, retention: { policyKeepLastN: 0 } }] }),
        config({ plans: [{ ...plan, retention: { policyTimeBucketed: { daily: 0 } } }] }),
        /non-empty bucket/,
      ],
      [
        'auth users (validate.go:184-203)',
        config({ auth: { users: [{ name: 'admin', passwordBcrypt: 'x' }] } }),
        config({ auth: { users: [{ name: 'admin' }] } }),
        /password is required/,
      ],
      [
        'auth enabled needs users',
        config({ auth: { disabled: true } }),
        config({ auth: {} }),
        /no users/,
      ],
      [
        'sync identity verified (identity.go:64-92)',
        config({ sync: { identity: identity(1) } }),
        config({ sync: { identity: { ...identity(1), ed25519priv: identity(2)['ed25519priv'] } } }),
        /private key does not match/,
      ],
      [
        'sync identity read by its proto name too (keyid)',
        config({
          multihost: {
            identity: { ...identity(3), keyId: undefined, keyid: identity(3)['keyId'] },
          },
        }),
        config({ sync: { identity: { keyId: 'ed25519.x' } } }),
        /decode|size/,
      ],
      [
        'known hosts need a URL (validate.go:277)',
        config({
          sync: { knownHosts: [{ instanceId: 'peer', keyId: 'k', instanceUrl: 'http://p' }] },
        }),
        config({ sync: { knownHosts: [{ instanceId: 'peer', keyId: 'k' }] } }),
        /instance URL/,
      ],
      [
        'repos of a gone peer are dropped with their plans (validate.go:293-329)',
        config({
          repos: [repo, { id: 'r2', originInstanceId: 'gone' }],
          plans: [plan, { id: 'q', repo: 'r2' }],
        }),
        config({ repos: [repo, { id: 'r2' }], plans: [plan] }),
        /guid is required/,
      ],
      ['types (protojson)', config({ modno: '7' }), config({ version: '6x' }), /unmarshal/],
    ];
    for (const [rule, ok, bad, why] of table) {
      it(rule, () => {
        expect(backrestLoads(ok).errors).to.deep.equal([]);
        const verdict = backrestLoads(bad);
        expect(verdict.loads).to.equal(false);
        expect(verdict.errors.join('\n')).to.match(why);
      });
    }

    it('migration 005 refuses a repo password while RESTIC_PASSWORD is in the environment', () => {
      const doc = config({ version: 4, repos: [{ ...repo, password: 'x' }] });
      expect(loads(doc)).to.equal(true);
      expect(backrestLoads(doc, { env: { RESTIC_PASSWORD: 'y' } }).loads).to.equal(false);
    });

    it('the five-year rule depends on "now", as in Backrest', () => {
      const doc = config({ plans: [{ ...plan, schedule: { cron: '0 0 29 2 0' } }] }); // Sunday Feb 29: 2032
      expect(backrestLoads(doc, { now: new Date('2026-01-15T00:00:00Z') }).loads).to.equal(false);
      expect(backrestLoads(doc, { now: new Date('2027-01-15T00:00:00Z') }).loads).to.equal(true);
    });
  });

  describe('our validator against the oracle', () => {
    const cronArb = fc.oneof(
      fc.constantFrom(
        '0 2 * * *',
        '0 0 13 * 5',
        '0 12 * * 5-7',
        '0 0 * * 7',
        '0,61 3 * * *',
        '61 * * * *',
        '*/0 * * * *',
        '*/-1 * * * *',
        '+5 * * * *',
        '5-1,0 * * * *',
        '0 0 1 * ?',
        '0 3 L * *',
        '@daily',
        '0 0 2 * * *',
        '0 0 30 2 *',
        '0 0 29 2 *',
        '0 0 * JAN,jul mon',
        '',
        '0 24 * * *',
      ),
      fc
        .tuple(
          ...[59, 24, 31, 12, 7].map((max) =>
            fc.oneof(
              fc.constant('*'),
              fc.integer({ min: 0, max: max + 3 }).map(String),
              fc
                .tuple(fc.integer({ min: 0, max }), fc.integer({ min: 0, max }))
                .map(([a, z]) => `${a}-${z}`),
              fc.integer({ min: 0, max: 8 }).map((st) => `*/${st}`),
            ),
          ),
        )
        .map((fields) => fields.join(' ')),
    );
    /** Usually `valid` (or absent), sometimes anything: both verdicts stay frequent. */
    const mostly = <T>(valid: fc.Arbitrary<T>, any: fc.Arbitrary<T>): fc.Arbitrary<T> =>
      fc.oneof({ arbitrary: valid, weight: 6 }, { arbitrary: any, weight: 1 });
    const scheduleArb = mostly(
      fc.constantFrom<object>(
        { cron: '0 2 * * *' },
        { maxFrequencyHours: 6 },
        { cron: '0 12 * * 5-7' },
      ),
      fc.oneof(
        cronArb.map((cron) => ({ cron })),
        fc.integer({ min: 0, max: 2 }).map((d) => ({ maxFrequencyDays: d })),
        fc.boolean().map((disabled) => ({ disabled })),
        cronArb.map((cron) => ({ cron, maxFrequencyHours: 1 })),
      ),
    );
    const retentionArb = mostly(
      fc.constantFrom<object>(
        { policyKeepAll: true },
        { policyKeepLastN: 3 },
        { policyTimeBucketed: { daily: 7 } },
      ),
      fc.oneof(
        fc.constant({}),
        fc.integer({ min: 0, max: 3 }).map((x) => ({ policyKeepLastN: x })),
        fc.integer({ min: 0, max: 2 }).map((x) => ({ policyTimeBucketed: { daily: x } })),
      ),
    );
    const maybe = <T>(a: fc.Arbitrary<T>) => mostly(fc.constant(undefined), a);
    const repoArb = (id: string) =>
      fc
        .record({
          guid: mostly(fc.constant(GUID), fc.constantFrom(GUID.slice(0, 32), '')),
          uri: mostly(fc.constant('/r'), fc.constant('')),
          env: mostly<string[]>(
            fc.constant(['A=1']),
            fc.array(fc.constantFrom('A=1', 'C=3=4', 'B'), { maxLength: 2 }),
          ),
          prunePolicy: maybe(scheduleArb.map((schedule) => ({ schedule }))),
          forgetPolicy: maybe(
            fc.record({ schedule: scheduleArb, retention: retentionArb }, { requiredKeys: [] }),
          ),
          autoInitialize: maybe(fc.boolean()),
        })
        .map((r) => JSON.parse(JSON.stringify({ id, ...r })) as object);
    const planArb = fc
      .record({
        id: mostly(fc.constantFrom('a', 'b', 'c', 'd', 'e'), fc.constantFrom('_c_', '', 'a')),
        repo: mostly(fc.constant('default'), fc.constantFrom('other', 'missing', '')),
        paths: mostly<string[]>(
          fc.constant(['/a']),
          fc.array(fc.constantFrom('/a', '/b', ''), { maxLength: 2 }),
        ),
        backup_flags: maybe(fc.constant(['--files-from=/l'])),
        schedule: maybe(scheduleArb),
        retention: maybe(retentionArb),
      })
      .map((p) => JSON.parse(JSON.stringify(p)) as object);
    const docArb = fc.record(
      {
        version: mostly(fc.constantFrom(6, 7), fc.constantFrom(0, 1)),
        instance: mostly(fc.constantFrom('host', ''), fc.constantFrom('_x_', 'x'.repeat(51))),
        repos: fc
          .tuple(repoArb('default'), fc.option(repoArb('other')))
          .map(([a, o]) => (o ? [a, o] : [a])),
        plans: fc.array(planArb, { maxLength: 2 }),
        auth: fc.constantFrom(
          undefined,
          undefined,
          { disabled: true },
          {},
          { users: [{ name: 'admin', passwordBcrypt: 'h' }] },
          { users: [{ name: 'admin' }] },
        ),
        sync: fc.constantFrom(
          undefined,
          { identity: identity(4) },
          { identity: { ...identity(4), keyId: 'ed25519.no' } },
        ),
      },
      { requiredKeys: ['version', 'repos', 'plans'] },
    );

    it('fast-check: validateConfig accepts a Backrest document ⇔ the oracle loads it', () => {
      let loaded = 0;
      fc.assert(
        fc.property(docArb, (raw) => {
          const doc = JSON.parse(JSON.stringify(raw));
          const ours = validateConfig(doc, 'backrest');
          const verdict = backrestLoads(doc);
          if (verdict.loads) loaded++;
          expect(
            ours.length === 0,
            `ours: ${ours.join('; ')}\noracle: ${verdict.errors.join('; ')}`,
          ).to.equal(verdict.loads);
        }),
        { numRuns: 400 },
      );
      // Both outcomes are exercised (a generator that only makes broken configs proves nothing).
      expect(loaded).to.be.within(20, 380);
    });

    it('fast-check: for random plan specs, validatePlanSpecs + validateConfig accept ⇔ the oracle loads, except crons we refuse on purpose', () => {
      const specArb: fc.Arbitrary<PlanSpec> = fc.record({
        id: fc.constantFrom('backrest_sidecar_a', 'backrest_sidecar_b', '_x_'),
        repo: fc.constantFrom('default', 'offsite'),
        schedule: cronArb,
        sources: fc.array(fc.constantFrom('/v/a', '/v/b'), { minLength: 1, maxLength: 2 }),
        exclude: fc.array(fc.constantFrom('/v/a/tmp', '!/v/a/tmp/keep'), { maxLength: 2 }),
        hooks: fc.record({ pre: fc.constant([]), post: fc.constant([]) }),
        retention: fc.record({ spec: fc.constantFrom('daily=7', 'last=3', 'within=30d', '') }),
      });
      const base = {
        modno: 1,
        version: 6,
        instance: 'host',
        repos: [
          { id: 'default', uri: '/r', guid: GUID },
          { id: 'offsite', uri: 'sftp:x:/r', autoInitialize: true },
        ],
        plans: [],
      };
      fc.assert(
        fc.property(fc.uniqueArray(specArb, { selector: (p) => p.id, maxLength: 3 }), (specs) => {
          const doc = applyChanges(base, 'backrest', { upsert: specs, remove: [] });
          const strict = validatePlanSpecs(specs);
          const ours = [...strict, ...validateConfig(doc, 'backrest')];
          const verdict = backrestLoads(doc);
          if (ours.length === 0) {
            expect(verdict.errors, 'we accept, Backrest must load').to.deep.equal([]);
          } else if (verdict.loads) {
            // Stricter on purpose, and only there: a schedule Backrest reads but our dialect refuses.
            expect(validateConfig(doc, 'backrest')).to.deep.equal([]);
            for (const p of specs) {
              if (checkCron(p.schedule) !== undefined)
                expect(checkCron(p.schedule, 'backrest')).to.equal(undefined);
            }
            expect(specs.some((p) => checkCron(p.schedule) !== undefined)).to.equal(true);
          }
        }),
        { numRuns: 300 },
      );
    });
  });
});
