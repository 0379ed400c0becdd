import type Docker from 'dockerode';
import { expect } from 'chai';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { createContainer } from '@dockop/docker';
import { WORKLOAD_IMAGE, removeLabeled, requireEngine, runId } from './support/engine.js';
import { runCli } from './support/plan-cli.js';
import {
  idAt,
  listSnapshots,
  makeRepo,
  makeSnapshots,
  removeDir,
  type Repo,
} from './retention-fixture.js';

interface StatusFile {
  retention?: { keep: string; outcome: string; kept: number; removed: number };
  conditions: { type: string; status: string; reason: string; message: string }[];
}

// `backrest-sidecar forget`, the one-shot that is `manager.runOnce` over the retention
// controller: from the CLI bundle against a real restic repository, its flags, log lines and
// exit codes as before, and each workload's RetentionSatisfied written to its status file.
describe('forget (CLI over the retention controller, integration, real restic)', function () {
  this.timeout(180_000);
  let docker: Docker;
  let repo: Repo;
  const run = runId();
  const runLabel = `dockop.test.run=forgetcli-${run}`;
  const project = `fc${run.replace(/[^a-z0-9]/g, '')}`;
  const p = (service: string): string => `/volumes/${project}/${service}`;
  const names = { app: `forgetcli-${run}-app`, bad: `forgetcli-${run}-bad` };
  const times = ['2026-01-10 10:00:00', '2026-02-10 10:00:00', '2026-03-10 10:00:00'];
  const flags = () => [
    '--rcb-env-file',
    repo.hostEnvFile,
    '--restic-host',
    'fixture',
    '--include-project-name',
    '--selector',
    runLabel,
    '--state-dir',
    path.join(repo.dir, 'state'),
    '--log-format',
    'json',
  ];
  const status = async (name: string): Promise<StatusFile | undefined> => {
    try {
      const file = path.join(repo.dir, 'state', 'workloads', `${name}.json`);
      return JSON.parse(await readFile(file, 'utf8')) as StatusFile;
    } catch {
      return undefined;
    }
  };

  before(async function () {
    docker = await requireEngine(this);
    repo = await makeRepo('forget-cli');
    await makeSnapshots(
      repo,
      [
        ...times.map((time) => ({ paths: [p('app')], time })),
        ...times.map((time) => ({ paths: [p('bad')], time })),
      ],
      runLabel,
    );
    for (const [service, keep] of [
      ['app', 'last=1'],
      ['bad', 'last=0'],
    ] as const) {
      const c = await createContainer(docker, {
        name: names[service],
        Image: WORKLOAD_IMAGE,
        Cmd: ['sleep', '3600'],
        Labels: {
          'dockop.test.run': `forgetcli-${run}`,
          'com.docker.compose.project': project,
          'com.docker.compose.service': service,
          'backrest.enable': 'true',
          'backrest.keep': keep,
        },
      });
      await c.start();
    }
  });

  after(async function () {
    if (docker) await removeLabeled(docker, runLabel);
    await removeDir(repo?.dir);
  });

  it('--dry-run: reports, removes nothing, writes no status; then forget applies, exit 3 for the invalid keep', async () => {
    const initial = await listSnapshots(repo);
    const dry = await runCli(['forget', '--dry-run', ...flags()]);
    expect(dry.code, dry.stderr).to.equal(3);
    const dryApp = dry.logs.find(
      (l) => l.action === 'retention.result' && (l.containers as string[])[0] === names.app,
    );
    expect(dryApp, dry.stderr).to.deep.include({ status: 'forgotten', keep: 'last=1', kept: 1 });
    expect(dryApp?.wouldRemove).to.have.length(2);
    expect(await listSnapshots(repo)).to.have.length(initial.length);
    expect(await status(names.app)).to.equal(undefined);

    const res = await runCli(['forget', ...flags()]);
    expect(res.code, res.stderr).to.equal(3);
    const bad = res.logs.find(
      (l) => l.action === 'retention.result' && (l.containers as string[])[0] === names.bad,
    );
    expect(bad).to.deep.include({ status: 'invalid', keep: 'last=0' });
    expect(String(bad?.error)).to.contain(names.bad).and.contain('backrest.keep');
    const after = await listSnapshots(repo);
    expect(after.filter((s) => s.paths[0] === p('app')).map((s) => s.short_id)).to.deep.equal([
      idAt(initial, [p('app')], times[2]!),
    ]);
    expect(after.filter((s) => s.paths[0] === p('bad'))).to.have.length(3);

    const app = await status(names.app);
    expect(app?.retention).to.deep.include({ keep: 'last=1', outcome: 'forgotten', removed: 2 });
    expect(app?.conditions.find((c) => c.type === 'RetentionSatisfied')).to.include({
      status: 'True',
      reason: 'PolicyApplied',
    });
    const refused = await status(names.bad);
    expect(refused?.conditions.find((c) => c.type === 'RetentionSatisfied')).to.include({
      status: 'False',
      reason: 'InvalidPolicy',
    });
  });
});
