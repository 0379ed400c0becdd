// Fixtures for backup-once integration tests: labeled running workloads with named volumes and
// bind mounts holding files, and a locally built stand-in for the restic-compose-backup image.
import type Docker from 'dockerode';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { WORKLOAD_IMAGE } from './support/engine.js';
import { exec } from './retention-fixture.js';
import { createContainer } from '@dockop/docker';

export interface WorkloadSpec {
  name: string;
  project: string;
  service: string;
  labels: Record<string, string>;
  /** Named volume → { destination, files }. */
  volumes?: { name: string; destination: string; files: Record<string, string> }[];
  /** Host dir → destination (files written into the host dir). */
  binds?: { dir: string; destination: string; files: Record<string, string> }[];
  dependsOn?: string[];
}

/** Creates the volumes (filled with `files`), then the workload container, and starts it. */
export async function startWorkload(
  docker: Docker,
  spec: WorkloadSpec,
  runLabel: Record<string, string>,
): Promise<string> {
  for (const v of spec.volumes ?? []) {
    await docker.createVolume({ Name: v.name, Labels: runLabel });
    const script = Object.entries(v.files)
      .map(([f, c]) => `mkdir -p "$(dirname /v/${f})" && printf '%s' '${c}' > /v/${f}`)
      .join(' && ');
    await exec('docker', [
      'run',
      '--rm',
      '--label',
      Object.entries(runLabel).map(([k, val]) => `${k}=${val}`)[0]!,
      '-v',
      `${v.name}:/v`,
      WORKLOAD_IMAGE,
      'sh',
      '-c',
      script,
    ]);
  }
  for (const b of spec.binds ?? []) {
    for (const [f, c] of Object.entries(b.files)) {
      await mkdir(path.dirname(path.join(b.dir, f)), { recursive: true });
      await writeFile(path.join(b.dir, f), c);
    }
  }
  const c = await createContainer(docker, {
    name: spec.name,
    Image: WORKLOAD_IMAGE,
    Cmd: ['sh', '-c', 'trap "exit 0" TERM; while true; do sleep 1; done'],
    Labels: {
      ...runLabel,
      'com.docker.compose.project': spec.project,
      'com.docker.compose.service': spec.service,
      ...(spec.dependsOn
        ? {
            'com.docker.compose.depends_on': spec.dependsOn
              .map((d) => `${d}:service_started:false`)
              .join(','),
          }
        : {}),
      ...spec.labels,
    },
    HostConfig: {
      Mounts: [
        ...(spec.volumes ?? []).map((v) => ({
          Type: 'volume' as const,
          Source: v.name,
          Target: v.destination,
        })),
        ...(spec.binds ?? []).map((b) => ({
          Type: 'bind' as const,
          Source: b.dir,
          Target: b.destination,
        })),
      ],
    },
  });
  await c.start();
  return c.id;
}

export async function isRunning(docker: Docker, name: string): Promise<boolean> {
  const info = await docker.getContainer(name).inspect();
  return info.State.Running;
}

export async function removeVolumes(docker: Docker, label: string): Promise<void> {
  const { Volumes } = await docker.listVolumes({ filters: { label: [label] } });
  await Promise.all(
    (Volumes ?? []).map((v) =>
      docker
        .getVolume(v.Name)
        .remove()
        .catch(() => undefined),
    ),
  );
}

/**
 * A stand-in for zettaio/restic-compose-backup: busybox plus an `rcb` script that records its
 * argv, env and mounts to /out/record.txt (a bind-mounted dir) and stdout, then sleeps
 * $RCB_SLEEP seconds and exits $RCB_EXIT (both from the env file).
 */
export async function buildRcbStandIn(tag: string, runLabel: string): Promise<void> {
  const script = [
    '#!/bin/sh',
    'out=/out/record.txt',
    '{',
    '  echo "argv: $0 $*"',
    '  echo "--- env"',
    '  env | sort',
    '  echo "--- mounts"',
    '  grep -E " /tmp/docker.sock | /out " /proc/self/mountinfo',
    '  if [ -S /tmp/docker.sock ]; then echo "socket: yes"; else echo "socket: no"; fi',
    '} > $out 2>&1',
    'cat $out',
    'echo "rcb stand-in: backing up" >&2',
    'sleep "${RCB_SLEEP:-0}"',
    'exit "${RCB_EXIT:-0}"',
  ].join('\n');
  const builder = `rcb-build-${tag.replace(/[^a-z0-9]/gi, '')}`;
  await exec('docker', [
    'run',
    '--name',
    builder,
    '--label',
    runLabel,
    WORKLOAD_IMAGE,
    'sh',
    '-c',
    `mkdir -p /usr/local/bin /out && cat > /usr/local/bin/rcb <<'EOF'\n${script}\nEOF\nchmod +x /usr/local/bin/rcb`,
  ]);
  await exec('docker', [
    'commit',
    '--change',
    'ENV PATH=/usr/local/bin:/usr/bin:/bin',
    '--change',
    'CMD ["rcb","--help"]',
    builder,
    tag,
  ]);
  await exec('docker', ['rm', '-f', builder]);
}
