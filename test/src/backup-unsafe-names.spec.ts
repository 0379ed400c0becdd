import type Docker from 'dockerode';
import { expect } from 'chai';
import path from 'node:path';
import {
  DockerContainerActions,
  DockerodeClient,
  type ContainerActions,
  type OneShotMount,
} from '@dockop/docker';
import { runBackupOnce } from '@backrest-sidecar/controller-backup';
import { RESTIC_IMAGE, removeLabeled, requireEngine, runId } from './support/engine.js';
import {
  CapturingLogger,
  MemoryRecorder,
  makeRepo,
  removeDir,
  type Repo,
} from './retention-fixture.js';
import { removeVolumes, startWorkload } from './backup-fixture.js';

// A hostile compose service or project label on the real engine: backup-once --engine restic
// refuses that workload (Warning naming container, label, value), backs up its sibling, and no
// one-shot container ever gets a mount outside /volumes/.
describe('backup-once with unsafe compose names (integration)', function () {
  this.timeout(180_000);
  let docker: Docker;
  let actions: DockerContainerActions;
  let client: DockerodeClient;
  const run = runId();
  const runKey = 'dockop.test.run';
  const runVal = `unsafe-${run}`;
  const runLabel = `${runKey}=${runVal}`;
  const project = `un${run.replace(/[^a-z0-9]/g, '')}`;
  const names = {
    service: `unsafe-${run}-svc`,
    project: `unsafe-${run}-proj`,
    ok: `unsafe-${run}-ok`,
  };
  let repo: Repo;

  before(async function () {
    docker = await requireEngine(this);
    client = new DockerodeClient();
    actions = new DockerContainerActions(client);
    repo = await makeRepo('backup-unsafe');
    const volume = (n: string) => [
      { name: `${project}_${n}`, destination: '/data', files: { 'x.dat': n } },
    ];
    const labels = { 'backrest.enable': 'true' };
    await startWorkload(
      docker,
      { name: names.service, project, service: '../usr', labels, volumes: volume('svc') },
      { [runKey]: runVal },
    );
    await startWorkload(
      docker,
      { name: names.project, project: '../..', service: 'db', labels, volumes: volume('proj') },
      { [runKey]: runVal },
    );
    await startWorkload(
      docker,
      { name: names.ok, project, service: 'db', labels, volumes: volume('ok') },
      { [runKey]: runVal },
    );
  });

  after(async function () {
    if (docker) {
      await removeLabeled(docker, runLabel);
      await removeVolumes(docker, runLabel);
    }
    await removeDir(repo?.dir);
  });

  it('refuses the hostile workloads, backs up the valid one, mounts only under /volumes/', async () => {
    const mounts: OneShotMount[] = [];
    const recording = new Proxy(actions, {
      get(target, prop, receiver) {
        if (prop === 'runOneShot') {
          return async (...args: Parameters<ContainerActions['runOneShot']>) => {
            mounts.push(...(args[0].mounts ?? []));
            return target.runOneShot(...args);
          };
        }
        const v = Reflect.get(target, prop, receiver) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    const logger = new CapturingLogger();
    const recorder = new MemoryRecorder();
    for (const includeProjectName of [true, false]) {
      mounts.length = 0;
      const report = await runBackupOnce(
        {
          engine: 'restic',
          rcbEnvFile: repo.containerEnvFile,
          resticImage: RESTIC_IMAGE,
          resticMounts: [{ type: 'bind', source: repo.repo, target: '/repo' }],
          resticHost: 'unsafe-test',
          includeProjectName,
          noForget: true,
          selector: [runLabel],
          quiesceLabel: `dockop.test.quiesce-${run}=true`,
          stopTimeoutSec: 5,
          stateDir: path.join(repo.dir, `state-${includeProjectName}`),
          progress: 'log',
          progressIntervalMs: 0,
          oneShotLabels: { [runKey]: runVal },
        },
        { actions: recording, client, logger, recorder },
      );
      const byName = new Map(report.workloads.map((w) => [w.container, w]));
      expect(byName.get(names.ok)?.status, JSON.stringify(report)).to.equal('ok');
      const svc = byName.get(names.service);
      expect(svc?.status).to.equal('failed');
      expect(svc?.error)
        .to.contain(`container "${names.service}"`)
        .and.contain('com.docker.compose.service="../usr"');
      const proj = byName.get(names.project);
      expect(proj?.status).to.equal('failed');
      expect(proj?.error).to.contain('com.docker.compose.project="../.."');
      // Only the valid workload's volume, only under /volumes/, no dot segment anywhere.
      const targets = mounts.map((m) => m.target).filter((t) => t !== '/repo');
      expect(targets.length).to.be.greaterThan(0);
      for (const t of targets) {
        expect(path.posix.normalize(t).startsWith('/volumes/'), t).to.equal(true);
        expect(t.split('/'), t).to.not.include('..');
      }
      expect(mounts.map((m) => m.source)).to.not.include.oneOf([
        `${project}_svc`,
        `${project}_proj`,
      ]);
    }
    const warnings = recorder.events.filter((e) => e.reason === 'UnsafeName');
    expect(warnings.map((e) => e.key)).to.include.members([
      `BackupWorkload/${names.service}`,
      `BackupWorkload/${names.project}`,
    ]);
  });
});
