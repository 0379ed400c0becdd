import { expect } from 'chai';
import fc from 'fast-check';
import { writtenSchedule } from '@backrest-sidecar/backrest-model';
import { applyChanges } from './apply-changes.js';
import type { ConfigFormat, PlanSpec } from './plan-spec.js';
import { plan } from './spec-support.js';

describe('applyChanges', () => {
  const id = fc.constantFrom('a', 'b', 'c', 'd');
  const spec = (format: ConfigFormat): fc.Arbitrary<PlanSpec> =>
    fc
      .record({
        id,
        source: fc.constantFrom('/x', '/y'),
        keep: fc.constantFrom('daily=7', 'within=90d', 'last=3'),
        defaulted: fc.boolean(),
        pre: fc.array(fc.constantFrom('echo 1', 'echo {{ 2 }}'), { maxLength: 2 }),
      })
      .map(({ id, source, keep, defaulted, pre }) =>
        plan(id, {
          repo: format === 'backrest' ? 'r' : 'default',
          sources: [source],
          retention: { spec: keep, defaulted },
          hooks: { pre, post: [] },
        }),
      );
  const changes = (format: ConfigFormat) =>
    fc.record({
      upsert: fc.uniqueArray(spec(format), { selector: (p) => p.id, maxLength: 3 }),
      remove: fc.subarray(['c', 'd', 'e']),
    });

  for (const format of ['sidecar', 'backrest'] as const) {
    it(`fast-check (${format}): a shallow copy gives the deep copy's document and leaves raw as it was`, () => {
      fc.assert(
        fc.property(changes(format), changes(format), (first, second) => {
          const filter = (c: { upsert: PlanSpec[]; remove: string[] }) => ({
            upsert: c.upsert,
            remove: c.remove.filter((r) => c.upsert.every((p) => p.id !== r)),
          });
          const empty =
            format === 'backrest'
              ? { modno: 1, version: 6, repos: [{ id: 'r', uri: '/r' }], plans: [] }
              : { repos: [{ id: 'default' }], plans: [] };
          const raw = applyChanges(empty, format, filter(first)) as Record<string, unknown>;
          // A user's field, flags and hook on every plan: kept by an upsert, never changed in raw.
          for (const p of raw['plans'] as Record<string, unknown>[]) {
            p['note'] = { kept: [1] };
            if (format === 'backrest') {
              p['backup_flags'] = ['--one-file-system'];
              const hooks = Array.isArray(p['hooks']) ? p['hooks'] : [];
              p['hooks'] = [
                { conditions: ['CONDITION_SNAPSHOT_END'], actionCommand: { command: 'mine' } },
                ...hooks,
              ];
            }
          }
          const frozen = structuredClone(raw);
          const shallow = applyChanges(raw, format, filter(second), { copy: 'shallow' });
          expect(raw).to.deep.equal(frozen);
          expect(shallow).to.deep.equal(applyChanges(frozen, format, filter(second)));
        }),
        { numRuns: 300 },
      );
    });
  }

  for (const format of ['sidecar', 'backrest'] as const) {
    it(`writes each upsert's schedule as writtenSchedule does alone, however many share one (${format})`, () => {
      // Descriptors translated, spacing normalized, what does not parse kept as written.
      const schedules = ['0 2 * * *', '@daily', ' 0 2 * * * ', 'not a cron', '@daily', '0 2 * * *'];
      const upsert = schedules.map((schedule, i) => plan(`p${i}`, { schedule }));
      const doc = applyChanges(undefined, format, { upsert, remove: [] }) as {
        plans: { schedule: string | { cron: string } }[];
      };
      const written = doc.plans.map((p) =>
        typeof p.schedule === 'string' ? p.schedule : p.schedule.cron,
      );
      expect(written).to.deep.equal(schedules.map((s) => writtenSchedule(s)));
      expect(written).to.deep.equal([
        '0 2 * * *',
        '0 0 * * *',
        '0 2 * * *',
        'not a cron',
        '0 0 * * *',
        '0 2 * * *',
      ]);
    });
  }

  it('upserts new plans after the kept ones, in upsert order, and replaces an existing one in place', () => {
    const raw = { repos: [], plans: [{ id: 'b' }, { id: 'a' }] };
    const doc = applyChanges(raw, 'sidecar', {
      upsert: [plan('z'), plan('a', { repo: 'r2' }), plan('c')],
      remove: [],
    }) as { plans: { id: string; repo?: string }[] };
    expect(doc.plans.map((p) => p.id)).to.deep.equal(['b', 'a', 'z', 'c']);
    expect(doc.plans[1]?.repo).to.equal('r2');
  });

  it('`built`: the sidecar plans it built and put in the document, when canonical as built', () => {
    const raw = { repos: [], plans: [{ id: 'b' }, { id: 'a' }] };
    const built = new Set<object>();
    const doc = applyChanges(
      raw,
      'sidecar',
      {
        upsert: [plan('z'), plan('a', { repo: 'r2' }), plan('c', { sources: ['/y', '/x'] })],
        remove: [],
      },
      { copy: 'shallow', built },
    ) as { plans: object[] };
    // Not `b` (the file's), nor `c` (its sources are out of code-point order).
    expect([...built]).to.have.ordered.members([doc.plans[2], doc.plans[1]]);
    // An upsert that leaves a plan as it is keeps the file's object: not built.
    const again = new Set<object>();
    applyChanges(
      doc,
      'sidecar',
      { upsert: [plan('z')], remove: [] },
      { copy: 'shallow', built: again },
    );
    expect(again.size).to.equal(0);
    // Backrest plans keep unmanaged fields of the file's: never taken as built.
    const backrest = new Set<object>();
    applyChanges(
      { version: 6, repos: [], plans: [] },
      'backrest',
      { upsert: [plan('z')], remove: [] },
      { copy: 'shallow', built: backrest },
    );
    expect(backrest.size).to.equal(0);
  });
});
