import { expect } from 'chai';
import fc from 'fast-check';
import type { PlanSpec } from '@backrest-sidecar/config-sink';
import type { PlanEntry } from './plan-report.js';
import type { BuiltPlan } from './plan-builder.js';
import { planEntries, samePlan } from './plan-entries.js';
import type { PlanSet } from './plan-set.js';
import { entriesByKey } from './plan-reporting.js';

/** A Ready entry as planEntries built it with spreads before issue #13: the oracle. */
function referenceReady(b: BuiltPlan, changed: boolean, dryRun: boolean): PlanEntry {
  return {
    planId: b.plan.id,
    container: b.container,
    ...(b.replicas ? { replicas: b.replicas } : {}),
    state: 'Ready',
    reason: changed ? (dryRun ? 'WouldChange' : 'PlanWritten') : 'UpToDate',
    message: changed
      ? `plan ${b.plan.id} rendered from ${b.replicas ? `${b.replicas.length} replicas of ${b.service} (${b.replicas.join(', ')})` : `container ${b.container}`}`
      : 'in sync',
    plan: b.plan,
    changed,
    ...(b.notes ? { notes: b.notes } : {}),
  };
}

function plan(id: string): PlanSpec {
  return {
    id,
    repo: 'default',
    schedule: '0 2 * * *',
    sources: [`/srv/${id}`],
    exclude: [],
    hooks: { pre: [], post: [] },
    retention: { spec: 'daily=7' },
  };
}

const name = fc.constantFrom('db', 'web', 'a-1', 'a-2', '');
const built: fc.Arbitrary<BuiltPlan> = fc
  .record(
    {
      container: name,
      replicas: fc.array(name, { minLength: 2, maxLength: 3 }),
      service: fc.constantFrom('compose service shop/db'),
      id: fc.constantFrom('p1', 'p2', 'p3'),
      notes: fc.array(fc.constantFrom('note a', 'note b'), { minLength: 1, maxLength: 2 }),
    },
    { requiredKeys: ['container', 'id'] },
  )
  .map(({ id, ...rest }) => ({ ...rest, plan: plan(id) }));

describe('planEntries', () => {
  it('Ready entries: the same fields, values and JSON (key order) as the spread-built ones', () => {
    fc.assert(
      fc.property(
        fc.array(built, { maxLength: 6 }),
        fc.subarray(['p1', 'p2', 'p3']),
        fc.boolean(),
        (plans, inConfig, dryRun) => {
          const existing = new Map(inConfig.map((id) => [id, plan(id)]));
          const set = {
            workloads: [],
            built: { plans, skipped: [], ids: new Set<string>() },
            invalid: [],
            ids: new Set<string>(),
          } as PlanSet;
          const orphans = { remove: [], waiting: [], nextInMs: undefined };
          const got = planEntries(set, existing, orphans, { dryRun, daemon: false, remove: [] });
          const want = plans.map((b) =>
            referenceReady(b, !samePlan(existing.get(b.plan.id), b.plan), dryRun),
          );
          expect(JSON.stringify(got)).to.equal(JSON.stringify(want));
          expect(got).to.deep.equal(want);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('entriesByKey: one keyed entry per replica, or per container (the config key for none)', () => {
    fc.assert(
      fc.property(fc.array(built, { maxLength: 6 }), (plans) => {
        const entries = plans.map((b) => referenceReady(b, true, true));
        const want = entries.flatMap((e) =>
          (e.replicas ?? [e.container]).map((container) => ({
            e,
            container,
            key: container ? `BackupWorkload/${container}` : 'BackrestConfig/c.json',
          })),
        );
        expect(entriesByKey(entries, 'BackrestConfig/c.json')).to.deep.equal(want);
      }),
      { numRuns: 200 },
    );
  });
});
