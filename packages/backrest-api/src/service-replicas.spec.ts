import { expect } from 'chai';
import { groupReplicas, workloadNameInCache, workloadNames } from './service-replicas.js';

describe('service replicas', () => {
  const c = (name: string, service?: string, project = 'shop') => ({
    name,
    ...(service ? { compose: { project, service } } : {}),
  });

  it('groups replicas of one compose or Swarm service, named after the first by byte order', () => {
    const groups = groupReplicas([
      c('shop-web-2', 'web'),
      c('lone'),
      c('shop-web-10', 'web'),
      c('shop-web-1', 'web'),
      c('other-web-1', 'web', 'other'),
      { name: 'st_cache.2.b', swarm: { service: 'st_cache', stack: 'st' } },
      { name: 'st_cache.1.a', swarm: { service: 'st_cache', stack: 'st' } },
    ]);
    expect(groups.map((g) => [g.name, g.members.map((m) => m.name)])).to.deep.equal([
      ['shop-web-1', ['shop-web-1', 'shop-web-10', 'shop-web-2']],
      ['lone', ['lone']],
      ['other-web-1', ['other-web-1']],
      ['st_cache.1.a', ['st_cache.1.a', 'st_cache.2.b']],
    ]);
  });

  it('maps every container to its workload name; a compose service is not a lone container of that name', () => {
    const names = workloadNames([c('shop-db-2', 'db'), c('shop-db-1', 'db'), c('shop_db')]);
    expect([...names]).to.deep.equal([
      ['shop-db-1', 'shop-db-1'],
      ['shop-db-2', 'shop-db-1'],
      ['shop_db', 'shop_db'],
    ]);
  });

  it("finds a cached resource's workload through the service label index only", () => {
    const res = (name: string, project: string) => ({
      metadata: {
        name,
        labels: { 'com.docker.compose.project': project, 'com.docker.compose.service': 'db' },
      },
      status: { name, compose: { project, service: 'db' } },
    });
    const all = [res('shop-db-2', 'shop'), res('shop-db-1', 'shop'), res('aaa-db-1', 'aaa')];
    const asked: string[] = [];
    const cache = {
      byLabel: <T>(kind: string, key: string, value?: string): T[] => {
        asked.push(`${kind} ${key}=${value}`);
        return all.filter(
          (r) => r.metadata.labels[key as 'com.docker.compose.service'] === value,
        ) as T[];
      },
    };
    expect(workloadNameInCache(cache, 'BackupWorkload', all[0]!)).to.equal('shop-db-1');
    expect(workloadNameInCache(cache, 'BackupWorkload', all[1]!)).to.equal('shop-db-1');
    expect(workloadNameInCache(cache, 'BackupWorkload', all[2]!)).to.equal('aaa-db-1');
    expect(asked[0]).to.equal('BackupWorkload com.docker.compose.service=db');
    const lone = { metadata: { name: 'lone', labels: {} }, status: { name: 'lone' } };
    expect(workloadNameInCache(cache, 'BackupWorkload', lone)).to.equal('lone');
    expect(asked).to.have.length(3);
  });
});
