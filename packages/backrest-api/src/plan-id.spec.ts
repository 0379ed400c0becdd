import { expect } from 'chai';
import { checkPlanIdPrefix, planIdFor, sanitizePlanId, workloadPath } from './plan-id.js';

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
