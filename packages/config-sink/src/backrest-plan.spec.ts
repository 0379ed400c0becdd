import { expect } from 'chai';
import fc from 'fast-check';
import {
  fromBackrestPlan,
  hookMarker,
  retentionForSpec,
  specForRetention,
  toBackrestPlan,
} from './backrest-plan.js';
import { KeepSpecError } from '@backrest-sidecar/backrest-model';
import { fromSidecarPlan, toSidecarPlan } from './sidecar-plan.js';
import { plan } from './spec-support.js';

describe('backrest plan mapping', () => {
  describe('retention', () => {
    it('parses a spec once, but every plan gets its own retention object; a bad spec throws each time', () => {
      const one = retentionForSpec('daily=7,weekly=4');
      const two = retentionForSpec('daily=7,weekly=4');
      expect(two).to.deep.equal(one);
      expect(two.retention).to.not.equal(one.retention);
      for (let i = 0; i < 2; i++) expect(() => retentionForSpec('daily=x')).to.throw(KeepSpecError);
    });

    const table: [string, object, string][] = [
      ['last=5', { policyKeepLastN: 5 }, 'last=5'],
      ['daily=7,weekly=4', { policyTimeBucketed: { daily: 7, weekly: 4 } }, 'daily=7,weekly=4'],
      [
        'weekly=4,last=3,hourly=24,yearly=2,monthly=6,daily=7',
        {
          policyTimeBucketed: {
            hourly: 24,
            daily: 7,
            weekly: 4,
            monthly: 6,
            yearly: 2,
            keepLastN: 3,
          },
        },
        'last=3,hourly=24,daily=7,weekly=4,monthly=6,yearly=2',
      ],
      ['within=90d', { policyKeepAll: true }, ''],
      ['within=90d,last=3', { policyKeepAll: true }, ''],
      ['daily=7,within-daily=1y', { policyKeepAll: true }, ''],
    ];
    for (const [spec, policy, reconstructed] of table) {
      it(`"${spec}" → ${JSON.stringify(policy)}`, () => {
        const r = retentionForSpec(spec);
        expect(r.retention).to.deep.equal(policy);
        expect(r.carry).to.equal(spec.includes('within'));
        expect(specForRetention(r.retention)).to.equal(reconstructed);
      });
    }

    it('an empty spec means no retention field', () => {
      expect(retentionForSpec('')).to.deep.equal({ carry: false });
      const p = toBackrestPlan(plan('a', { retention: { spec: '' } })) as Record<string, unknown>;
      expect(p).not.to.have.property('retention');
    });

    it('carries a within spec in an inert CONDITION_UNKNOWN hook and reads it back exactly', () => {
      const spec = 'within=90d,last=3';
      const p = toBackrestPlan(plan('a', { retention: { spec } })) as { hooks: object[] };
      expect(p.hooks).to.deep.equal([
        {
          conditions: ['CONDITION_UNKNOWN'],
          actionCommand: { command: '# backrest-sidecar:keep within=90d,last=3' },
        },
      ]);
      expect(fromBackrestPlan(p).retention.spec).to.equal(spec);
    });

    it('a policy edited in the UI wins over a stale carried spec', () => {
      const p = toBackrestPlan(plan('a', { retention: { spec: 'within=90d' } })) as Record<
        string,
        unknown
      >;
      p['retention'] = { policyKeepLastN: 9 };
      expect(fromBackrestPlan(p).retention.spec).to.equal('last=9');
    });
  });

  describe('hooks', () => {
    it('maps pre/post to SNAPSHOT_START/END with a trailing marker line', () => {
      const p = toBackrestPlan(
        plan('a', { hooks: { pre: ['#!/bin/bash\nstop x'], post: ['start x'] } }),
      ) as {
        hooks: { conditions: string[]; actionCommand: { command: string } }[];
      };
      expect(p.hooks.map((h) => h.conditions[0])).to.deep.equal([
        'CONDITION_SNAPSHOT_START',
        'CONDITION_SNAPSHOT_END',
      ]);
      // A user's shebang stays the first line: Backrest picks the shell from it.
      expect(p.hooks[0]?.actionCommand.command).to.equal(
        '#!/bin/bash\nstop x\n# backrest-sidecar:pre',
      );
      expect(fromBackrestPlan(p).hooks).to.deep.equal({
        pre: ['#!/bin/bash\nstop x'],
        post: ['start x'],
      });
    });

    it("replaces only our hooks on update and keeps the user's in place", () => {
      const userHook = {
        conditions: ['CONDITION_SNAPSHOT_START'],
        actionCommand: { command: 'echo mine' },
      };
      const existing = toBackrestPlan(
        plan('a', { hooks: { pre: ['old'], post: ['old-post'] } }),
      ) as {
        hooks: object[];
      };
      existing.hooks.unshift(userHook);
      const updated = toBackrestPlan(
        plan('a', { hooks: { pre: ['new'], post: [] } }),
        existing,
      ) as {
        hooks: object[];
      };
      expect(updated.hooks).to.have.length(2);
      expect(updated.hooks[0]).to.deep.equal(userHook);
      expect(hookMarker(updated.hooks[1])).to.deep.equal({ kind: 'pre', command: 'new' });
      expect(hookMarker(userHook)).to.equal(undefined);
    });
  });

  it('preserves unmanaged fields and replaces managed ones', () => {
    const existing = {
      id: 'a',
      repo: 'old',
      paths: ['/old'],
      excludes: ['/old/x'],
      iexcludes: ['*.LOG'],
      backup_flags: ['--one-file-system'],
      skipIfUnchanged: true,
      cron: '0 0 * * *',
      schedule: { maxFrequencyDays: 1, clock: 'CLOCK_LAST_RUN_TIME' },
      retention: { policyKeepAll: true },
      future: { x: 1 },
    };
    const out = toBackrestPlan(plan('a', { exclude: [] }), existing);
    expect(out).to.deep.equal({
      id: 'a',
      repo: 'default',
      paths: ['/var/lib/docker/volumes/a/_data'],
      iexcludes: ['*.LOG'],
      backup_flags: ['--one-file-system'],
      skipIfUnchanged: true,
      schedule: { cron: '0 2 * * *', clock: 'CLOCK_LOCAL' },
      retention: { policyTimeBucketed: { daily: 7, weekly: 4 } },
      future: { x: 1 },
    });
    expect(existing.repo).to.equal('old'); // input not mutated
  });

  it('fast-check: PlanSpec → backrest → PlanSpec and → sidecar → PlanSpec are identities (descriptors come back as their five fields)', () => {
    const str = fc.string({ minLength: 1, maxLength: 12 });
    const count = fc.integer({ min: 1, max: 500 });
    const spec = fc.oneof(
      fc.constant(''),
      fc
        .record(
          {
            last: count,
            hourly: count,
            daily: count,
            weekly: count,
            monthly: count,
            yearly: count,
          },
          { requiredKeys: [] },
        )
        .filter((r) => Object.keys(r).length > 0)
        // canonical term order, the order specForRetention reconstructs
        .map((r) =>
          ['last', 'hourly', 'daily', 'weekly', 'monthly', 'yearly']
            .filter((k) => k in r)
            .map((k) => `${k}=${(r as Record<string, number>)[k]}`)
            .join(','),
        ),
      fc
        .tuple(fc.integer({ min: 1, max: 99 }), fc.option(count))
        .map(([d, l]) => `within=${d}d${l ? `,last=${l}` : ''}`),
    );
    const planSpec = fc.record({
      id: str,
      repo: str,
      schedule: fc.constantFrom('0 2 * * *', '@daily', '*/5 * * * 1-5'),
      sources: fc.array(str, { maxLength: 4 }),
      exclude: fc.array(str, { maxLength: 3 }),
      hooks: fc.record({
        pre: fc.array(fc.string(), { maxLength: 3 }),
        post: fc.array(fc.string(), { maxLength: 3 }),
      }),
      retention: fc.record({ spec }),
    });
    fc.assert(
      fc.property(planSpec, (p) => {
        const written = { ...p, schedule: p.schedule === '@daily' ? '0 0 * * *' : p.schedule };
        expect(fromBackrestPlan(toBackrestPlan(p))).to.deep.equal(written);
        expect(fromSidecarPlan(toSidecarPlan(p))).to.deep.equal(written);
      }),
      { numRuns: 300 },
    );
  });
});
