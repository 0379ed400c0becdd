import { expect } from 'chai';
import fc from 'fast-check';
import {
  checkPlanIdPrefix,
  identityProblem,
  planIdFor,
  planIdentity,
  sanitizePlanId,
  serviceIdentityOf,
  workloadPath,
} from './plan-id.js';

describe('planIdFor', () => {
  const compose = { name: 'stack-db-1', compose: { project: 'stack', service: 'db' } };

  it('uses <project>_<service> for compose containers, with the default prefix', () => {
    expect(planIdFor(compose)).to.equal('backrest_sidecar_stack_db');
  });

  it('keeps two stacks with the same service name apart', () => {
    const other = { name: 'other-db-1', compose: { project: 'other', service: 'db' } };
    expect(planIdFor(other)).to.not.equal(planIdFor(compose));
  });

  it('falls back to the container name (leading slash stripped) without compose labels', () => {
    expect(planIdFor({ name: '/lonely' })).to.equal('backrest_sidecar_lonely');
  });

  it('uses the service when a compose project label is missing', () => {
    expect(planIdFor({ name: 'x', compose: { service: 'web' } })).to.equal('backrest_sidecar_web');
  });

  it('sanitises everything outside [A-Za-z0-9_.-] but not the prefix', () => {
    expect(
      planIdFor({ name: 'x', compose: { project: 'my proj', service: 'wéb/1' } }, { prefix: 'p-' }),
    ).to.equal('p-my_proj_w_b_1');
  });

  it('refuses an empty prefix (it would own every plan) and a prefix with forbidden characters', () => {
    expect(() => planIdFor(compose, { prefix: '' })).to.throw(/prefix is empty/);
    expect(() => checkPlanIdPrefix('')).to.throw(/hand-made/);
    expect(() => planIdFor(compose, { prefix: 'bad prefix/' })).to.throw(/bad prefix\//);
    expect(() => checkPlanIdPrefix('ok_.-')).not.to.throw();
  });

  it('sanitizePlanId is idempotent', () => {
    const once = sanitizePlanId('a b$c/../d');
    expect(once).to.equal('a_b_c_.._d');
    expect(sanitizePlanId(once)).to.equal(once);
  });
});

describe('Swarm tasks (serviceIdentityOf)', () => {
  const task = (slot: number, stack?: string) => ({
    name: `shop_db.${slot}.${'q1w2e3r4t5y6u7i8o9p0'.slice(slot)}`,
    swarm: { service: 'shop_db', ...(stack ? { stack } : {}) },
  });

  it('takes the id from stack + service name, not from the task container name', () => {
    expect(planIdFor(task(1, 'shop'))).to.equal('backrest_sidecar_shop_db');
    expect(planIdFor(task(2, 'shop'))).to.equal('backrest_sidecar_shop_db');
    // `docker stack deploy` and `docker compose up` of the same file: the same plan id.
    expect(planIdFor(task(1, 'shop'))).to.equal(
      planIdFor({ name: 'shop-db-1', compose: { project: 'shop', service: 'db' } }),
    );
  });

  it('uses the service name alone for a service outside a stack (or not prefixed by it)', () => {
    expect(planIdFor(task(1))).to.equal('backrest_sidecar_shop_db');
    expect(planIdFor({ name: 'x.1.abc', swarm: { service: 'web', stack: 'shop' } })).to.equal(
      'backrest_sidecar_shop_web',
    );
    expect(
      serviceIdentityOf({ name: 'x.1.abc', swarm: { service: 'shop_', stack: 'shop' } }),
    ).to.include({ project: 'shop', service: 'shop_' });
    expect(serviceIdentityOf({ name: 'lone' })).to.equal(undefined);
  });

  it('gives rcb paths and refusals from the Swarm labels', () => {
    expect(workloadPath(task(1, 'shop'), true)).to.equal('/volumes/shop/db');
    expect(workloadPath(task(1, 'shop'), false)).to.equal('/volumes/db');
    expect(identityProblem({ name: 't.1.x', swarm: { service: '..', stack: 'shop' } })).to.include(
      'label com.docker.swarm.service.name=".."',
    );
    expect(identityProblem({ name: 't.1.x', swarm: { service: 'a_b', stack: 'a b' } })).to.include(
      'label com.docker.stack.namespace="a b"',
    );
  });

  it('prefers compose labels when a container carries both', () => {
    expect(
      planIdFor({
        name: 'c',
        compose: { project: 'p', service: 's' },
        swarm: { service: 'x_y', stack: 'x' },
      }),
    ).to.equal('backrest_sidecar_p_s');
  });
});

describe('workloadPath', () => {
  it('is /volumes/<service> by default and /volumes/<project>/<service> with the project', () => {
    const s = { name: 'stack-db-1', compose: { project: 'stack', service: 'db' } };
    expect(workloadPath(s, false)).to.equal('/volumes/db');
    expect(workloadPath(s, true)).to.equal('/volumes/stack/db');
  });

  it('falls back to the container name when there is no compose service', () => {
    expect(workloadPath({ name: '/solo' }, true)).to.equal('/volumes/solo');
  });
});

describe('identityProblem (compose names that become paths and plan ids)', () => {
  for (const [label, compose] of [
    ['com.docker.compose.service', { project: 'p', service: '../usr' }],
    ['com.docker.compose.service', { project: 'p', service: '..' }],
    ['com.docker.compose.service', { project: 'p', service: '.' }],
    ['com.docker.compose.service', { project: 'p', service: 'a/b' }],
    ['com.docker.compose.service', { project: 'p', service: 'db\u202e' }],
    ['com.docker.compose.project', { project: '..', service: 'db' }],
    ['com.docker.compose.project', { project: '../../etc', service: 'db' }],
    ['com.docker.compose.project', { project: 'a b', service: 'db' }],
  ] as const) {
    it(`refuses ${label}=${JSON.stringify(label.endsWith('service') ? compose.service : compose.project)}`, () => {
      const id = { name: 'evil-1', compose };
      const problem = identityProblem(id);
      const value = label.endsWith('service') ? compose.service : compose.project;
      expect(problem).to.be.a('string');
      expect(problem)
        .to.contain('container "evil-1"')
        .and.contain(label)
        .and.contain(JSON.stringify(value));
      expect(() => workloadPath(id, true)).to.throw(problem!);
      expect(() => workloadPath(id, false)).to.throw(Error);
    });
  }

  it('accepts compose-style names and plain containers', () => {
    expect(
      identityProblem({ name: 'x', compose: { project: 'my_stack-2', service: 'db.v1' } }),
    ).to.equal(undefined);
    expect(identityProblem({ name: 'solo' })).to.equal(undefined);
    expect(identityProblem({ name: '/solo' })).to.equal(undefined);
  });

  it('never yields a path outside /volumes/ (property)', () => {
    const names = ['..', '.', '../x', 'a/../..', 'ok', 'a.b', '...', '/abs', 'x/', ''];
    for (const project of names)
      for (const service of names)
        for (const include of [true, false]) {
          const id = { name: 'c', compose: { project, service } };
          let p: string;
          try {
            p = workloadPath(id, include);
          } catch {
            continue;
          }
          expect(p.startsWith('/volumes/'), p).to.equal(true);
          expect(p.split('/').slice(2)).to.not.include.oneOf(['..', '.', '']);
        }
  });
});

describe('planIdentity', () => {
  it('fast-check: planIdFor and identityProblem of the same workload, at once', () => {
    const name = fc.constantFrom('db', '/db', 'a b', '..', '.', '', 'x'.repeat(300), 'st_web');
    const part = fc.option(name, { nil: undefined });
    const identity = fc.record({
      name,
      compose: fc.option(fc.record({ project: part, service: part }), { nil: undefined }),
      swarm: fc.option(fc.record({ service: part, stack: part }), { nil: undefined }),
    });
    fc.assert(
      fc.property(identity, fc.constantFrom('p_', 'backrest_sidecar_'), (s, prefix) => {
        expect(planIdentity(s, prefix)).to.deep.equal({
          id: planIdFor(s, { prefix }),
          problem: identityProblem(s),
        });
      }),
      { numRuns: 1000 },
    );
  });

  it('refuses a bad prefix as planIdFor does, also after a good one passed', () => {
    expect(planIdentity({ name: 'db' }, 'ok_').id).to.equal('ok_db');
    expect(() => planIdentity({ name: 'db' }, '')).to.throw(/empty/);
    expect(() => planIdentity({ name: 'db' }, 'a/b')).to.throw(/may only contain/);
    expect(() => checkPlanIdPrefix('a/b')).to.throw(/may only contain/);
  });
});

describe('serviceIdentityOf against its spread form', () => {
  /** The previous body (an optional field spread in), kept as the reference. */
  function spreadForm(status: Parameters<typeof serviceIdentityOf>[0]): unknown {
    const service = status.compose?.service?.trim();
    if (service) {
      const project = status.compose?.project?.trim();
      return {
        source: 'compose',
        ...(project ? { project } : {}),
        service,
        projectLabel: 'com.docker.compose.project',
        serviceLabel: 'com.docker.compose.service',
      };
    }
    const swarmService = status.swarm?.service?.trim();
    if (swarmService) {
      const stack = status.swarm?.stack?.trim();
      const short =
        stack && swarmService.startsWith(`${stack}_`) && swarmService.length > stack.length + 1
          ? swarmService.slice(stack.length + 1)
          : swarmService;
      return {
        source: 'swarm',
        ...(stack ? { project: stack } : {}),
        service: short,
        projectLabel: 'com.docker.stack.namespace',
        serviceLabel: 'com.docker.swarm.service.name',
      };
    }
    return undefined;
  }

  it('fast-check: the same fields in the same key order (JSON), compose and swarm', () => {
    const word = fc.oneof(fc.constantFrom('', ' ', 'db', ' shop ', 'a_b', 'shop_db'), fc.string());
    const part = fc.option(
      fc.record(
        {
          project: fc.option(word, { nil: undefined }),
          service: fc.option(word, { nil: undefined }),
        },
        { requiredKeys: [] },
      ),
      { nil: undefined },
    );
    const swarm = fc.option(
      fc.record(
        {
          service: fc.option(word, { nil: undefined }),
          stack: fc.option(word, { nil: undefined }),
        },
        { requiredKeys: [] },
      ),
      { nil: undefined },
    );
    fc.assert(
      fc.property(word, part, swarm, (name, compose, sw) => {
        const status = { name, compose, swarm: sw };
        expect(JSON.stringify(serviceIdentityOf(status))).to.equal(
          JSON.stringify(spreadForm(status)),
        );
      }),
      { numRuns: 500 },
    );
  });
});
