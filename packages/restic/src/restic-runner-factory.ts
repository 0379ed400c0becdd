import type { ContainerActions, OneShotMount } from '@dockop/docker';
import { childEnv, type Redactor } from '@dockop/runtime';
import { readEnvFile } from './env-file.js';
import {
  ContainerResticRunner,
  DEFAULT_RESTIC_IMAGE,
  LocalResticRunner,
  RESTIC_ENV_ALLOW_LIST,
  type ResticRunner,
} from './restic-runner.js';

export type ResticRunnerKind = 'local' | 'container';

export interface ResticRunnerConfig {
  /** `local` (default): the host's restic binary; `container`: a one-shot from `image`. */
  kind?: ResticRunnerKind;
  /** Docker env-file with RESTIC_* (the seed's `--rcb-env-file`). Its values override the process env. */
  envFile?: string;
  /** Local runner: default `restic`. */
  binary?: string;
  /** Container runner: default `restic/restic:0.14.0`. */
  image?: string;
  /** Container runner: mounts on every run (a local repository directory, a cache). */
  mounts?: OneShotMount[];
  /** Container runner: labels on every one-shot. */
  labels?: Record<string, string>;
  /** Taught the env's secret values, and used on restic's output. Default: a new one. */
  redactor?: Redactor;
}

/**
 * Builds the configured runner. The container runner gets only the env file's variables (plus
 * restic's and the storage backends' variables from the process env when there is no env file):
 * the sidecar's own environment is not leaked into backup containers.
 */
export async function createResticRunner(
  config: ResticRunnerConfig,
  actions: Pick<ContainerActions, 'runOneShot'>,
  processEnv: NodeJS.ProcessEnv = process.env,
): Promise<ResticRunner> {
  const fileEnv = config.envFile ? await readEnvFile(config.envFile, processEnv) : undefined;
  if ((config.kind ?? 'local') === 'local') {
    return new LocalResticRunner({
      ...(config.binary ? { binary: config.binary } : {}),
      ...(fileEnv ? { env: fileEnv } : {}),
      baseEnv: processEnv,
      ...(config.redactor ? { redactor: config.redactor } : {}),
    });
  }
  // Own properties only (a polluted prototype adds nothing); no PATH/HOME of ours in the image.
  const env = childEnv(
    fileEnv
      ? { parent: {}, set: fileEnv }
      : { parent: processEnv, allow: RESTIC_ENV_ALLOW_LIST.filter((a) => a instanceof RegExp) },
  );
  return new ContainerResticRunner(actions, {
    image: config.image ?? DEFAULT_RESTIC_IMAGE,
    env,
    ...(config.mounts ? { mounts: config.mounts } : {}),
    ...(config.labels ? { labels: config.labels } : {}),
    ...(config.redactor ? { redactor: config.redactor } : {}),
  });
}
