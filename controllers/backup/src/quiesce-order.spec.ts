import { expect } from 'chai';
import fc from 'fast-check';
import type { WorkloadTarget } from '@backrest-sidecar/api';
import { stopOrder } from './quiesce-order.js';

function t(name: string, service: string, dependsOn: string[] = [], project = 'p'): WorkloadTarget {
  return {
    name,
    id: `id-${name}`,
    imageId: '',
    state: 'running',
    labels: {},
    mounts: [],
    compose: { project, service, dependsOn },
  };
}

describe('stopOrder', () => {
  it('stops dependents before their dependencies (app → api → db)', () => {
    const order = stopOrder([
      t('db-1', 'db'),
      t('api-1', 'api', ['db']),
      t('app-1', 'app', ['api', 'db']),
    ]);
    expect(order.map((x) => x.name)).to.deep.equal(['app-1', 'api-1', 'db-1']);
  });

  it('does not link services of different projects', () => {
    const order = stopOrder([
      t('a-db', 'db', [], 'a'),
      t('b-web', 'web', ['db'], 'b'),
      t('a-web', 'web', ['db'], 'a'),
    ]);
    const names = order.map((x) => x.name);
    expect(names.indexOf('a-web')).to.be.lessThan(names.indexOf('a-db'));
    expect(order).to.have.length(3);
  });

  it('breaks a cycle deterministically and still returns every container once', () => {
    const order = stopOrder([t('x', 'x', ['y']), t('y', 'y', ['x']), t('z', 'z')]);
    expect(order.map((o) => o.name).sort()).to.deep.equal(['x', 'y', 'z']);
    expect(
      stopOrder([t('y', 'y', ['x']), t('z', 'z'), t('x', 'x', ['y'])]).map((o) => o.name),
    ).to.deep.equal(order.map((o) => o.name));
  });

  it('property: for any acyclic depends_on graph, every dependent precedes each of its dependencies', () => {
    fc.assert(
      fc.property(
        fc
          .integer({ min: 1, max: 9 })
          .chain((size) =>
            fc.tuple(
              fc.constant(size),
              fc.array(fc.tuple(fc.nat(size - 1), fc.nat(size - 1)), { maxLength: 20 }),
            ),
          ),
        ([size, edges]) => {
          // Only edges from a higher to a lower index: acyclic by construction.
          const deps = new Map<number, Set<number>>();
          for (const [a, b] of edges) if (a > b) deps.set(a, new Set([...(deps.get(a) ?? []), b]));
          const targets = Array.from({ length: size }, (_, i) =>
            t(
              `c${i}`,
              `s${i}`,
              [...(deps.get(i) ?? [])].map((d) => `s${d}`),
            ),
          );
          const pos = new Map(stopOrder([...targets].reverse()).map((x, i) => [x.name, i]));
          for (const [a, bs] of deps)
            for (const b of bs) expect(pos.get(`c${a}`)!).to.be.lessThan(pos.get(`c${b}`)!);
        },
      ),
    );
  });
});
