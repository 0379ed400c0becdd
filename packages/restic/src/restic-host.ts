import { engineHostName, type DockerClient } from '@dockop/docker';

/** Env var overriding the restic `--host` of backups and forget (as `--restic-host`). */
export const RESTIC_HOST_ENV = 'BACKREST_SIDECAR_RESTIC_HOST';

const HOST_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,252}$/;

/** Throws, naming the value and where it came from, unless `host` is a plain host name. */
export function checkResticHost(host: string, source: string): string {
  if (!HOST_PATTERN.test(host)) {
    throw new Error(
      `restic host ${JSON.stringify(host.slice(0, 80))} (${source}) must be 1-253 characters of A-Z a-z 0-9 _ . : - (starting with a letter or digit)`,
    );
  }
  return host;
}

/**
 * "This host" for restic: the `--host` backup-once records and the one forget is scoped to, so
 * a repository shared by several Docker hosts only ever loses this host's snapshots.
 *
 * Order: `explicit` (`--restic-host`), then `BACKREST_SIDECAR_RESTIC_HOST`, then the Docker
 * engine's `Name` (`docker info`: the host's name, stable across sidecar restarts and recreations;
 * the sidecar's own hostname is its random container id, and a restic one-shot's is another
 * random id).
 */
export async function resolveResticHost(
  client: Pick<DockerClient, 'request'>,
  explicit?: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<string> {
  if (explicit !== undefined && explicit !== '') return checkResticHost(explicit, '--restic-host');
  const fromEnv = env[RESTIC_HOST_ENV];
  if (fromEnv !== undefined && fromEnv !== '') return checkResticHost(fromEnv, RESTIC_HOST_ENV);
  const name = await engineHostName(
    client,
    ` to use as restic --host; set --restic-host or ${RESTIC_HOST_ENV}`,
  );
  return checkResticHost(name, 'docker info Name');
}
