/**
 * The steps `restore` and `verify` share: a restic runner for the repository, scratch volumes,
 * `restic restore` into mounts, and the copy from a scratch volume into a workload's volumes.
 */
import path from 'node:path/posix';
import type { ContainerActions, DockerVolumeActions, OneShotMount } from '@dockop/docker';
import type { Logger, Redactor } from '@dockop/runtime';
import { createResticRunner, runResticChecked, type ResticRunner } from '@backrest-sidecar/restic';
import { workloadFromContainerInfo, type WorkloadTarget } from '@backrest-sidecar/api';
import { DEFAULT_RESTIC_IMAGE } from '@backrest-sidecar/restic';
import { ONE_SHOT_LABEL, RUN_LABEL } from './backup-options.js';
import { SCRATCH_LABEL, type RepositoryOptions } from './restore-options.js';
import type { RestoreItem } from './restore-plan.js';

/** Where the restic one-shot mounts what it restores into. */
export const RESTORE_ROOT = '/restore';

/** Labels of every one-shot and scratch volume of run `runId`. */
export function runLabels(
  options: Pick<RepositoryOptions, 'oneShotLabels'>,
  runId: string,
): Record<string, string> {
  return { ...options.oneShotLabels, [ONE_SHOT_LABEL]: 'true', [RUN_LABEL]: runId };
}

/** The repository's restic, in one-shot containers (the same env and mounts as backup-once's). */
export function repositoryRunner(
  options: RepositoryOptions,
  actions: Pick<ContainerActions, 'runOneShot'>,
  labels: Record<string, string>,
  redactor: Redactor,
  env: NodeJS.ProcessEnv = process.env,
): Promise<ResticRunner> {
  return createResticRunner(
    {
      kind: 'container',
      image: options.resticImage ?? DEFAULT_RESTIC_IMAGE,
      ...(options.rcbEnvFile ? { envFile: options.rcbEnvFile } : {}),
      ...(options.resticMounts?.length ? { mounts: options.resticMounts } : {}),
      labels,
      redactor,
    },
    actions,
    env,
  );
}

/** A snapshot path must be absolute and clean before it becomes a mount target. */
export function checkSnapshotPath(p: string): string {
  if (
    !p.startsWith('/') ||
    path.normalize(p) !== p ||
    p.split('/').includes('..') ||
    (p.length > 1 && p.endsWith('/'))
  ) {
    throw new Error(
      `snapshot path ${JSON.stringify(p.slice(0, 200))} is not a clean absolute path`,
    );
  }
  return p;
}

/**
 * `restic restore <id> --target /restore`, with `mounts` (at `/restore<snapshot path>`)
 * receiving the parts listed in `includes` (everything when empty).
 */
export async function resticRestore(
  runner: ResticRunner,
  snapshotId: string,
  mounts: OneShotMount[],
  includes: string[],
  signal?: AbortSignal,
): Promise<void> {
  await runResticChecked(
    runner,
    [
      'restore',
      snapshotId,
      '--target',
      RESTORE_ROOT,
      ...includes.flatMap((p) => ['--include', checkSnapshotPath(p)]),
    ],
    { mounts, ...(signal ? { signal } : {}) },
  );
}

/** Whether `p` is a file (not a directory) in snapshot `id` (`restic ls --json id <parent>`). */
export async function snapshotPathIsFile(
  runner: ResticRunner,
  id: string,
  p: string,
  signal?: AbortSignal,
): Promise<boolean> {
  const parent = path.dirname(checkSnapshotPath(p));
  const res = await runResticChecked(
    runner,
    ['ls', '--json', id, parent],
    signal ? { signal } : {},
  );
  for (const line of res.stdout.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const node = JSON.parse(line) as { path?: unknown; type?: unknown; struct_type?: unknown };
      if (node.struct_type === 'node' && node.path === p) return node.type === 'file';
    } catch {
      // not a node line
    }
  }
  return false;
}

/** Scratch volumes (restore staging, verify drills) of run `runId`: named, labelled, removable. */
export class ScratchVolumes {
  readonly #volumes: Pick<DockerVolumeActions, 'create' | 'remove'>;
  readonly #labels: Record<string, string>;
  readonly #prefix: string;
  readonly #created: string[] = [];
  readonly #logger: Logger;

  constructor(
    volumes: Pick<DockerVolumeActions, 'create' | 'remove'>,
    runId: string,
    labels: Record<string, string>,
    logger: Logger,
  ) {
    this.#volumes = volumes;
    this.#labels = { ...labels, [SCRATCH_LABEL]: 'true' };
    this.#prefix = `backrest-sidecar-scratch-${runId}`;
    this.#logger = logger;
  }

  async create(purpose: string): Promise<string> {
    const name = `${this.#prefix}-${this.#created.length}-${purpose.replace(/[^a-z0-9]/gi, '')}`;
    await this.#volumes.create(name, this.#labels);
    this.#created.push(name);
    return name;
  }

  /** Removes every volume this run created; failures are logged, never thrown (cleanup path). */
  async removeAll(): Promise<string[]> {
    const failed: string[] = [];
    for (const name of this.#created.splice(0)) {
      try {
        await this.#volumes.remove(name, { force: true });
      } catch (err) {
        failed.push(name);
        this.#logger.warn('scratch.remove_failed', { volume: name, error: (err as Error).message });
      }
    }
    return failed;
  }
}

/** Scratch volumes older than this, and not in use, are a killed run's leftovers. */
export const STALE_SCRATCH_MS = 24 * 3_600_000;

/**
 * Removes scratch volumes a killed restore or drill left behind: labelled SCRATCH_LABEL, created
 * more than STALE_SCRATCH_MS ago (a live run's volume is younger than its one-shot deadline),
 * and not in use (Docker refuses to remove a mounted volume). Best effort: logs, never throws.
 */
export async function removeStaleScratch(
  volumes: Pick<DockerVolumeActions, 'list' | 'remove'>,
  logger: Logger,
  now: number = Date.now(),
  actions?: Pick<ContainerActions, 'removeLeftovers'>,
): Promise<string[]> {
  const removed: string[] = [];
  try {
    for (const v of await volumes.list({ [SCRATCH_LABEL]: 'true' })) {
      const created = Date.parse(v.createdAt);
      if (!Number.isFinite(created) || now - created < STALE_SCRATCH_MS) continue;
      try {
        // The dead run's stopped one-shots still hold the volume (kill -9 left them).
        const run = v.labels[RUN_LABEL];
        if (actions && run)
          await actions.removeLeftovers({ [ONE_SHOT_LABEL]: 'true', [RUN_LABEL]: run });
        if (await volumes.remove(v.name)) {
          removed.push(v.name);
          logger.info('scratch.leftover_removed', { volume: v.name, createdAt: v.createdAt });
        }
      } catch (err) {
        logger.debug('scratch.leftover_kept', { volume: v.name, error: (err as Error).message });
      }
    }
  } catch (err) {
    logger.warn('scratch.list_failed', { error: (err as Error).message });
  }
  return removed;
}

/**
 * Copies the staged restore (scratch volume) into the destinations, replacing their contents:
 * a directory is emptied first (files the snapshot does not hold would otherwise survive, e.g. a
 * later WAL segment next to a restored database), a single file is rewritten in place (a bind
 * mounted file keeps its inode). Runs the restic image's shell; not cancelled by the caller's
 * signal, so an abort never leaves a half-copied volume behind.
 */
export async function copyFromScratch(
  actions: Pick<ContainerActions, 'runOneShot'>,
  image: string,
  scratch: string,
  items: RestoreItem[],
  labels: Record<string, string>,
  timeoutMs?: number,
): Promise<{ exitCode: number; output: string }> {
  const script = [
    'set -u',
    'while [ "$#" -ge 2 ]; do',
    '  src="$1"; dst="$2"; shift 2',
    '  if [ -d "$src" ]; then',
    '    mkdir -p "$dst" || exit 1',
    '    find "$dst" -mindepth 1 -maxdepth 1 -exec rm -rf {} + || exit 1',
    '    cp -a "$src/." "$dst/" || exit 1',
    '  elif [ -e "$src" ]; then',
    '    cat "$src" > "$dst" || exit 1',
    '  else',
    '    echo "not in the restored snapshot: $src" >&2; exit 1',
    '  fi',
    '  echo "restored $dst"',
    'done',
  ].join('\n');
  const mounts: OneShotMount[] = [
    { type: 'volume', source: scratch, target: '/staged', readOnly: true },
  ];
  const args: string[] = [];
  items.forEach((item, i) => {
    mounts.push({
      type: item.destination.type,
      source: item.destination.source,
      target: `/dest/${i}`,
      readOnly: false,
    });
    args.push(
      `/staged${checkSnapshotPath(item.snapshotPath)}`,
      item.subPath ? `/dest/${i}/${item.subPath}` : `/dest/${i}`,
    );
  });
  const lines: string[] = [];
  const res = await actions.runOneShot(
    { image, entrypoint: ['sh'], cmd: ['-c', script, 'restore-copy', ...args], mounts, labels },
    {
      ...(timeoutMs !== undefined ? { timeoutMs } : {}),
      onLog: (line) => lines.push(line),
    },
  );
  return { exitCode: res.exitCode, output: lines.slice(-5).join(' | ') };
}

/**
 * The workload and the running containers of its compose project that depend on it (directly
 * or through others): what an in-place restore stops, dependents first.
 */
export async function restoreStopSet(
  actions: Pick<ContainerActions, 'list'>,
  target: WorkloadTarget,
): Promise<WorkloadTarget[]> {
  const project = target.compose?.project;
  const service = target.compose?.service;
  if (!project || !service) return [target];
  const peers = (await actions.list({ label: [`com.docker.compose.project=${project}`] })).map(
    workloadFromContainerInfo,
  );
  const set = new Map<string, WorkloadTarget>([[target.id, target]]);
  const services = new Set([service]);
  for (let grew = true; grew;) {
    grew = false;
    for (const p of peers) {
      if (set.has(p.id) || p.compose?.project !== project) continue;
      if ((p.compose.dependsOn ?? []).some((d) => services.has(d))) {
        set.set(p.id, p);
        if (p.compose.service) services.add(p.compose.service);
        grew = true;
      }
    }
  }
  return [...set.values()];
}
