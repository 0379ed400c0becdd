import { expect } from 'chai';
import { findPathCollisions } from './path-collisions.js';
import type { WorkloadTarget } from './workload-target.js';

function t(name: string, project?: string, service?: string): WorkloadTarget {
  return {
    name,
    id: name,
    imageId: '',
    state: 'running',
    labels: {},
    mounts: [],
    ...(service ? { compose: { ...(project ? { project } : {}), service, dependsOn: [] } } : {}),
  };
}

describe('findPathCollisions', () => {
  it('finds prod/db and zz/db at /volumes/db, and suggests --include-project-name', () => {
    const c = findPathCollisions([t('prod-db-1', 'prod', 'db'), t('zz-db-1', 'zz', 'db')], false);
    expect([...c.keys()]).to.deep.equal(['/volumes/db']);
    expect(c.get('/volumes/db')!.containers).to.deep.equal(['prod-db-1', 'zz-db-1']);
    expect(c.get('/volumes/db')!.message)
      .to.include('prod-db-1')
      .and.include('zz-db-1')
      .and.include('--include-project-name');
    expect(
      findPathCollisions([t('prod-db-1', 'prod', 'db'), t('zz-db-1', 'zz', 'db')], true).size,
    ).to.equal(0);
  });

  it('treats replicas of one service as one workload; a plain container named like a service collides', () => {
    expect(
      findPathCollisions([t('p-db-1', 'p', 'db'), t('p-db-2', 'p', 'db')], true).size,
    ).to.equal(0);
    const c = findPathCollisions([t('db'), t('x-db-1', undefined, 'db')], true);
    expect(c.get('/volumes/db')!.message)
      .to.include('Rename')
      .and.not.include('--include-project-name');
  });

  it('treats the tasks of one Swarm service as one workload, apart from a compose service of the same path', () => {
    const task = (slot: number): WorkloadTarget => ({
      ...t(`shop_db.${slot}.abc${slot}`),
      swarm: { service: 'shop_db', stack: 'shop' },
    });
    expect(findPathCollisions([task(1), task(2)], true).size).to.equal(0);
    const c = findPathCollisions([task(1), t('shop-db-1', 'shop', 'db')], true);
    expect(c.get('/volumes/shop/db')?.containers).to.deep.equal(['shop-db-1', 'shop_db.1.abc1']);
  });
});
