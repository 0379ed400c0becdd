// backup-once --engine restic over 20 small workloads: wall time, time inside the restic one-shot
// containers, and our overhead (wall − Σ one-shot durations); next to a baseline measured in the
// same run: the same 20 `restic backup` invocations as `docker run --rm` from a shell loop.
// Run: npx tsc -b && node bench/dist/backup-once.js   (needs the local engine and dockop/restic:local)
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import { createContainer, DockerContainerActions, DockerodeClient } from '@dockop/docker';
import { runBackupOnce } from '@backrest-sidecar/controller-backup';

const exec = promisify(execFile);
const WORKLOADS = 20;
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const IMAGE = 'dockop/restic:local';
const BUSYBOX = 'dockop/busybox:local';
const run = `${Date.now().toString(36)}`;
const project = `bench${run}`;
const label = `dockop.bench.run=${run}`;
const docker = new Docker();

function stats(xs: number[]): { median: number; min: number; max: number } {
  const s = [...xs].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)]!, min: s[0]!, max: s.at(-1)! };
}
const r = (n: number): number => Math.round(n);

async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), 'bench-backup-'));
  const repo = path.join(dir, 'repo');
  const envFile = path.join(dir, 'restic.env');
  await writeFile(envFile, 'RESTIC_REPOSITORY=/repo\nRESTIC_PASSWORD=bench\n');
  await exec('restic', ['init', '-q'], {
    env: { ...process.env, RESTIC_REPOSITORY: repo, RESTIC_PASSWORD: 'bench' },
  });
  const services = Array.from({ length: WORKLOADS }, (_, i) => `svc${String(i).padStart(2, '0')}`);
  try {
    for (const svc of services) {
      const vol = `${project}_${svc}`;
      await docker.createVolume({ Name: vol, Labels: { 'dockop.bench.run': run } });
      await exec('docker', [
        'run',
        '--rm',
        '-v',
        `${vol}:/d`,
        BUSYBOX,
        'sh',
        '-c',
        `for i in 1 2 3 4 5; do echo ${svc}-$i > /d/f$i.txt; done`,
      ]);
      await createContainer(docker, {
        name: `${project}-${svc}`,
        Image: BUSYBOX,
        Cmd: ['true'],
        Labels: {
          'dockop.bench.run': run,
          'backrest.enable': 'true',
          'com.docker.compose.project': project,
          'com.docker.compose.service': svc,
        },
        HostConfig: { Mounts: [{ Type: 'volume', Source: vol, Target: '/data' }] },
      });
    }
    const client = new DockerodeClient();
    const actions = new DockerContainerActions(client);
    const ours: { wall: number; inside: number; overhead: number }[] = [];
    const baseline: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const t0 = performance.now();
      const report = await runBackupOnce(
        {
          engine: 'restic',
          rcbEnvFile: envFile,
          resticImage: IMAGE,
          resticMounts: [{ type: 'bind', source: repo, target: '/repo' }],
          resticHost: 'bench',
          includeProjectName: true,
          selector: [label],
          quiesceLabel: `dockop.bench.quiesce-${run}=true`,
          stateDir: path.join(dir, 'state'),
          noForget: true,
          progress: 'none',
        },
        { actions, client },
      );
      const wall = performance.now() - t0;
      if (report.exitCode !== 0 || report.workloads.length !== WORKLOADS) {
        throw new Error(`backup-once failed: ${JSON.stringify(report).slice(0, 500)}`);
      }
      const inside = report.workloads.reduce((n, w) => n + (w.oneShotMs ?? 0), 0);
      ours.push({ wall, inside, overhead: wall - inside });

      // Baseline: the same 20 backups, one `docker run --rm` each, from a shell loop.
      const loop = services
        .map(
          (svc) =>
            `docker run --rm --label ${label} --env-file ${envFile} -v ${repo}:/repo -v ${project}_${svc}:/volumes/${project}/${svc}/data:ro ${IMAGE} backup /volumes/${project}/${svc} --json --host bench --tag baseline >/dev/null || exit 1`,
        )
        .join('\n');
      const b0 = performance.now();
      await exec('sh', ['-c', loop], { maxBuffer: 1 << 24 });
      baseline.push(performance.now() - b0);
    }
    const wall = stats(ours.map((o) => o.wall));
    const inside = stats(ours.map((o) => o.inside));
    const overhead = stats(ours.map((o) => o.overhead));
    const base = stats(baseline);
    console.log(
      JSON.stringify(
        {
          bench: 'backup-once --engine restic',
          host: hostname(),
          workloads: WORKLOADS,
          rounds: ROUNDS,
          wallMs: { median: r(wall.median), min: r(wall.min), max: r(wall.max) },
          insideOneShotsMs: { median: r(inside.median) },
          overheadMs: { median: r(overhead.median), perWorkload: r(overhead.median / WORKLOADS) },
          overheadShareOfWall: Math.round((overhead.median / wall.median) * 1000) / 1000,
          baselineShellLoopMs: { median: r(base.median), min: r(base.min), max: r(base.max) },
          wallVsBaseline: Math.round((wall.median / base.median) * 1000) / 1000,
        },
        null,
        2,
      ),
    );
  } finally {
    const cs = await docker.listContainers({ all: true, filters: { label: [label] } });
    await Promise.all(
      cs.map((c) =>
        docker
          .getContainer(c.Id)
          .remove({ force: true })
          .catch(() => undefined),
      ),
    );
    const { Volumes } = await docker.listVolumes({ filters: { label: [label] } });
    await Promise.all(
      (Volumes ?? []).map((v) =>
        docker
          .getVolume(v.Name)
          .remove()
          .catch(() => undefined),
      ),
    );
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
