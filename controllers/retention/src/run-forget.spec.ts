import { expect } from 'chai';
import type Dockerode from 'dockerode';
import { runForget, type ForgetDeps, type ForgetOptions } from './run-forget.js';
import { trustAllLabels } from '@backrest-sidecar/api';
import type {
  ResticRunOptions,
  ResticRunResult,
  ResticRunner,
  ResticSnapshot,
} from '@backrest-sidecar/restic';

function container(
  name: string,
  labels: Record<string, string>,
  state = 'running',
): Dockerode.ContainerInfo {
  return {
    Id: `id-${name}`,
    Names: [`/${name}`],
    ImageID: `sha256:image-of-${name}`,
    Labels: labels,
    State: state,
    Mounts: [],
  } as unknown as Dockerode.ContainerInfo;
}
const compose = (project: string, service: string, keep: string) => ({
  'com.docker.compose.project': project,
  'com.docker.compose.service': service,
  'backrest.enable': 'true',
  'backrest.keep': keep,
});
/** runForget as host `h` (the fake snapshots' host), trusting every label unless told. */
function forget(
  options: Omit<ForgetOptions, 'host'> & { host?: string },
  deps: Omit<ForgetDeps, 'trust'> & { trust?: ForgetDeps['trust'] },
) {
  return runForget({ host: 'h', ...options }, { trust: trustAllLabels, ...deps });
}
let n = 0;
function snap(...paths: string[]): ResticSnapshot {
  return snapOf('h', ...paths);
}
function snapOf(hostname: string, ...paths: string[]): ResticSnapshot {
  n++;
  const short = n.toString(16).padStart(8, '0');
  return {
    id: short.repeat(8),
    short_id: short,
    time: '2026-01-01T00:00:00Z',
    paths,
    hostname,
  };
}

/** Answers `snapshots` from a list and `forget` with a policy "remove all but the newest" per group. */
class FakeRestic implements ResticRunner {
  readonly description = 'fake';
  readonly calls: string[][] = [];
  constructor(readonly snapshots: ResticSnapshot[]) {}
  async run(args: string[], _opts?: ResticRunOptions): Promise<ResticRunResult> {
    this.calls.push(args);
    const ok = (stdout: string): ResticRunResult => ({
      exitCode: 0,
      stdout,
      stderr: '',
      durationMs: 1,
    });
    if (args[0] === 'snapshots') return ok(JSON.stringify(this.snapshots));
    if (args[0] === 'forget' && args.includes('--path')) {
      const path = args[args.indexOf('--path') + 1]!;
      const host = args.includes('--host') ? args[args.indexOf('--host') + 1] : undefined;
      const matching = this.snapshots.filter(
        (s) => s.paths.includes(path) && (host === undefined || s.hostname === host),
      );
      const groups = new Map<string, ResticSnapshot[]>();
      for (const s of matching)
        groups.set(s.paths.join('\n'), [...(groups.get(s.paths.join('\n')) ?? []), s]);
      if (groups.size === 0) return ok('');
      const out = [...groups.values()].map((g) => ({
        tags: null,
        host: g[0]!.hostname,
        paths: g[0]!.paths,
        keep: g.slice(-1),
        remove: g.length > 1 ? g.slice(0, -1) : null,
        reasons: [],
      }));
      return ok(`${JSON.stringify(out)}\nloading indexes...\n`);
    }
    return ok('');
  }
}

describe('runForget (fake restic)', () => {
  it('runs exactly `forget --host <host> --group-by host,paths --path <path> <keep flags> --prune --json` per workload', async () => {
    const a = [snap('/volumes/p/app'), snap('/volumes/p/app')];
    const restic = new FakeRestic(a);
    const report = await forget(
      { includeProjectName: true },
      {
        containers: {
          list: async () => [container('p-app-1', compose('p', 'app', 'within=90d,last=7'))],
        },
        restic,
      },
    );
    expect(restic.calls).to.deep.equal([
      ['snapshots', '--json'],
      [
        'forget',
        '--host',
        'h',
        '--group-by',
        'host,paths',
        '--path',
        '/volumes/p/app',
        '--keep-last',
        '7',
        '--keep-within',
        '90d',
        '--prune',
        '--json',
      ],
    ]);
    expect(report.exitCode).to.equal(0);
    expect(report.workloads[0]!.removed).to.deep.equal([a[0]!.short_id]);
  });

  it('refuses a workload whose compose service or project could leave /volumes/, and forgets the others', async () => {
    const restic = new FakeRestic([
      snap('/volumes/db'),
      snap('/volumes/db'),
      snap('/volumes/p/db'),
      snap('/volumes/p/db'),
      snap('/usr'),
    ]);
    const list = async () => [
      container('evil', compose('p', '../usr', 'last=1')),
      container('evil2', compose('..', 'db2', 'last=1')),
      container('db', compose('p', 'db', 'last=1')),
    ];
    for (const includeProjectName of [false, true]) {
      restic.calls.length = 0;
      const report = await forget({ includeProjectName }, { containers: { list }, restic });
      const paths = restic.calls
        .filter((c) => c[0] === 'forget')
        .map((c) => c[c.indexOf('--path') + 1]);
      expect(paths).to.deep.equal([includeProjectName ? '/volumes/p/db' : '/volumes/db']);
      const evil = report.workloads.find((w) => w.containers.includes('evil'));
      expect(evil?.status).to.equal('invalid');
      expect(evil?.error)
        .to.contain('container "evil"')
        .and.contain('com.docker.compose.service="../usr"');
      const evil2 = report.workloads.find((w) => w.containers.includes('evil2'));
      expect(evil2?.error).to.contain('com.docker.compose.project=".."');
      expect(report.exitCode).to.equal(3);
    }
  });

  it('passes --dry-run instead of --prune, and --prune only once at the end with prune=once', async () => {
    const restic = new FakeRestic([
      snap('/volumes/app'),
      snap('/volumes/app'),
      snap('/volumes/db'),
      snap('/volumes/db'),
    ]);
    const list = async () => [
      container('app', compose('p', 'app', 'last=1')),
      container('db', compose('p', 'db', 'last=1')),
    ];
    await forget({ dryRun: true }, { containers: { list }, restic });
    expect(
      restic.calls
        .filter((c) => c[0] === 'forget')
        .every((c) => c.includes('--dry-run') && !c.includes('--prune')),
    ).to.equal(true);
    restic.calls.length = 0;
    await forget({ prune: 'once' }, { containers: { list }, restic });
    expect(restic.calls.filter((c) => c.includes('--prune'))).to.deep.equal([]);
    expect(restic.calls.at(-1)).to.deep.equal(['prune']);
  });

  it('never runs restic for an invalid keep label, names container, label and value, and goes on (exit 3)', async () => {
    const restic = new FakeRestic([snap('/volumes/ok'), snap('/volumes/ok')]);
    const report = await forget(
      {},
      {
        containers: {
          list: async () => [
            container('bad', compose('p', 'bad', 'weekly')),
            container('ok', compose('p', 'ok', 'last=1')),
          ],
        },
        restic,
      },
    );
    expect(restic.calls.some((c) => c.includes('/volumes/bad'))).to.equal(false);
    const bad = report.workloads.find((w) => w.containers[0] === 'bad')!;
    expect(bad.status).to.equal('invalid');
    expect(bad.error).to.equal(
      'container "bad": label backrest.keep="weekly" is invalid: term "weekly" is not key=value',
    );
    expect(report.workloads.find((w) => w.containers[0] === 'ok')!.status).to.equal('forgotten');
    expect(report.exitCode).to.equal(3);
  });

  it('refuses replicas of one path that disagree on backrest.keep; agreeing replicas share one forget', async () => {
    const restic = new FakeRestic([snap('/volumes/web'), snap('/volumes/api')]);
    const report = await forget(
      {},
      {
        containers: {
          list: async () => [
            container('web-1', compose('p', 'web', 'last=1')),
            container('web-2', compose('p', 'web', 'last=2')),
            container('api-1', compose('p', 'api', 'daily=3')),
            container('api-2', compose('p', 'api', 'daily=3')),
          ],
        },
        restic,
      },
    );
    const web = report.workloads.find((w) => w.path === '/volumes/web')!;
    expect(web.status).to.equal('invalid');
    expect(web.error)
      .to.include('web-1: backrest.keep="last=1"')
      .and.include('web-2: backrest.keep="last=2"');
    expect(report.workloads.find((w) => w.path === '/volumes/api')!.containers).to.deep.equal([
      'api-1',
      'api-2',
    ]);
    expect(restic.calls.filter((c) => c[0] === 'forget')).to.have.length(1);
  });

  it('forgets multi-path snapshots never: dry-run first, then only single-path ids by id', async () => {
    const single = [snap('/volumes/app'), snap('/volumes/app'), snap('/volumes/app')];
    const shared = [snap('/volumes/app', '/volumes/db'), snap('/volumes/app', '/volumes/db')];
    const restic = new FakeRestic([...single, ...shared]);
    const report = await forget(
      {},
      {
        containers: { list: async () => [container('app', compose('p', 'app', 'last=1'))] },
        restic,
      },
    );
    const forgets = restic.calls.filter((c) => c[0] === 'forget');
    expect(forgets[0]).to.include('--dry-run');
    expect(forgets[1]).to.deep.equal(['forget', '--prune', single[0]!.id, single[1]!.id]);
    expect(report.workloads[0]!.removed).to.deep.equal([single[0]!.short_id, single[1]!.short_id]);
    expect(report.workloads[0]!.warnings[0]).to.include(
      '2 snapshot(s) hold /volumes/app together with other paths (/volumes/db)',
    );
  });

  it('does not run forget when nothing can match, and says why (or that the repository is empty)', async () => {
    const whole = new FakeRestic([snap('/volumes')]);
    const list = async () => [container('app', compose('p', 'app', 'last=1'))];
    const r1 = await forget({}, { containers: { list }, restic: whole });
    expect(whole.calls.map((c) => c[0])).to.deep.equal(['snapshots']);
    expect(r1.workloads[0]!.status).to.equal('no-match');
    expect(r1.workloads[0]!.warnings[0]).to.include('cover /volumes as a whole');
    const empty = new FakeRestic([]);
    const r2 = await forget({}, { containers: { list }, restic: empty });
    expect(r2.workloads[0]!.status).to.equal('no-snapshots');
    expect(r2.workloads[0]!.warnings).to.deep.equal([]);
  });

  it('filters the Docker list with backrest.keep plus the selector, and honours only', async () => {
    const seen: Record<string, string[]>[] = [];
    const restic = new FakeRestic([]);
    const report = await forget(
      { selector: ['com.docker.compose.project=p'], only: ['b'] },
      {
        containers: {
          list: async (f) => {
            seen.push(f);
            return [
              container('a', compose('p', 'a', 'last=1')),
              container('b', compose('p', 'b', 'last=1')),
            ];
          },
        },
        restic,
      },
    );
    expect(seen).to.deep.equal([
      { label: ['backrest.keep', 'com.docker.compose.project=p'] },
      { label: ['backrest.enable', 'com.docker.compose.project=p'] },
      { label: ['restic-compose-backup.volumes', 'com.docker.compose.project=p'] },
    ]);
    expect(report.workloads.map((w) => w.containers)).to.deep.equal([['b']]);
  });

  it('a failing restic for one workload is reported and the next still runs; a failing snapshots listing is fatal', async () => {
    class Failing extends FakeRestic {
      override async run(args: string[]): Promise<ResticRunResult> {
        if (args.includes('/volumes/a'))
          return { exitCode: 1, stdout: '', stderr: 'Fatal: boom', durationMs: 1 };
        return super.run(args);
      }
    }
    const restic = new Failing([snap('/volumes/a'), snap('/volumes/b'), snap('/volumes/b')]);
    const list = async () => [
      container('a', compose('p', 'a', 'last=1')),
      container('b', compose('p', 'b', 'last=1')),
    ];
    const report = await forget({}, { containers: { list }, restic });
    expect(report.workloads.map((w) => w.status)).to.deep.equal(['failed', 'forgotten']);
    expect(report.workloads[0]!.error).to.include('Fatal: boom');
    expect(report.exitCode).to.equal(3);
    const down: ResticRunner = {
      description: 'down',
      run: async () => ({
        exitCode: 1,
        stdout: '',
        stderr: 'Fatal: unable to open repo',
        durationMs: 1,
      }),
    };
    const fatal = await forget({}, { containers: { list }, restic: down });
    expect(fatal.exitCode).to.equal(1);
    expect(fatal.fatal).to.include('unable to open repo');
  });

  it('selects only running containers with backrest.enable=true and a trusted backrest.keep', async () => {
    const restic = new FakeRestic(
      ['a', 'b', 'c', 'd', 'e'].flatMap((x) => [snap(`/volumes/${x}`), snap(`/volumes/${x}`)]),
    );
    const noEnable = { ...compose('p', 'b', 'last=1'), 'backrest.enable': 'false' };
    const lines: string[] = [];
    const logger = {
      info: (a: string) => void lines.push(a),
      warn: (a: string) => void lines.push(a),
      error: (a: string) => void lines.push(a),
      debug: () => undefined,
      child() {
        return this;
      },
    };
    const report = await forget(
      {},
      {
        containers: {
          list: async () => [
            container('a', compose('p', 'a', 'last=1')),
            container('b', noEnable),
            container('c', compose('p', 'c', 'last=1'), 'exited'),
            container('d', compose('p', 'd', 'last=1')),
            container('e', compose('p', 'e', 'last=1')),
          ],
        },
        restic,
        logger,
        trust: { untrusted: async (t, keys) => (t.name === 'd' ? [...keys] : []) },
      },
    );
    const forgotten = restic.calls
      .filter((c) => c[0] === 'forget')
      .map((c) => c[c.indexOf('--path') + 1]);
    expect(forgotten).to.deep.equal(['/volumes/a', '/volumes/e']);
    const d = report.workloads.find((w) => w.containers[0] === 'd')!;
    expect(d.status).to.equal('untrusted');
    expect(d.warnings[0])
      .to.include('container "d"')
      .and.include('backrest.keep="last=1"')
      .and.include('image');
    expect(lines).to.include('retention.not_enabled').and.include('retention.not_running');
    expect(report.exitCode).to.equal(0);
  });

  it('fails closed when the trust of a keep label cannot be decided', async () => {
    const restic = new FakeRestic([snap('/volumes/a'), snap('/volumes/a')]);
    const report = await forget(
      {},
      {
        containers: { list: async () => [container('a', compose('p', 'a', 'last=1'))] },
        restic,
        trust: {
          untrusted: async () => {
            throw new Error('engine down');
          },
        },
      },
    );
    expect(restic.calls.filter((c) => c[0] === 'forget')).to.deep.equal([]);
    expect(report.workloads[0]!.status).to.equal('untrusted');
  });

  it('refuses two workloads mapping to one path, naming both and --include-project-name', async () => {
    const snaps = [
      snap('/volumes/db'),
      snap('/volumes/db'),
      snap('/volumes/prod/db'),
      snap('/volumes/prod/db'),
    ];
    const list = async () => [
      container('prod-db-1', compose('prod', 'db', 'last=1')),
      // Enabled without keep: its backups land at /volumes/db too.
      container(
        'zz-db-1',
        {
          'com.docker.compose.project': 'zz',
          'com.docker.compose.service': 'db',
          'backrest.enable': 'true',
        },
        'exited',
      ),
    ];
    const restic = new FakeRestic(snaps);
    const report = await forget({}, { containers: { list }, restic });
    expect(restic.calls.filter((c) => c[0] === 'forget')).to.deep.equal([]);
    const w = report.workloads.find((x) => x.path === '/volumes/db')!;
    expect(w.status).to.equal('invalid');
    expect(w.containers).to.deep.equal(['prod-db-1', 'zz-db-1']);
    expect(w.error)
      .to.include('prod-db-1')
      .and.include('zz-db-1')
      .and.include('--include-project-name');
    expect(report.exitCode).to.equal(3);
    const separated = new FakeRestic(snaps);
    const ok = await forget(
      { includeProjectName: true },
      { containers: { list }, restic: separated },
    );
    expect(ok.workloads.map((x) => [x.path, x.status])).to.deep.equal([
      ['/volumes/prod/db', 'forgotten'],
    ]);
  });

  it("never forgets another host's snapshots: scoped by --host, and says so when only others match", async () => {
    const mine = [snap('/volumes/a'), snap('/volumes/a')];
    const theirs = [
      snapOf('other', '/volumes/a'),
      snapOf('other', '/volumes/a'),
      snapOf('other', '/volumes/b'),
    ];
    const restic = new FakeRestic([...mine, ...theirs]);
    const report = await forget(
      {},
      {
        containers: {
          list: async () => [
            container('a', compose('p', 'a', 'last=1')),
            container('b', compose('p', 'b', 'last=1')),
          ],
        },
        restic,
      },
    );
    const a = report.workloads.find((w) => w.path === '/volumes/a')!;
    expect(a.removed).to.deep.equal([mine[0]!.short_id]);
    const b = report.workloads.find((w) => w.path === '/volumes/b')!;
    expect(b.status).to.equal('no-match');
    expect(b.warnings[0]).to.include('"other"').and.include('none by "h"');
    expect(restic.calls.filter((c) => c[0] === 'forget')).to.have.length(1);
  });
});
