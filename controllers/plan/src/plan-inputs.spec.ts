import { expect } from 'chai';
import fc from 'fast-check';
import type { Cache, RejectedResource, Resource } from '@dockop/runtime';
import { collectPlanInputs } from './plan-inputs.js';

describe('collectPlanInputs', () => {
  it('selects the workloads (and refusals) whose labels hold every selector pair', () => {
    const label = fc.constantFrom('team', 'env', 'prof.run', 'constructor');
    const value = fc.constantFrom('a', 'b', '');
    const labels = fc.option(fc.dictionary(label, value, { maxKeys: 3 }), { nil: undefined });
    fc.assert(
      fc.property(
        fc.array(labels, { maxLength: 6 }),
        fc.option(fc.dictionary(label, value, { maxKeys: 2 }), { nil: undefined }),
        (all, selector) => {
          const resources = all.map(
            (l, i) =>
              ({
                kind: 'BackupWorkload',
                metadata: { name: `w${i}`, ...(l ? { labels: l } : {}) },
                status: {},
              }) as unknown as Resource,
          );
          const rejected = all.map((l, i) => ({ key: `BackupWorkload/r${i}`, labels: l ?? {} }));
          const cache = {
            list: () => resources,
            rejected: () => rejected as unknown as RejectedResource[],
          } as unknown as Cache;
          // The reference: every pair of the selector, compared as `labels?.[k] !== v` did.
          const wanted = Object.entries(selector ?? {});
          const matches = (l: Record<string, string> | undefined): boolean =>
            wanted.every(([k, v]) => l?.[k] === v);
          const got = collectPlanInputs(cache, selector);
          expect(got.selected).to.deep.equal(resources.filter((r) => matches(r.metadata.labels)));
          expect(got.rejected).to.deep.equal(rejected.filter((r) => matches(r.labels)));
        },
      ),
      { numRuns: 300 },
    );
  });
});
