import { expect } from 'chai';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  WorkloadStatusStore,
  backrestApiModule,
  workloadStatusModule,
} from '@backrest-sidecar/api';
import {
  RetentionControllerOptions,
  forgetBackrestPlan,
  retentionModule,
} from '@backrest-sidecar/controller-retention';
import { LocalResticRunner } from '@backrest-sidecar/restic';
import {
  ContainerActions,
  DockerContainerActions,
  DockerClient,
  DockerodeClient,
} from '@dockop/docker';
import { TestManager } from '@dockop/testing';
import { ContainerModule } from 'inversify';
import {
  RESTIC_IMAGE,
  dockerClient,
  removeLabeled,
  requireEngine,
  runId,
} from './support/engine.js';
import {
  CapturingLogger,
  PASSWORD,
  exec,
  listSnapshots,
  makeRepo,
  removeDir,
  type Repo,
} from './retention-fixture.js';

// Snapshots made the way Backrest makes them (restic backup of host paths, tagged plan:<id> and
// created-by:<instance>) are pruned by a `within` policy Backrest itself can't express; every
// snapshot outside that plan and instance, or without the plan's paths, is untouched.
describe('retention: Backrest-made snapshots of our plans, within policy (integration, real restic)', function () {
  this.timeout(120_000);
  let repo: Repo | undefined;
  let data: string;
  let other: string;
  const day = 86_400_000;
  const at = (daysAgo: number): string =>
    new Date(Date.now() - daysAgo * day).toISOString().slice(0, 19).replace('T', ' ');

  before(async function () {
    try {
      await exec('restic', ['version']);
    } catch {
      if (process.env.CI === 'true') throw new Error('restic is not installed; cannot skip in CI');
      this.skip();
    }
    repo = await makeRepo('retention-backrest-plan');
    data = path.join(repo.dir, 'srv', 'shop', 'db');
    other = path.join(repo.dir, 'srv', 'shop', 'app');
    for (const d of [data, other]) {
      await mkdir(d, { recursive: true });
      await writeFile(path.join(d, 'f.txt'), `${d}\n`);
    }
    const backup = (dir: string, daysAgo: number, tags: string[]) =>
      exec(
        'restic',
        [
          'backup',
          '-q',
          '--host',
          'backrest-host',
          '--time',
          at(daysAgo),
          ...tags.flatMap((t) => ['--tag', t]),
          dir,
        ],
        { env: repo!.env },
      );
    const ours = ['plan:backrest_sidecar_shop_db', 'created-by:inst-1'];
    for (const d of [120, 60, 20, 5, 1]) await backup(data, d, ours);
    // Same plan, another Backrest instance sharing the repository: never ours to forget.
    await backup(data, 90, ['plan:backrest_sidecar_shop_db', 'created-by:inst-2']);
    // Another plan of the same instance.
    await backup(other, 100, ['plan:backrest_sidecar_shop_app', 'created-by:inst-1']);
    // The plan's tags but not its paths (a hand-made snapshot): untouched.
    await backup(other, 110, ours);
  });

  const run = runId();
  const runLabel = `dockop.test.run=retention-bkplan-${run}`;

  after(async function () {
    await removeDir(repo?.dir);
    // The retention controller's one-shots (removed when they end; a leftover after a failure).
    await removeLabeled(dockerClient(), runLabel).catch(() => undefined);
  });

  it('dry run, then forget: keeps within=30d of this plan and instance, removes the rest of them only', async () => {
    const restic = new LocalResticRunner({ baseEnv: repo!.env });
    const target = {
      planId: 'backrest_sidecar_shop_db',
      instance: 'inst-1',
      paths: [data],
      keep: 'within=30d',
    };
    const before = await listSnapshots(repo!);
    expect(before).to.have.length(8);
    const old = (s: { time: string }) => Date.now() - Date.parse(s.time) > 30 * day;
    const ourOld = before.filter((s) => s.paths.join() === data && old(s));

    const dry = await forgetBackrestPlan(target, { id: 'default' }, restic, { dryRun: true });
    expect(dry.status, dry.message).to.equal('forgotten');
    expect(dry.flags).to.deep.equal(['--keep-within', '30d']);
    expect(await listSnapshots(repo!)).to.have.length(8);

    const logger = new CapturingLogger();
    const res = await forgetBackrestPlan(target, { id: 'default' }, restic, {
      prune: true,
      logger,
    });
    expect(res.status, res.message).to.equal('forgotten');
    expect(res.kept).to.have.length(3);
    expect(res.removed).to.have.length(2);
    const after = await listSnapshots(repo!);
    expect(after).to.have.length(6);
    const gone = before.filter((s) => !after.some((a) => a.id === s.id));
    // Exactly this plan's, this instance's, older than 30 days: the 120- and 60-day snapshots.
    expect(gone.map((s) => s.short_id).sort()).to.deep.equal(res.removed.slice().sort());
    expect(ourOld.filter((s) => gone.some((g) => g.id === s.id))).to.have.length(2);
    // inst-2's 90-day snapshot of the same plan is still there.
    expect(after.filter((s) => old(s) && s.paths.join() === data)).to.have.length(1);
    // The other plan's and the pathless hand-made snapshot are untouched.
    expect(after.filter((s) => s.paths.join() === other)).to.have.length(2);
  });

  it('steps aside when the repository has an active forgetPolicy, and leaves a spec without within to Backrest', async () => {
    const restic = new LocalResticRunner({ baseEnv: repo!.env });
    const before = await listSnapshots(repo!);
    const target = {
      planId: 'backrest_sidecar_shop_db',
      instance: 'inst-1',
      paths: [data],
      keep: 'within=1d',
    };
    const repoEntry = { id: 'default', forgetPolicy: { schedule: { cron: '0 3 * * *' } } };
    const stepped = await forgetBackrestPlan(target, repoEntry, restic);
    expect(stepped.status).to.equal('repo-policy');
    expect(stepped.message).to.include('forgetPolicy').and.include('backrest_sidecar_shop_db');
    const owned = await forgetBackrestPlan(
      { ...target, keep: 'daily=1' },
      { id: 'default' },
      restic,
    );
    expect(owned.status).to.equal('backrest-owned');
    const disabled = { id: 'default', forgetPolicy: { schedule: { disabled: true } } };
    const dry = await forgetBackrestPlan(target, disabled, restic, { dryRun: true });
    expect(dry.status, 'a disabled forgetPolicy does not override').to.equal('forgotten');
    expect(await listSnapshots(repo!)).to.have.length(before.length);
  });

  it("the daemon's retention controller does it from Backrest's config: the plan's repo entry, tags and paths (real restic in a one-shot)", async function () {
    await requireEngine(this);
    const backup = (daysAgo: number, tags: string[]) =>
      exec(
        'restic',
        [
          'backup',
          '-q',
          '--host',
          'backrest-host',
          '--time',
          at(daysAgo),
          ...tags.flatMap((t) => ['--tag', t]),
          data,
        ],
        { env: repo!.env },
      );
    const ours = ['plan:backrest_sidecar_shop_db', 'created-by:inst-1'];
    for (const d of [50, 40, 3]) await backup(d, ours);
    const before = await listSnapshots(repo!);
    const old = (s: { time: string }) => Date.now() - Date.parse(s.time) > 30 * day;
    // Backrest's config as the plan controller leaves it: the instance, the repo (with its
    // credentials, here the repository mounted at /repo in restic's one-shot), our plan.
    const config = path.join(repo!.dir, 'config.json');
    await writeFile(
      config,
      JSON.stringify({
        version: 6,
        instance: 'inst-1',
        repos: [{ id: 'default', uri: '/repo', password: PASSWORD }],
        plans: [{ id: 'backrest_sidecar_shop_db', repo: 'default', paths: [data] }],
      }),
    );
    const client = new DockerodeClient();
    const actions = new DockerContainerActions(client);
    const tm = new TestManager({
      modules: [
        backrestApiModule,
        workloadStatusModule(path.join(repo!.dir, 'state')),
        new ContainerModule((o) => {
          o.bind<ContainerActions>(ContainerActions).toConstantValue(actions);
          o.bind<DockerClient>(DockerClient).toConstantValue(client);
          o.bind<RetentionControllerOptions>(RetentionControllerOptions).toConstantValue({
            mode: 'daemon',
            restic: {
              kind: 'container',
              image: RESTIC_IMAGE,
              mounts: [{ type: 'bind', source: repo!.repo, target: '/repo' }],
              labels: { 'dockop.test.run': `retention-bkplan-${run}` },
            },
            ownSnapshots: false,
            backrest: { configPath: config },
            prune: 'never',
          });
        }),
        retentionModule(),
      ],
    });
    try {
      // The workload as the cache sees it: compose project shop, service db, keep within=30d.
      await tm.docker.run({
        name: `shop-db-${run}`,
        labels: {
          'backrest.enable': 'true',
          'backrest.keep': 'within=30d',
          'com.docker.compose.project': 'shop',
          'com.docker.compose.service': 'db',
        },
      });
      await tm.start();
      const status = await tm.manager
        .get<WorkloadStatusStore>(WorkloadStatusStore)
        .get(`shop-db-${run}`);
      const cond = status?.conditions.find((c) => c.type === 'RetentionSatisfied');
      expect(cond, JSON.stringify(status)).to.include({ status: 'True', reason: 'PolicyApplied' });
      const after = await listSnapshots(repo!);
      const gone = before.filter((s) => !after.some((a) => a.id === s.id));
      // The 50- and 40-day snapshots of this plan and instance; nothing else.
      expect(gone.map((s) => s.short_id).sort()).to.deep.equal(
        before
          .filter(
            (s) =>
              s.paths.join() === data &&
              old(s) &&
              Date.now() - Date.parse(s.time) < 55 * day &&
              (s as { tags?: string[] }).tags?.includes('created-by:inst-1'),
          )
          .map((s) => s.short_id)
          .sort(),
      );
      expect(gone).to.have.length(2);
      expect(status?.retention?.removedIds.slice().sort()).to.deep.equal(
        gone.map((s) => s.short_id).sort(),
      );
    } finally {
      await tm.stop();
    }
  });
});
