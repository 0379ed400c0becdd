import { expect } from 'chai';
import { fromBackrestPlan, toBackrestPlan } from '@backrest-sidecar/config-sink';
import {
  buildPlans,
  defaultPlanDefaults,
  type MountInfo,
  type WorkloadInput,
} from './plan-builder.js';

const pgVolume: MountInfo = {
  type: 'volume',
  name: 'stack_pgdata',
  source: '/var/lib/docker/volumes/stack_pgdata/_data',
  destination: '/var/lib/postgresql/data',
};

function workload(dump: Record<string, unknown>, name = 'stack-db-1'): WorkloadInput {
  return {
    name,
    spec: { enable: true, dump } as WorkloadInput['spec'],
    status: { name, compose: { project: 'stack', service: 'db' }, mounts: [pgVolume] },
  };
}

const facts = { repoIds: ['default'] };
const withDir = defaultPlanDefaults({ dumpDir: '/srv/dumps/' });

describe('plan builder: backrest.dump', () => {
  it('adds the per-plan dump directory to the sources and a dump hook before the pre hooks', () => {
    const r = buildPlans([workload({ preset: 'postgres', database: 'app' })], withDir, facts);
    expect(r.skipped).to.deep.equal([]);
    const plan = r.plans[0]!.plan;
    expect(plan.sources).to.deep.equal([
      '/srv/dumps/backrest_sidecar_stack_db',
      '/var/lib/docker/volumes/stack_pgdata/_data',
    ]);
    const hook = plan.hooks.dump![0]!;
    expect(hook).to.contain(`dir='/srv/dumps/backrest_sidecar_stack_db'`);
    expect(hook).to.contain(`docker exec 'stack-db-1' 'sh' '-c' `);
    expect(hook).to.contain(`'dockop-dump' 'app' '' ''`);
    expect(hook).to.contain('mv -f "$tmp" "$dir/stack-db-1.sql"');
  });

  it('lists the hooks as pre, post, then dump (the plan JSON a report and the log show)', () => {
    const dumped = buildPlans([workload({ preset: 'postgres' })], withDir, facts).plans[0]!.plan;
    expect(Object.keys(dumped.hooks)).to.deep.equal(['pre', 'post', 'dump']);
    expect(Object.keys(dumped)).to.deep.equal([
      'id',
      'repo',
      'schedule',
      'sources',
      'exclude',
      'hooks',
      'retention',
    ]);
    const plain: WorkloadInput = {
      ...workload({}),
      spec: { enable: true } as WorkloadInput['spec'],
    };
    const without = buildPlans([plain], withDir, facts).plans[0]!.plan;
    expect(Object.keys(without.hooks)).to.deep.equal(['pre', 'post']);
  });

  it('dump.only leaves the data directory out', () => {
    const r = buildPlans([workload({ preset: 'redis', only: true })], withDir, facts);
    expect(r.plans[0]!.plan.sources).to.deep.equal(['/srv/dumps/backrest_sidecar_stack_db']);
  });

  it('label values are single-quoted argv items in the hook, never shell text', () => {
    const r = buildPlans(
      [workload({ preset: 'postgres', database: "x'; rm -rf / #", args: ['$(id)', '`id`'] })],
      withDir,
      facts,
    );
    const hook = r.plans[0]!.plan.hooks.dump![0]!;
    expect(hook).to.contain(`'x'\\''; rm -rf / #'`);
    expect(hook).to.contain(`'$(id)' '\`id\`'`);
  });

  it('skips the plan, naming container and label, without --dump-dir or with bad dump labels', () => {
    const noDir = buildPlans([workload({ preset: 'mariadb' })], defaultPlanDefaults(), facts);
    expect(noDir.plans).to.deep.equal([]);
    expect(noDir.skipped[0]).to.include({ reason: 'DumpDirMissing', container: 'stack-db-1' });
    expect(noDir.skipped[0]!.message).to.contain('label backrest.dump=mariadb needs --dump-dir');
    const bad = buildPlans([workload({ user: 'x' })], withDir, facts);
    expect(bad.skipped[0]).to.include({ reason: 'InvalidDump' });
    expect(bad.skipped[0]!.message).to.equal(
      'container stack-db-1: label backrest.dump.user set without backrest.dump (which database kind to dump?)',
    );
  });

  it('Backrest gets the dump hook first, ON_ERROR_FATAL, and reads it back', () => {
    const r = buildPlans([workload({ preset: 'postgres' })], withDir, facts);
    const spec = { ...r.plans[0]!.plan, hooks: { ...r.plans[0]!.plan.hooks, pre: ['echo pre'] } };
    const native = toBackrestPlan(spec) as { hooks: Record<string, unknown>[] };
    expect(native.hooks.map((h) => [h['conditions'], h['onError']])).to.deep.equal([
      [['CONDITION_SNAPSHOT_START'], 'ON_ERROR_FATAL'],
      [['CONDITION_SNAPSHOT_START'], undefined],
    ]);
    const back = fromBackrestPlan(native);
    expect(back.hooks.dump).to.deep.equal(spec.hooks.dump);
    expect(back.hooks.pre).to.deep.equal(['echo pre']);
  });
});
