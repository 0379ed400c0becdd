import type { ContainerActions, OneShotMount } from '@dockop/docker';
import type { Logger, Redactor } from '@dockop/runtime';
import { resticRedactor } from '@backrest-sidecar/restic';

export interface RcbEngineOptions {
  image: string;
  /** From `--rcb-env-file`. */
  env: Record<string, string>;
  dockerSocket: string;
  /** Extra mounts (a local repository). */
  mounts?: OneShotMount[];
  excludeBindMounts: boolean;
  includeProjectName: boolean;
  labels: Record<string, string>;
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Taught the env's secret values, and used on rcb's output. Default: a new one. */
  redactor?: Redactor;
}

/** The rcb one-shot exactly as the seed runs it, as a OneShotSpec. */
export function rcbOneShotSpec(
  options: RcbEngineOptions,
): Parameters<ContainerActions['runOneShot']>[0] {
  return {
    image: options.image,
    cmd: ['rcb', 'backup'],
    env: {
      ...options.env,
      ...(options.excludeBindMounts ? { EXCLUDE_BIND_MOUNTS: '1' } : {}),
      ...(options.includeProjectName ? { INCLUDE_PROJECT_NAME: '1' } : {}),
    },
    mounts: [
      { type: 'bind', source: options.dockerSocket, target: '/tmp/docker.sock', readOnly: true },
      ...(options.mounts ?? []),
    ],
    labels: options.labels,
  };
}

/**
 * `docker run --rm -v <sock>:/tmp/docker.sock:ro --env-file <file> <rcb image> rcb backup`, with
 * its output streamed to the log line by line (secret values redacted).
 */
export async function runRcbEngine(
  actions: Pick<ContainerActions, 'runOneShot'>,
  options: RcbEngineOptions,
  logger: Logger,
): Promise<{ exitCode: number; durationMs: number }> {
  const redactor = resticRedactor(options.env, options.redactor);
  logger.info('rcb.starting', {
    image: options.image,
    excludeBindMounts: options.excludeBindMounts,
    includeProjectName: options.includeProjectName,
  });
  const res = await actions.runOneShot(rcbOneShotSpec(options), {
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
    onLog: (line, stream) => logger.info('rcb.log', { stream, line: redactor.redactString(line) }),
  });
  logger[res.exitCode === 0 ? 'info' : 'error']('rcb.finished', {
    exitCode: res.exitCode,
    durationMs: res.durationMs,
  });
  return { exitCode: res.exitCode, durationMs: res.durationMs };
}
