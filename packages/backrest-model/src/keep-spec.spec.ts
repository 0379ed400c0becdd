import { expect } from 'chai';
import fc from 'fast-check';
import {
  KEEP_KINDS,
  KeepSpecError,
  checkResticDuration,
  keepSpecToResticFlags,
  parseKeepSpec,
  validateKeepSpec,
  type KeepRule,
} from './keep-spec.js';

function errorOf(raw: string): KeepSpecError {
  try {
    parseKeepSpec(raw);
  } catch (err) {
    expect(err).to.be.instanceOf(KeepSpecError);
    return err as KeepSpecError;
  }
  expect.fail(`"${raw}" was accepted`);
}

describe('keep-spec', () => {
  describe('parseKeepSpec', () => {
    it('parses the seed example into canonical-order rules and keeps raw', () => {
      const raw = 'last=7,daily=7,weekly=4,monthly=12,within=90d';
      const spec = parseKeepSpec(raw);
      expect(spec.raw).to.equal(raw);
      expect(spec.rules).to.deep.equal([
        { kind: 'last', count: 7 },
        { kind: 'daily', count: 7 },
        { kind: 'weekly', count: 4 },
        { kind: 'monthly', count: 12 },
        { kind: 'within', duration: '90d' },
      ]);
    });

    it('orders rules canonically whatever the written order', () => {
      expect(parseKeepSpec('within=1y,yearly=3,last=1').rules.map((r) => r.kind)).to.deep.equal([
        'last',
        'yearly',
        'within',
      ]);
    });

    it('accepts every count kind and every within kind', () => {
      const spec = parseKeepSpec(
        'last=1,hourly=2,daily=3,weekly=4,monthly=5,yearly=6,within=1h,within-hourly=2d,within-daily=3m,within-weekly=4y,within-monthly=1y2m3d4h,within-yearly=10y',
      );
      expect(spec.rules.map((r) => r.kind)).to.deep.equal([...KEEP_KINDS]);
    });

    it('maps the seed short forms within-h/d/w/m/y to the long kinds', () => {
      const spec = parseKeepSpec('within-h=1d,within-d=7d,within-w=1m,within-m=1y,within-y=5y');
      expect(spec.rules).to.deep.equal([
        { kind: 'within-hourly', duration: '1d' },
        { kind: 'within-daily', duration: '7d' },
        { kind: 'within-weekly', duration: '1m' },
        { kind: 'within-monthly', duration: '1y' },
        { kind: 'within-yearly', duration: '5y' },
      ]);
    });

    it('tolerates spaces around terms, keys and values, and upper-case keys', () => {
      expect(parseKeepSpec(' Daily = 7 , WEEKLY=4 ').rules).to.deep.equal([
        { kind: 'daily', count: 7 },
        { kind: 'weekly', count: 4 },
      ]);
    });

    it('refuses an empty or blank spec', () => {
      expect(errorOf('').term).to.equal('');
      expect(errorOf('   ').message).to.match(/empty keep spec/);
    });

    it('refuses empty terms (stray commas)', () => {
      expect(errorOf('daily=7,').message).to.match(/empty term/);
      expect(errorOf(',daily=7').message).to.match(/empty term/);
      expect(errorOf('daily=7,,weekly=1').message).to.match(/empty term/);
    });

    it('names the bad term for a term without "="', () => {
      const e = errorOf('daily=7,weekly');
      expect(e.term).to.equal('weekly');
      expect(e.message).to.include('"weekly" is not key=value');
    });

    it('names the bad term and lists known keys for an unknown key', () => {
      const e = errorOf('daily=7,fortnightly=2');
      expect(e.term).to.equal('fortnightly=2');
      expect(e.message).to.include('unknown key "fortnightly"');
      expect(e.message).to.include('within-yearly');
    });

    it('refuses duplicates, also through aliases', () => {
      const e = errorOf('daily=7,weekly=4,daily=3');
      expect(e.term).to.equal('daily=3');
      expect(e.message).to.include('repeats "daily=7"');
      expect(errorOf('within-d=7d,within-daily=3d').message).to.include('repeats "within-d=7d"');
    });

    for (const bad of ['0', '-1', '1.5', 'seven', '', '1e3', '0x10', '7d', '1000001', ' ']) {
      it(`refuses count "${bad}"`, () => {
        const e = errorOf(`daily=${bad}`);
        expect(e.term).to.equal(`daily=${bad}`.trim());
        expect(e.message).to.include('is not a count');
      });
    }

    for (const bad of [
      '1w',
      '2W',
      '90',
      'd',
      '1.5d',
      '1D',
      '1d1y',
      '1d1d',
      '0d',
      '0y0m0d0h',
      '+1d',
      '1s',
      '',
      '1y 2m',
      '2000000d',
    ]) {
      it(`refuses duration "${bad}"`, () => {
        const e = errorOf(`within=${bad}`);
        expect(e.term).to.equal(`within=${bad}`.trim());
        expect(e.message).to.match(/restic duration|zero duration|larger than/);
      });
    }

    it('explains that weeks are not a restic unit', () => {
      expect(errorOf('within=2w').message).to.include('weeks ("w") are not supported');
    });
  });

  describe('checkResticDuration', () => {
    for (const ok of ['1h', '90d', '1y5m7d', '1y2m3d4h', '2m', '01d', '0y1h']) {
      it(`accepts "${ok}"`, () => expect(checkResticDuration(ok)).to.equal(undefined));
    }
  });

  describe('keepSpecToResticFlags', () => {
    it('turns each rule into its restic flag and value', () => {
      expect(
        keepSpecToResticFlags(parseKeepSpec('within-daily=1y,last=7,within=90d,monthly=12')),
      ).to.deep.equal([
        '--keep-last',
        '7',
        '--keep-monthly',
        '12',
        '--keep-within',
        '90d',
        '--keep-within-daily',
        '1y',
      ]);
    });

    it('refuses a hand-built spec without rules (forget would remove everything)', () => {
      expect(() => keepSpecToResticFlags({ raw: 'x', rules: [] })).to.throw(KeepSpecError);
    });
  });

  describe('validateKeepSpec', () => {
    it('returns true for a valid spec and the message for an invalid one', () => {
      expect(validateKeepSpec('daily=7,weekly=4')).to.equal(true);
      expect(validateKeepSpec('daily=x')).to.be.a('string').and.include('daily=x');
    });
  });

  describe('properties', () => {
    const countArb = fc.integer({ min: 1, max: 1_000_000 });
    const durationArb = fc
      .tuple(
        fc.option(fc.integer({ min: 0, max: 99 }), { nil: undefined }),
        fc.option(fc.integer({ min: 0, max: 99 }), { nil: undefined }),
        fc.option(fc.integer({ min: 0, max: 999 }), { nil: undefined }),
        fc.option(fc.integer({ min: 0, max: 999 }), { nil: undefined }),
      )
      .filter((parts) => parts.some((p) => p !== undefined && p > 0))
      .map(([y, m, d, h]) =>
        [
          y === undefined ? '' : `${y}y`,
          m === undefined ? '' : `${m}m`,
          d === undefined ? '' : `${d}d`,
          h === undefined ? '' : `${h}h`,
        ].join(''),
      );
    const ruleArb: fc.Arbitrary<KeepRule> = fc
      .constantFrom(...KEEP_KINDS)
      .chain((kind) =>
        kind.startsWith('within')
          ? durationArb.map((duration) => ({ kind, duration }) as KeepRule)
          : countArb.map((count) => ({ kind, count }) as KeepRule),
      );
    const rulesArb = fc.uniqueArray(ruleArb, { minLength: 1, selector: (r) => r.kind });

    it('any set of valid rules, written in any order, parses back to the same rules and flags', () => {
      fc.assert(
        fc.property(rulesArb, (rules) => {
          const raw = rules
            .map((r) => `${r.kind}=${'count' in r ? r.count : r.duration}`)
            .join(',');
          const spec = parseKeepSpec(raw);
          const canonical = [...rules].sort(
            (a, b) => KEEP_KINDS.indexOf(a.kind) - KEEP_KINDS.indexOf(b.kind),
          );
          expect(spec.rules).to.deep.equal(canonical);
          const flags = keepSpecToResticFlags(spec);
          expect(flags.length).to.equal(2 * rules.length);
          for (let i = 0; i < canonical.length; i++) {
            const r = canonical[i]!;
            expect(flags[2 * i]).to.equal(`--keep-${r.kind}`);
            expect(flags[2 * i + 1]).to.equal('count' in r ? String(r.count) : r.duration);
          }
        }),
      );
    });

    it('any string either parses to at least one rule or fails with a KeepSpecError', () => {
      fc.assert(
        fc.property(
          fc.oneof(
            fc.string(),
            fc
              .array(
                fc.tuple(
                  fc.constantFrom(...KEEP_KINDS, 'within-d', 'bogus', ''),
                  fc.stringMatching(/^[0-9ymdhw.-]{0,6}$/),
                ),
              )
              .map((ts) => ts.map(([k, v]) => `${k}=${v}`).join(',')),
          ),
          (raw) => {
            let spec;
            try {
              spec = parseKeepSpec(raw);
            } catch (err) {
              expect(err).to.be.instanceOf(KeepSpecError);
              expect(validateKeepSpec(raw)).to.equal((err as Error).message);
              return;
            }
            expect(spec.rules.length).to.be.greaterThan(0);
            expect(keepSpecToResticFlags(spec).every((f) => f.length > 0)).to.equal(true);
          },
        ),
      );
    });
  });
});
