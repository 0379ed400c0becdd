import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { decodePlans } from './apply-changes.js';
import { detectFormat } from './detect-format.js';
import { validateConfig } from './validate-config.js';
import { REPO_ROOT } from './spec-support.js';

const repo = { id: 'default', uri: '/srv/restic' };
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

describe('validateConfig', () => {
  describe('backrest (Backrest load rules)', () => {
    it('accepts a valid config and an empty one without version', () => {
      expect(validateConfig(backrest([good]), 'backrest')).to.deep.equal([]);
      expect(validateConfig({}, 'backrest')).to.deep.equal([]);
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
      [
        'version 0 on a non-empty config',
        backrest([good], { version: 0 }),
        /version is 0, expected 6/,
      ],
      ['version 4', backrest([], { version: 4 }), /version is 4, expected 6/],
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
