import type { BackupWorkloadSpec } from '@backrest-sidecar/api';
import type { Resource } from '@dockop/runtime';
import { expect } from 'chai';
import { buildPlans, defaultPlanDefaults, type WorkloadStatus } from './plan-builder.js';
import { inputsFingerprint } from './plan-inputs.js';
import { PlanMemo } from './plan-memo.js';
import { buildPlanSet } from './plan-set.js';

type W = Resource<BackupWorkloadSpec, WorkloadStatus>;

function resource(name: string, version: string, spec: BackupWorkloadSpec = { enable: true }): W {
  return {
    apiVersion: 'v1',
    kind: 'BackupWorkload',
    metadata: { name, uid: `uid-${name}`, resourceVersion: version, labels: {} },
    spec,
    status: {
      name,
      compose: { project: 'p', service: name },
      mounts: [{ type: 'bind', source: `/srv/${name}`, destination: '/data' }],
    },
  } as unknown as W;
}

const defaults = defaultPlanDefaults();
const repoIds = ['default', 'offsite'];

describe('PlanMemo (daemon: unchanged workloads are not rebuilt)', () => {
  it('gives the same plan set as building everything, and the same objects for unchanged workloads', () => {
    const memo = new PlanMemo();
    const a = resource('a', '1');
    const b = resource('b', '1');
    const first = buildPlanSet({ selected: [a, b], rejected: [] }, defaults, repoIds, memo);
    const plain = buildPlanSet({ selected: [a, b], rejected: [] }, defaults, repoIds);
    expect(first.built).to.deep.equal(plain.built);

    // b changed (a new object with a new version), c is new, a is the same object.
    const b2 = resource('b', '2', { enable: true, schedule: '0 5 * * *' });
    const c = resource('c', '1');
    const second = buildPlanSet({ selected: [a, b2, c], rejected: [] }, defaults, repoIds, memo);
    expect(second.built).to.deep.equal(
      buildPlanSet({ selected: [a, b2, c], rejected: [] }, defaults, repoIds).built,
    );
    expect(second.workloads[0]).to.equal(first.workloads[0]);
    expect(second.built.plans[0]!.plan).to.equal(first.built.plans[0]!.plan);
    expect(second.built.plans[1]!.plan.schedule).to.equal('0 5 * * *');
    expect(second.built.plans[1]!.plan).not.to.equal(first.built.plans[1]!.plan);
  });

  it('builds again a resource whose version moved in place, and everything when the repo ids change', () => {
    const memo = new PlanMemo();
    const a = resource('a', '1');
    const first = buildPlanSet({ selected: [a], rejected: [] }, defaults, repoIds, memo);
    a.metadata.resourceVersion = '2';
    (a.spec as { schedule?: string }).schedule = '0 4 * * *';
    const moved = buildPlanSet({ selected: [a], rejected: [] }, defaults, repoIds, memo);
    expect(moved.built.plans[0]!.plan.schedule).to.equal('0 4 * * *');

    const unchanged = buildPlanSet({ selected: [a], rejected: [] }, defaults, repoIds, memo);
    expect(unchanged.built.plans[0]!.plan).to.equal(moved.built.plans[0]!.plan);
    // `backrest.repo` unset: the default repo while declared, else the config's first.
    const other = buildPlanSet({ selected: [a], rejected: [] }, defaults, ['offsite'], memo);
    expect(other.built.plans[0]!.plan.repo).to.equal('offsite');
    expect(first.built.plans[0]!.plan.repo).to.equal('default');
  });

  it('never remembers a resource without a resourceVersion', () => {
    const memo = new PlanMemo();
    const a = resource('a', '1');
    delete (a.metadata as { resourceVersion?: string }).resourceVersion;
    const one = buildPlanSet({ selected: [a], rejected: [] }, defaults, repoIds, memo);
    (a.spec as { schedule?: string }).schedule = '0 6 * * *';
    const two = buildPlanSet({ selected: [a], rejected: [] }, defaults, repoIds, memo);
    expect(two.built.plans[0]!.plan.schedule).to.equal('0 6 * * *');
    expect(two.workloads[0]).not.to.equal(one.workloads[0]);
  });

  it('freezes the plans it shares between reconciles', () => {
    const memo = new PlanMemo();
    const set = buildPlanSet(
      { selected: [resource('a', '1')], rejected: [] },
      defaults,
      repoIds,
      memo,
    );
    const plan = set.built.plans[0]!.plan;
    expect(Object.isFrozen(plan)).to.equal(true);
    expect(() => (plan.sources as string[]).push('/x')).to.throw(TypeError);
  });

  it('samePlan: remembered per pair of objects, answered again for another config plan', () => {
    const memo = new PlanMemo();
    const built = buildPlans(
      [{ name: 'a', spec: { enable: true }, status: resource('a', '1').status as WorkloadStatus }],
      defaults,
      { repoIds },
    ).plans[0]!.plan;
    const inFile = { ...built, sources: [...built.sources] };
    expect(memo.samePlan(undefined, built)).to.equal(false);
    expect(memo.samePlan(inFile, built)).to.equal(true);
    expect(memo.samePlan(inFile, built)).to.equal(true);
    const edited = { ...built, schedule: '1 2 * * *' };
    expect(memo.samePlan(edited, built)).to.equal(false);
    expect(memo.samePlan(inFile, built)).to.equal(true);
  });

  it('fingerprints as inputsFingerprint does without it', () => {
    const memo = new PlanMemo();
    const inputs = { selected: [resource('b', '3'), resource('a', '7')], rejected: [] };
    const plain = inputsFingerprint(inputs);
    expect(inputsFingerprint(inputs, (r) => memo.part(r))).to.equal(plain);
    expect(inputsFingerprint(inputs, (r) => memo.part(r))).to.equal(plain);
  });
});
