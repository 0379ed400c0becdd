import { expect } from 'chai';
import fc from 'fast-check';
import { writtenSchedule } from '@backrest-sidecar/backrest-model';
import { isObject, type JsonObject } from './json-util.js';
import type { PlanSpec } from './plan-spec.js';
import { isCanonicalBuilt, toSidecarPlan } from './sidecar-plan.js';
import { canonicalize } from './reference/render-config.js';

/** The previous body of toSidecarPlan (the dump hook spread in), kept as the reference. */
function spreadForm(plan: PlanSpec, existing?: unknown): JsonObject {
  const old = isObject(existing) && isObject(existing['retention']) ? existing['retention'] : {};
  const spec =
    plan.retention.defaulted === true && isObject(existing) && typeof old['spec'] === 'string'
      ? old['spec']
      : plan.retention.spec;
  return {
    id: plan.id,
    repo: plan.repo,
    schedule: writtenSchedule(plan.schedule),
    sources: [...plan.sources],
    exclude: [...plan.exclude],
    hooks: {
      pre: [...plan.hooks.pre],
      post: [...plan.hooks.post],
      ...(plan.hooks.dump?.length ? { dump: [...plan.hooks.dump] } : {}),
    },
    retention: { spec },
  };
}

describe('toSidecarPlan', () => {
  it('fast-check: the same document as its spread form, key order included (JSON)', () => {
    const str = fc.string({ maxLength: 8 });
    const list = fc.array(str, { maxLength: 3 });
    const plan: fc.Arbitrary<PlanSpec> = fc.record({
      id: str,
      repo: str,
      schedule: fc.constantFrom('0 2 * * *', '@daily', ' 5 4 * * 1 '),
      sources: list,
      exclude: list,
      hooks: fc.record(
        { pre: list, post: list, dump: fc.array(str, { maxLength: 2 }) },
        { requiredKeys: ['pre', 'post'] },
      ),
      retention: fc.record({ spec: str, defaulted: fc.boolean() }, { requiredKeys: ['spec'] }),
    });
    const existing = fc.option(
      fc.oneof(
        fc.record({ retention: fc.record({ spec: str }) }),
        fc.record({ retention: fc.constant(null) }),
        fc.constant('not a plan'),
      ),
      { nil: undefined },
    );
    fc.assert(
      fc.property(plan, existing, (p, e) => {
        const made = toSidecarPlan(p, e);
        expect(JSON.stringify(made)).to.equal(JSON.stringify(spreadForm(p, e)));
        // Copies: the caller may change its plan later.
        expect(made['sources']).to.not.equal(p.sources);
        expect((made['hooks'] as JsonObject)['pre']).to.not.equal(p.hooks.pre);
        if (p.hooks.dump?.length)
          expect((made['hooks'] as JsonObject)['dump']).to.not.equal(p.hooks.dump);
      }),
      { numRuns: 500 },
    );
  });

  it('fast-check: isCanonicalBuilt is true exactly when the plan is its own canonical form', () => {
    // Few distinct strings (code-point order differs from UTF-16 order at surrogates), and values
    // of the wrong type where a hostile caller could put them.
    const str = fc.constantFrom('', '/a', '/b', '\uFF5E', '\u{1F600}');
    const odd = fc.constantFrom<unknown>(5, null, { b: 1, a: 2 }, ['/a']);
    const field = fc.oneof({ weight: 5, arbitrary: str }, { weight: 1, arbitrary: odd });
    const list = fc.array(field, { maxLength: 3 });
    const plan = fc.record({
      id: field,
      repo: field,
      schedule: fc.constantFrom('0 2 * * *', '@daily'),
      sources: list,
      exclude: list,
      hooks: fc.record(
        { pre: list, post: list, dump: fc.array(str, { maxLength: 2 }) },
        { requiredKeys: ['pre', 'post'] },
      ),
      retention: fc.record({ spec: field }),
    }) as unknown as fc.Arbitrary<PlanSpec>;
    fc.assert(
      fc.property(plan, (p) => {
        const made = toSidecarPlan(p);
        const canonical = JSON.stringify(canonicalize({ plans: [made] }, 'sidecar'));
        const own = JSON.stringify({ plans: [made] });
        const built = isCanonicalBuilt(made);
        if (built) expect(own).to.equal(canonical);
        // Strings where strings go (hooks are kept as they are either way): the converse too.
        const strings = (v: unknown[]) => v.every((x) => typeof x === 'string');
        const typed =
          [p.id, p.repo, p.retention.spec].every((x) => typeof x === 'string') &&
          strings(p.sources) &&
          strings(p.exclude);
        if (typed) expect(built).to.equal(own === canonical);
      }),
      { numRuns: 1000 },
    );
  });
});
