import { expect } from 'chai';
import { createHash, createPrivateKey, createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { decodePlans } from './apply-changes.js';
import { detectFormat } from './detect-format.js';
import { validateConfig } from './validate-config.js';
import { REPO_ROOT } from './spec-support.js';

const GUID = '37a8eec1ce19687d132fe29051dca629d164e2c4958ba141d5f4133a33f0688f';
const repo = { id: 'default', uri: '/srv/restic', guid: GUID };
const good = {
  id: 'p',
  repo: 'default',
  paths: ['/data'],
  schedule: { cron: '0 2 * * *', clock: 'CLOCK_LOCAL' },
};
const backrest = (plans: object[], extra: object = {}) => ({
  modno: 1,
  version: 6,
  repos: [repo],
  plans,
  ...extra,
});

/** A real ed25519 identity (generated once with node:crypto, as Backrest's GeneratePrivateKey). */
const IDENTITY = makeIdentity(Buffer.alloc(32, 7));
const OTHER_SEED = Buffer.alloc(32, 9).toString('base64').replace(/=+$/, '');

function makeIdentity(seed: Buffer): { keyId: string; ed25519priv: string; ed25519pub: string } {
  const key = createPrivateKey({
    key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]),
    format: 'der',
    type: 'pkcs8',
  });
  const pub = createPublicKey(key).export({ format: 'der', type: 'spki' }).subarray(-32);
  const raw = (b: Buffer) => b.toString('base64').replace(/=+$/, '');
  return {
    keyId: `ed25519.${createHash('sha256').update(pub).digest('base64url')}`,
    ed25519priv: raw(seed),
    ed25519pub: raw(pub),
  };
}

describe('validateConfig', () => {
  describe('backrest (Backrest load rules)', () => {
    it('accepts a valid config, a newer version, and a plan whose backup_flags supply its paths', () => {
      expect(validateConfig(backrest([good]), 'backrest')).to.deep.equal([]);
      expect(validateConfig(backrest([good], { version: 7 }), 'backrest')).to.deep.equal([]);
      const flagsOnly = { ...good, paths: [], backup_flags: ['--files-from', '/list'] };
      expect(validateConfig(backrest([flagsOnly]), 'backrest')).to.deep.equal([]);
      const { paths: _none, ...noPaths } = flagsOnly;
      expect(validateConfig(backrest([noPaths]), 'backrest')).to.deep.equal([]);
    });

    it('accepts autoInitialize instead of a guid, auth disabled or with users, and a verified identity', () => {
      const auto = { id: 'default', uri: '/r', autoInitialize: true };
      expect(validateConfig({ ...backrest([good]), repos: [auto] }, 'backrest')).to.deep.equal([]);
      const users = { users: [{ name: 'admin', passwordBcrypt: '$2a$10$abc' }] };
      expect(validateConfig(backrest([], { auth: users }), 'backrest')).to.deep.equal([]);
      expect(validateConfig(backrest([], { auth: { disabled: true } }), 'backrest')).to.deep.equal(
        [],
      );
      expect(
        validateConfig(backrest([], { sync: { identity: IDENTITY } }), 'backrest'),
      ).to.deep.equal([]);
    });

    it("accepts GetConfig's network-sanitized identity and password hashes (API mode)", () => {
      const sanitized = backrest([good], {
        sync: { identity: { keyId: IDENTITY.keyId } },
        auth: { users: [{ name: 'admin', passwordBcrypt: '********' }] },
      });
      expect(validateConfig(sanitized, 'backrest', { networkSanitized: true })).to.deep.equal([]);
      expect(validateConfig(sanitized, 'backrest').join()).to.match(/sync.identity: ed25519priv/);
      const noKeyId = backrest([good], { sync: { identity: {} } });
      expect(validateConfig(noKeyId, 'backrest', { networkSanitized: true }).join()).to.match(
        /keyId is required/,
      );
    });

    it('drops repos of a peer that is gone, with their plans, before checking (as Backrest does)', () => {
      const remote = { id: 'remote', uri: '', originInstanceId: 'gone' };
      const plan = { ...good, id: 'q', repo: 'remote', paths: [] };
      expect(
        validateConfig({ ...backrest([good, plan]), repos: [repo, remote] }, 'backrest'),
      ).to.deep.equal([]);
    });

    const cases: [string, unknown, RegExp][] = [
      ['empty plan id', backrest([{ ...good, id: '' }]), /plan #0: id is empty/],
      [
        'reserved id',
        backrest([{ ...good, id: '_system_' }]),
        /plan "_system_": id "_system_" is reserved/,
      ],
      ['duplicate plan ids', backrest([good, good]), /plan "p": duplicate id/],
      [
        'duplicate repo ids',
        { ...backrest([]), repos: [repo, repo] },
        /repo "default": duplicate id/,
      ],
      [
        'missing repo',
        backrest([{ ...good, repo: 'nope' }]),
        /plan "p": repo "nope" not found \(repos: default\)/,
      ],
      ['no paths', backrest([{ ...good, paths: [] }]), /plan "p": no paths/],
      ['empty path', backrest([{ ...good, paths: ['/a', ''] }]), /plan "p": paths\[1\] is empty/],
      [
        'bad cron',
        backrest([{ ...good, schedule: { cron: '0 2 * *' } }]),
        /plan "p": schedule.cron "0 2 \* \*": expected 5 fields/,
      ],
      [
        'two schedules',
        backrest([{ ...good, schedule: { cron: '@daily', maxFrequencyDays: 1 } }]),
        /only one is allowed/,
      ],
      [
        'zero frequency',
        backrest([{ ...good, schedule: { maxFrequencyHours: 0 } }]),
        /maxFrequencyHours must be at least 1/,
      ],
      [
        'empty bucket',
        backrest([{ ...good, retention: { policyTimeBucketed: {} } }]),
        /non-empty bucket/,
      ],
      ['retention without policy', backrest([{ ...good, retention: {} }]), /must specify a policy/],
      ['version 0 on a non-empty config', backrest([good], { version: 0 }), /version is 0/],
      ['an empty config without version', {}, /version is 0: Backrest refuses it/],
      ['version 1', backrest([], { version: 1 }), /too old/],
      ['version 4', backrest([], { version: 4 }), /version is 4, expected 6/],
      [
        'a repo without guid or autoInitialize',
        { ...backrest([]), repos: [{ id: 'default', uri: '/r' }] },
        /repo "default": guid is required unless autoInitialize is true/,
      ],
      [
        'a 32-character guid',
        { ...backrest([]), repos: [{ ...repo, guid: GUID.slice(0, 32) }] },
        /repo "default": guid "[0-9a-f]{32}" must be 64 characters .*got 32/,
      ],
      [
        'guid and autoInitialize',
        { ...backrest([]), repos: [{ ...repo, autoInitialize: true }] },
        /repo "default": guid and autoInitialize are both set/,
      ],
      [
        'a bad prune schedule',
        { ...backrest([]), repos: [{ ...repo, prunePolicy: { schedule: { cron: '@daily' } } }] },
        /repo "default": prunePolicy.schedule.cron "@daily": expected 5 fields/,
      ],
      [
        'a bad check schedule',
        {
          ...backrest([]),
          repos: [{ ...repo, checkPolicy: { schedule: { maxFrequencyDays: 0 } } }],
        },
        /repo "default": checkPolicy.schedule.maxFrequencyDays must be at least 1/,
      ],
      [
        'an active forget policy without retention',
        {
          ...backrest([]),
          repos: [{ ...repo, forgetPolicy: { schedule: { cron: '0 3 * * *' } } }],
        },
        /repo "default": forgetPolicy needs a retention while its schedule is active/,
      ],
      [
        'a forget policy with an empty bucket',
        {
          ...backrest([]),
          repos: [
            {
              ...repo,
              forgetPolicy: {
                schedule: { maxFrequencyDays: 7 },
                retention: { policyTimeBucketed: {} },
              },
            },
          ],
        },
        /repo "default": forgetPolicy.retention.policyTimeBucketed must specify a non-empty bucket/,
      ],
      [
        'a forget schedule with */0 (hangs Backrest)',
        {
          ...backrest([]),
          repos: [{ ...repo, forgetPolicy: { schedule: { cron: '*/0 * * * *' } } }],
        },
        /forgetPolicy.schedule.cron "\*\/0 \* \* \* \*": .*loop forever/,
      ],
      ['auth enabled without users', backrest([], { auth: {} }), /auth: enabled .* no users/],
      [
        'a user without a password hash',
        backrest([], { auth: { users: [{ name: 'admin' }] } }),
        /auth: users\[0\] \("admin"\): passwordBcrypt is required/,
      ],
      [
        'a user without a name',
        backrest([], { auth: { users: [{ passwordBcrypt: 'x' }] } }),
        /auth: users\[0\] name: id is empty/,
      ],
      [
        'an identity whose key id does not match',
        backrest([], { sync: { identity: { ...IDENTITY, keyId: 'ed25519.AAAA' } } }),
        /sync.identity: keyId does not match ed25519pub/,
      ],
      [
        'an identity whose private key does not match',
        backrest([], { sync: { identity: { ...IDENTITY, ed25519priv: OTHER_SEED } } }),
        /sync.identity: ed25519priv does not match ed25519pub/,
      ],
      [
        'an identity without key id',
        backrest([], { sync: { identity: { ed25519priv: 'x' } } }),
        /sync.identity: keyId is required/,
      ],
      [
        'a known host without URL',
        backrest([], {
          sync: { knownHosts: [{ instanceId: 'peer', keyId: 'ed25519.k' }] },
        }),
        /sync.knownHosts\[0\] \("peer"\): instanceUrl is required/,
      ],
      [
        'a bad permission scope',
        backrest([], {
          sync: {
            authorizedClients: [
              { instanceId: 'peer', keyId: 'k', permissions: [{ type: 1, scopes: ['repos:x'] }] },
            ],
          },
        }),
        /permission scope "repos:x" is invalid/,
      ],
      [
        'repo without uri',
        { ...backrest([]), repos: [{ id: 'default' }] },
        /repo "default": uri is required/,
      ],
      [
        'bad env',
        { ...backrest([]), repos: [{ ...repo, env: ['NOEQUALS'] }] },
        /env\[0\] is not KEY=VALUE/,
      ],
      [
        'schema: paths not strings',
        backrest([{ ...good, paths: [1] }]),
        /schema: \/plans\/0\/paths\/0 must be string/,
      ],
      [
        'schema: unknown hook condition',
        backrest([{ ...good, hooks: [{ conditions: ['CONDITION_NOPE'] }] }]),
        /schema: \/plans\/0\/hooks\/0\/conditions\/0/,
      ],
    ];
    for (const [name, doc, why] of cases) {
      it(`refuses ${name}`, () => {
        const problems = validateConfig(doc, 'backrest');
        expect(problems.join('\n')).to.match(why);
      });
    }

    it('never echoes a repo env value', () => {
      const doc = { ...backrest([]), repos: [{ ...repo, env: ['SECRET-hunter2'] }] };
      expect(validateConfig(doc, 'backrest').join()).not.to.include('hunter2');
    });
  });

  describe('sidecar (the seed reader)', () => {
    const p = { id: 'p', repo: 'default', schedule: '0 2 * * *', sources: ['/data'] };
    const doc = (plans: object[]) => ({ repos: [{ id: 'default', url: '/r' }], plans });
    it('accepts the minimal plan (omitempty fields absent)', () => {
      expect(validateConfig(doc([p]), 'sidecar')).to.deep.equal([]);
    });
    const cases: [string, unknown, RegExp][] = [
      ['missing repo', doc([{ ...p, repo: 'x' }]), /plan "p": repo "x" not found/],
      ['no sources', doc([{ ...p, sources: [] }]), /plan "p": no sources/],
      ['bad cron', doc([{ ...p, schedule: '* * *' }]), /plan "p": schedule "\* \* \*"/],
      [
        'bad keep spec',
        doc([{ ...p, retention: { spec: 'daily=0' } }]),
        /plan "p": retention.spec "daily=0"/,
      ],
      ['duplicate ids', doc([p, p]), /duplicate id/],
      [
        'schema: missing schedule',
        doc([{ id: 'p', repo: 'default', sources: ['/d'] }]),
        /must have required property 'schedule'/,
      ],
    ];
    for (const [name, d, why] of cases) {
      it(`refuses ${name}`, () => expect(validateConfig(d, 'sidecar').join('\n')).to.match(why));
    }
    it('names each problem by its plan, in plan order (one without an id by its index)', () => {
      const plans = [
        { ...p, id: 'a', repo: 'x', sources: ['/d', ''] },
        { ...p, id: 'b' },
        { ...p, id: '', schedule: '* * *', retention: { spec: 'daily=0' } },
      ];
      expect(validateConfig(doc(plans), 'sidecar')).to.deep.equal([
        'plan #2: id is empty',
        'plan "a": repo "x" not found (repos: default)',
        'plan "a": sources[1] is empty',
        'plan #2: schedule "* * *": expected 5 fields (minute hour day-of-month month day-of-week), got 3',
        'plan #2: retention.spec "daily=0": term "daily=0": "0" is not a count (a whole number from 1 to 1000000)',
      ]);
    });
  });

  describe('testdata examples', () => {
    const read = (n: string) =>
      JSON.parse(readFileSync(path.join(REPO_ROOT, 'testdata', n), 'utf8'));
    it('both examples are valid, detected, and describe the same sidecar plan', () => {
      const s = read('example-sidecar.config.json');
      const b = read('example-backrest.config.json');
      expect(detectFormat(s)).to.equal('sidecar');
      expect(detectFormat(b)).to.equal('backrest');
      expect(validateConfig(s, 'sidecar')).to.deep.equal([]);
      expect(validateConfig(b, 'backrest')).to.deep.equal([]);
      const ours = decodePlans(b, 'backrest').filter((x) => x.id.startsWith('backrest_sidecar_'));
      expect(ours).to.deep.equal(decodePlans(s, 'sidecar'));
    });
  });
});

describe('detectFormat', () => {
  const cases: [unknown, string | undefined][] = [
    [undefined, undefined],
    [{}, undefined],
    [{ repos: [], plans: [] }, undefined],
    [{ version: 6 }, 'backrest'],
    [{ modno: 0 }, 'backrest'],
    [{ plans: [{ id: 'a', paths: [] }] }, 'backrest'],
    [{ plans: [{ id: 'a', sources: [] }] }, 'sidecar'],
    [{ repos: [{ id: 'a', uri: 'x' }] }, 'backrest'],
    [{ repos: [{ id: 'a', url: 'x' }] }, 'sidecar'],
  ];
  for (const [doc, want] of cases) {
    it(`${JSON.stringify(doc)} → ${want}`, () => expect(detectFormat(doc)).to.equal(want));
  }
});
