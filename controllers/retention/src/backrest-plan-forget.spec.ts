import { expect } from 'chai';
import type { ResticRunner } from '@backrest-sidecar/restic';
import { forgetBackrestPlan } from './backrest-plan-forget.js';

/** restic must not run in these cases. */
const noRestic: ResticRunner = {
  description: 'none',
  run: () => Promise.reject(new Error('restic ran')),
};
const target = { planId: 'p1', instance: 'bk', paths: ['/srv/db'], keep: 'within=30d' };

describe('forgetBackrestPlan, before any restic', () => {
  it('a config without an instance has no Backrest snapshots: nothing to forget, not an invalid policy', async () => {
    const r = await forgetBackrestPlan({ ...target, instance: '' }, undefined, noRestic);
    expect(r.status).to.equal('no-snapshots');
    expect(r.message).to.contain('no instance');
  });

  it('steps aside for an active repo forgetPolicy, and leaves a keep without within to Backrest', async () => {
    const policy = { id: 'r', forgetPolicy: { policyKeepLastN: 3 } };
    expect((await forgetBackrestPlan(target, policy, noRestic)).status).to.equal('repo-policy');
    const owned = await forgetBackrestPlan({ ...target, keep: 'last=3' }, undefined, noRestic);
    expect(owned.status).to.equal('backrest-owned');
  });

  it('refuses an instance that is no restic tag', async () => {
    const r = await forgetBackrestPlan({ ...target, instance: 'a,b' }, undefined, noRestic);
    expect(r.status).to.equal('invalid');
  });
});
