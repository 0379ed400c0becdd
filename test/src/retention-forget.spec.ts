import type Docker from 'dockerode';
import { expect } from 'chai';
import { REDACTED } from '@dockop/runtime';
import {
  createContainer,
  DockerContainerActions,
  DockerodeClient,
  ImageLabelTrust,
} from '@dockop/docker';
import { createResticRunner, resolveResticHost } from '@backrest-sidecar/restic';
import {
  ImageWorkloadLabelTrust,
  type ForgetReport,
  type WorkloadForgetResult,
} from '@backrest-sidecar/api';
import {
  runForget,
  type ForgetDeps,
  type ForgetOptions,
} from '@backrest-sidecar/controller-retention';
import {
  RESTIC_IMAGE,
  WORKLOAD_IMAGE,
  removeLabeled,
  requireEngine,
  runId,
} from './support/engine.js';
import {
  CapturingLogger,
  MemoryRecorder,
  exec,
  PASSWORD,
  idAt,
  listSnapshots,
  makeRepo,
  makeSnapshots,
  removeDir,
  type Repo,
  type Snap,
} from './retention-fixture.js';

// Per-workload retention against a real restic 0.14 repository: snapshots are made at the literal
// paths /volumes/<project>/<service> with dates spread over months, then the forget loop runs and
// the repository is read back to check exactly which snapshot ids are left.
describe('retention: per-workload restic forget (integration, real restic)', function () {
  this.timeout(120_000);
  let docker: Docker;
  const run = runId();
  const runLabel = `dockop.test.run=retention-${run}`;
  const project = `rt${run.replace(/[^a-z0-9]/g, '')}`;
  const p = (service: string): string => `/volumes/${project}/${service}`;
  const repos: Repo[] = [];
  let actions: DockerContainerActions;
  let client: DockerodeClient;

  before(async function () {
    docker = await requireEngine(this);
    client = new DockerodeClient();
    actions = new DockerContainerActions(client);
  });

  /**
   * runForget as the fixture's snapshots' host, within this run's containers (the selector keeps
   * other tests' workloads on the shared engine out of the collision check), trusting container
   * labels only, as the commands do.
   */
  function forget(
    options: Omit<ForgetOptions, 'host'> & { host?: string },
    deps: Omit<ForgetDeps, 'trust'>,
  ): Promise<ForgetReport> {
    return runForget(
      { host: 'fixture', selector: [`dockop.test.run=retention-${run}`], ...options },
      { trust: new ImageWorkloadLabelTrust(new ImageLabelTrust(client)), ...deps },
    );
  }

  after(async function () {
    if (docker) await removeLabeled(docker, runLabel);
    for (const r of repos) await removeDir(r.dir);
  });

  /** A running compose-like workload, opted in with backrest.enable=true unless `enable` is false. */
  async function workload(
    service: string,
    keep: string | undefined,
    proj = project,
    opts: { enable?: boolean; image?: string; suffix?: string } = {},
  ): Promise<string> {
    const name = `retention-${run}-${proj === project ? '' : `${proj}-`}${service}${opts.suffix ?? ''}`;
    const c = await createContainer(docker, {
      name,
      Image: opts.image ?? WORKLOAD_IMAGE,
      Cmd: ['sleep', '3600'],
      Labels: {
        'dockop.test.run': `retention-${run}`,
        'com.docker.compose.project': proj,
        'com.docker.compose.service': service,
        ...(opts.enable === false ? {} : { 'backrest.enable': 'true' }),
        ...(keep !== undefined ? { 'backrest.keep': keep } : {}),
      },
    });
    await c.start();
    return name;
  }

  async function repo(name: string): Promise<Repo> {
    const r = await makeRepo(`retention-${name}`);
    repos.push(r);
    return r;
  }

  function byPath(report: ForgetReport, path: string): WorkloadForgetResult {
    const w = report.workloads.find((x) => x.path === path);
    expect(w, `no result for ${path}: ${JSON.stringify(report)}`).to.not.equal(undefined);
    return w!;
  }

  const BASE_ENV = { PATH: process.env.PATH, HOME: process.env.HOME };
  const sorted = (xs: string[]): string[] => [...xs].sort();
  const ids = (snaps: Snap[]): string[] => sorted(snaps.map((s) => s.short_id));

  const appTimes = [
    '2026-01-10 10:00:00',
    '2026-02-10 10:00:00',
    '2026-03-10 10:00:00',
    '2026-04-10 10:00:00',
    '2026-05-10 10:00:00',
  ];
  const dbTimes = [
    '2026-01-05 10:00:00',
    '2026-01-20 10:00:00',
    '2026-02-10 10:00:00',
    '2026-03-01 10:00:00',
    '2026-03-15 10:00:00',
    '2026-04-02 10:00:00',
  ];
  const webTimes = [
    '2026-03-01 10:00:00',
    '2026-04-15 10:00:00',
    '2026-05-01 10:00:00',
    '2026-06-10 10:00:00',
  ];
  const otherTimes = ['2026-01-01 10:00:00', '2026-02-01 10:00:00', '2026-03-01 10:00:00'];

  describe('three workloads with different policies and one without a keep label', function () {
    let r: Repo;
    let names: string[];
    let initial: Snap[];

    before(async function () {
      r = await repo('main');
      await makeSnapshots(
        r,
        [
          ...appTimes.map((time) => ({ paths: [p('app')], time })),
          ...dbTimes.map((time) => ({ paths: [p('db')], time })),
          ...webTimes.map((time) => ({ paths: [p('web')], time })),
          ...otherTimes.map((time) => ({ paths: [p('other')], time })),
        ],
        runLabel,
      );
      names = [
        await workload('app', 'last=2'),
        await workload('db', 'monthly=3'),
        await workload('web', 'within=2m'),
        await workload('other', undefined),
      ];
      initial = await listSnapshots(r);
      expect(initial).to.have.length(
        appTimes.length + dbTimes.length + webTimes.length + otherTimes.length,
      );
    });

    // last=2 keeps the two newest; monthly=3 keeps the newest snapshot of each of the 3 newest
    // months; within=2m keeps everything within two months of the newest (after 2026-04-10).
    function expectedRemoved(): Record<string, string[]> {
      return {
        app: sorted(appTimes.slice(0, 3).map((t) => idAt(initial, [p('app')], t))),
        db: sorted(
          ['2026-01-05 10:00:00', '2026-01-20 10:00:00', '2026-03-01 10:00:00'].map((t) =>
            idAt(initial, [p('db')], t),
          ),
        ),
        web: [idAt(initial, [p('web')], '2026-03-01 10:00:00')],
      };
    }

    it('--dry-run reports what each policy would remove and removes nothing', async function () {
      const logger = new CapturingLogger();
      const restic = await createResticRunner(
        { kind: 'local', envFile: r.hostEnvFile },
        actions,
        BASE_ENV,
      );
      const report = await forget(
        { includeProjectName: true, dryRun: true, only: names },
        { containers: actions, restic, logger },
      );
      expect(report.exitCode).to.equal(0);
      expect(report.dryRun).to.equal(true);
      const exp = expectedRemoved();
      for (const svc of ['app', 'db', 'web'] as const) {
        expect(sorted(byPath(report, p(svc)).removed), svc).to.deep.equal(exp[svc]);
      }
      expect(report.workloads.map((w) => w.path)).to.not.include(p('other'));
      expect(ids(await listSnapshots(r))).to.deep.equal(ids(initial));
      expect(logger.lines.join('\n')).to.not.include(PASSWORD);
    });

    it('forgets exactly those snapshots, keeps the rest and never touches other paths', async function () {
      const recorder = new MemoryRecorder();
      const logger = new CapturingLogger();
      const restic = await createResticRunner(
        { kind: 'local', envFile: r.hostEnvFile },
        actions,
        BASE_ENV,
      );
      const report = await forget(
        { includeProjectName: true, only: names },
        { containers: actions, restic, logger, recorder },
      );
      expect(report.exitCode, JSON.stringify(report)).to.equal(0);
      const exp = expectedRemoved();
      const removedAll = [...exp.app!, ...exp.db!, ...exp.web!];
      for (const svc of ['app', 'db', 'web'] as const) {
        const w = byPath(report, p(svc));
        expect(w.status).to.equal('forgotten');
        expect(w.containers).to.deep.equal([`retention-${run}-${svc}`]);
        expect(sorted(w.removed), svc).to.deep.equal(exp[svc]);
        const mine = initial.filter((s) => s.paths[0] === p(svc)).map((s) => s.short_id);
        expect(sorted(w.kept), svc).to.deep.equal(
          sorted(mine.filter((id) => !exp[svc]!.includes(id))),
        );
      }
      const after = await listSnapshots(r);
      expect(ids(after)).to.deep.equal(
        sorted(initial.map((s) => s.short_id).filter((id) => !removedAll.includes(id))),
      );
      // The unlabeled workload's snapshots are all still there.
      expect(ids(after.filter((s) => s.paths[0] === p('other')))).to.deep.equal(
        ids(initial.filter((s) => s.paths[0] === p('other'))),
      );
      expect(
        recorder.list(`BackupWorkload/retention-${run}-app`).map((e) => e.reason),
      ).to.deep.equal(['RetentionApplied']);
      expect(logger.lines.join('\n')).to.not.include(PASSWORD);
      expect(logger.lines.join('\n')).to.not.include(r.repo);
    });

    it('a second run removes nothing more (the policy is already satisfied)', async function () {
      const snaps = await listSnapshots(r);
      const restic = await createResticRunner(
        { kind: 'local', envFile: r.hostEnvFile },
        actions,
        BASE_ENV,
      );
      const report = await forget(
        { includeProjectName: true, only: names },
        { containers: actions, restic },
      );
      expect(report.workloads.flatMap((w) => w.removed)).to.deep.equal([]);
      expect(ids(await listSnapshots(r))).to.deep.equal(ids(snaps));
    });

    it('without --include-project-name nothing matches and the Warning names the other setting', async function () {
      const recorder = new MemoryRecorder();
      const snaps = await listSnapshots(r);
      const restic = await createResticRunner(
        { kind: 'local', envFile: r.hostEnvFile },
        actions,
        BASE_ENV,
      );
      const report = await forget(
        {
          includeProjectName: false,
          only: names,
          // Other tests' projects reuse these service names: /volumes/app would collide.
          selector: [`dockop.test.run=retention-${run}`, `com.docker.compose.project=${project}`],
        },
        { containers: actions, restic, recorder },
      );
      expect(report.exitCode).to.equal(0);
      const w = byPath(report, '/volumes/app');
      expect(w.status).to.equal('no-match');
      expect(w.warnings[0]).to.include(p('app')).and.include('--include-project-name');
      const ev = recorder.list(`BackupWorkload/retention-${run}-app`);
      expect(ev.map((e) => [e.type, e.reason])).to.deep.equal([['Warning', 'RetentionNoMatch']]);
      expect(ids(await listSnapshots(r))).to.deep.equal(ids(snaps));
    });
  });

  it('an invalid keep label is reported with container, label and value; other workloads still run', async function () {
    const r = await repo('invalid');
    const proj = `${project}inv`;
    const times = ['2026-01-01 00:00:00', '2026-02-01 00:00:00', '2026-03-01 00:00:00'];
    await makeSnapshots(
      r,
      times.map((time) => ({ paths: [`/volumes/${proj}/ok`], time })),
      runLabel,
    );
    const good = await workload('ok', 'last=1', proj);
    const bad = await workload('bad', 'daily=7,weekly', proj);
    const recorder = new MemoryRecorder();
    const restic = await createResticRunner(
      { kind: 'local', envFile: r.hostEnvFile },
      actions,
      BASE_ENV,
    );
    const report = await forget(
      { includeProjectName: true, only: [good, bad] },
      { containers: actions, restic, recorder },
    );
    expect(report.exitCode).to.equal(3);
    const b = byPath(report, `/volumes/${proj}/bad`);
    expect(b.status).to.equal('invalid');
    expect(b.error)
      .to.include(`container "${bad}"`)
      .and.include('backrest.keep="daily=7,weekly"')
      .and.include('"weekly"');
    expect(recorder.list(`BackupWorkload/${bad}`).map((e) => e.reason)).to.deep.equal([
      'InvalidKeepSpec',
    ]);
    const g = byPath(report, `/volumes/${proj}/ok`);
    expect(g.status).to.equal('forgotten');
    expect(g.removed).to.have.length(2);
    expect(await listSnapshots(r)).to.have.length(1);
  });

  it('one snapshot of all of /volumes (restic-compose-backup): a Warning explains why nothing matched', async function () {
    const r = await repo('whole');
    const proj = `${project}whole`;
    // Mount each workload's data under /volumes, then back up /volumes itself, as rcb does.
    await makeSnapshots(
      r,
      [
        { paths: ['/volumes'], time: '2026-01-01 00:00:00' },
        { paths: ['/volumes'], time: '2026-02-01 00:00:00' },
      ],
      runLabel,
    );
    const a = await workload('app', 'last=1', proj);
    const d = await workload('db', 'daily=1', proj);
    const recorder = new MemoryRecorder();
    const logger = new CapturingLogger();
    const restic = await createResticRunner(
      { kind: 'local', envFile: r.hostEnvFile },
      actions,
      BASE_ENV,
    );
    const report = await forget(
      { includeProjectName: true, only: [a, d] },
      { containers: actions, restic, recorder, logger },
    );
    expect(report.exitCode).to.equal(0);
    for (const [svc, name] of [
      ['app', a],
      ['db', d],
    ] as const) {
      const w = byPath(report, `/volumes/${proj}/${svc}`);
      expect(w.status).to.equal('no-match');
      expect(w.removed).to.deep.equal([]);
      expect(w.warnings).to.have.length(1);
      expect(w.warnings[0]).to.include('cover /volumes as a whole').and.include('exactly');
      expect(recorder.list(`BackupWorkload/${name}`).map((e) => [e.type, e.reason])).to.deep.equal([
        ['Warning', 'RetentionNoMatch'],
      ]);
    }
    expect(
      logger.lines.some(
        (l) => l.includes('"level":"warn"') && l.includes('"action":"retention.no_match"'),
      ),
    ).to.equal(true);
    expect(await listSnapshots(r)).to.have.length(2);
  });

  it('snapshots holding the workload path together with other paths are never forgotten', async function () {
    const r = await repo('mixed');
    const proj = `${project}mix`;
    const app = `/volumes/${proj}/app`;
    const db = `/volumes/${proj}/db`;
    const single = ['2026-01-01 00:00:00', '2026-02-01 00:00:00', '2026-03-01 00:00:00'];
    const shared = ['2026-01-15 00:00:00', '2026-02-15 00:00:00'];
    await makeSnapshots(
      r,
      [
        ...single.map((time) => ({ paths: [app], time })),
        ...shared.map((time) => ({ paths: [app, db], time })),
      ],
      runLabel,
    );
    const before = await listSnapshots(r);
    const a = await workload('app', 'last=1', proj);
    const restic = await createResticRunner(
      { kind: 'local', envFile: r.hostEnvFile },
      actions,
      BASE_ENV,
    );
    const report = await forget(
      { includeProjectName: true, only: [a] },
      { containers: actions, restic },
    );
    const w = byPath(report, app);
    expect(w.status).to.equal('forgotten');
    const removed = sorted(single.slice(0, 2).map((t) => idAt(before, [app], t)));
    expect(sorted(w.removed)).to.deep.equal(removed);
    expect(w.kept).to.deep.equal([idAt(before, [app], single[2]!)]);
    expect(w.warnings.join()).to.include('2 snapshot(s) hold').and.include(db);
    const after = await listSnapshots(r);
    expect(ids(after)).to.deep.equal(
      sorted(before.map((s) => s.short_id).filter((id) => !removed.includes(id))),
    );
    expect(after.filter((s) => s.paths.length === 2)).to.have.length(shared.length);
  });

  it('runs restic in a one-shot container from a restic image (swappable runner)', async function () {
    const r = await repo('container');
    const proj = `${project}ctr`;
    const times = [
      '2026-01-01 00:00:00',
      '2026-01-02 00:00:00',
      '2026-01-03 00:00:00',
      '2026-01-04 00:00:00',
    ];
    await makeSnapshots(
      r,
      times.map((time) => ({ paths: [`/volumes/${proj}/svc`], time })),
      runLabel,
    );
    const before = await listSnapshots(r);
    const name = await workload('svc', 'last=2', proj);
    const restic = await createResticRunner(
      {
        kind: 'container',
        image: RESTIC_IMAGE,
        envFile: r.containerEnvFile,
        mounts: [{ type: 'bind', source: r.repo, target: '/repo' }],
        labels: { 'dockop.test.run': `retention-${run}` },
      },
      actions,
      BASE_ENV,
    );
    expect(restic.description).to.include(RESTIC_IMAGE);
    const report = await forget(
      { includeProjectName: true, only: [name] },
      { containers: actions, restic },
    );
    expect(report.exitCode, JSON.stringify(report)).to.equal(0);
    const expected = sorted(
      times.slice(0, 2).map((t) => idAt(before, [`/volumes/${proj}/svc`], t)),
    );
    expect(sorted(byPath(report, `/volumes/${proj}/svc`).removed)).to.deep.equal(expected);
    expect(ids(await listSnapshots(r))).to.deep.equal(
      sorted(before.map((s) => s.short_id).filter((id) => !expected.includes(id))),
    );
  });

  it('an unreachable repository is fatal (exit 1) and its location is redacted from the error', async function () {
    const r = await repo('fatal');
    const name = await workload('lonely', 'last=1', `${project}fatal`);
    const missing = `${r.dir}/no-such-repo-${run}`;
    const restic = await createResticRunner({ kind: 'local' }, actions, {
      PATH: process.env.PATH,
      RESTIC_REPOSITORY: missing,
      RESTIC_PASSWORD: PASSWORD,
    });
    const logger = new CapturingLogger();
    const report = await forget(
      { includeProjectName: true, only: [name] },
      { containers: actions, restic, logger },
    );
    expect(report.exitCode).to.equal(1);
    expect(report.fatal).to.include('snapshots').and.include(REDACTED);
    expect(report.fatal).to.not.include(missing);
    expect(logger.lines.join('\n')).to.not.include(missing).and.not.include(PASSWORD);
  });

  it("scoped by host: another host's snapshots in the same repository are never touched (default host: docker info Name)", async function () {
    const r = await repo('hosts');
    const proj = `${project}hosts`;
    const path = `/volumes/${proj}/db`;
    const engineHost = await resolveResticHost(client, undefined, {});
    expect(engineHost).to.equal((await docker.info()).Name);
    const times = ['2026-01-01 00:00:00', '2026-02-01 00:00:00', '2026-03-01 00:00:00'];
    await makeSnapshots(
      r,
      [
        ...times.map((time) => ({ paths: [path], time, host: engineHost })),
        ...times.map((time) => ({ paths: [path], time, host: 'other-docker-host' })),
      ],
      runLabel,
    );
    const before = await listSnapshots(r);
    const name = await workload('db', 'last=1', proj);
    const restic = await createResticRunner(
      { kind: 'local', envFile: r.hostEnvFile },
      actions,
      BASE_ENV,
    );
    const report = await forget(
      { includeProjectName: true, only: [name], host: engineHost },
      { containers: actions, restic },
    );
    expect(report.exitCode, JSON.stringify(report)).to.equal(0);
    const after = await listSnapshots(r);
    const of = (snaps: Snap[], h: string): string[] => ids(snaps.filter((x) => x.hostname === h));
    // This host's: only the newest is left; the other host's: all three, untouched.
    const mine = after.filter((x) => x.hostname === engineHost);
    expect(mine).to.have.length(1);
    expect(new Date(mine[0]!.time).toISOString()).to.equal('2026-03-01T00:00:00.000Z');
    expect(of(after, 'other-docker-host')).to.deep.equal(of(before, 'other-docker-host'));
    expect(of(after, 'other-docker-host')).to.have.length(3);

    // A host with no snapshot of its own at the path forgets nothing and says whose they are.
    const other = await forget(
      { includeProjectName: true, only: [name], host: 'a-third-host' },
      { containers: actions, restic },
    );
    expect(byPath(other, path).status).to.equal('no-match');
    expect(byPath(other, path).warnings[0]).to.include('other-docker-host');
    expect(ids(await listSnapshots(r))).to.deep.equal(ids(after));
  });

  describe('selection: enable and image-label trust', function () {
    const image = `dockop-it/retention-keep-${run.replace(/[^a-z0-9]/g, '')}:local`;

    before(async function () {
      // A "third-party" image whose Dockerfile sets backrest.keep=last=1.
      const base = `retention-${run}-imgbase`;
      await exec('docker', [
        'create',
        '--name',
        base,
        '--label',
        `dockop.test.run=retention-${run}`,
        WORKLOAD_IMAGE,
        'true',
      ]);
      await exec('docker', ['commit', '--change', 'LABEL backrest.keep=last=1', base, image]);
      await exec('docker', ['rm', '-f', base]);
    });

    after(async function () {
      if (docker) await removeLabeled(docker, runLabel);
      await exec('docker', ['rmi', '-f', image]).catch(() => undefined);
    });

    it('a container without backrest.enable, or whose keep comes from its image, is not selected', async function () {
      const r = await repo('select');
      const proj = `${project}sel`;
      const times = ['2026-01-01 00:00:00', '2026-02-01 00:00:00', '2026-03-01 00:00:00'];
      await makeSnapshots(
        r,
        ['noenable', 'fromimage', 'own'].flatMap((svc) =>
          times.map((time) => ({ paths: [`/volumes/${proj}/${svc}`], time })),
        ),
        runLabel,
      );
      const before = await listSnapshots(r);
      const noEnable = await workload('noenable', 'last=1', proj, { enable: false });
      // Inherits backrest.keep=last=1 from the image, sets only backrest.enable itself.
      const fromImage = await workload('fromimage', undefined, proj, { image });
      // Sets the same value itself: trusted (the container's own label wins over the image's).
      const own = await workload('own', 'last=2', proj, { image });
      const recorder = new MemoryRecorder();
      const restic = await createResticRunner(
        { kind: 'local', envFile: r.hostEnvFile },
        actions,
        BASE_ENV,
      );
      const report = await forget(
        { includeProjectName: true, only: [noEnable, fromImage, own] },
        { containers: actions, restic, recorder },
      );
      expect(report.workloads.map((w) => [w.containers[0], w.status])).to.deep.equal([
        [own, 'forgotten'],
        [fromImage, 'untrusted'],
      ]);
      expect(recorder.list(`BackupWorkload/${fromImage}`).map((e) => e.reason)).to.deep.equal([
        'UntrustedKeep',
      ]);
      const after = await listSnapshots(r);
      const at = (snaps: Snap[], svc: string): string[] =>
        ids(snaps.filter((x) => x.paths[0] === `/volumes/${proj}/${svc}`));
      expect(at(after, 'noenable')).to.deep.equal(at(before, 'noenable'));
      expect(at(after, 'fromimage')).to.deep.equal(at(before, 'fromimage'));
      expect(at(after, 'own')).to.have.length(2);
    });
  });

  it('two workloads mapping to one path (prod/db and zz/db without --include-project-name) are refused', async function () {
    const r = await repo('collide');
    const svc = `db${run.replace(/[^a-z0-9]/g, '')}`;
    const times = ['2026-01-01 00:00:00', '2026-02-01 00:00:00', '2026-03-01 00:00:00'];
    await makeSnapshots(
      r,
      times.map((time) => ({ paths: [`/volumes/${svc}`], time })),
      runLabel,
    );
    const before = await listSnapshots(r);
    const prod = await workload(svc, 'last=1', `${project}prod`);
    // zz's db is enabled (backed up to /volumes/<svc> too) but sets no keep of its own.
    const zz = await workload(svc, undefined, `${project}zz`);
    const recorder = new MemoryRecorder();
    const restic = await createResticRunner(
      { kind: 'local', envFile: r.hostEnvFile },
      actions,
      BASE_ENV,
    );
    const report = await forget(
      { includeProjectName: false },
      { containers: actions, restic, recorder },
    );
    expect(report.exitCode).to.equal(3);
    const w = byPath(report, `/volumes/${svc}`);
    expect(w.status).to.equal('invalid');
    expect(w.containers).to.deep.equal([prod, zz].sort());
    expect(w.error).to.include(prod).and.include(zz).and.include('--include-project-name');
    for (const name of [prod, zz]) {
      expect(recorder.list(`BackupWorkload/${name}`).map((e) => e.reason)).to.deep.equal([
        'PathCollision',
      ]);
    }
    expect(ids(await listSnapshots(r))).to.deep.equal(ids(before));
  });
});
