import type { DockerClient } from './docker-client.js';

/**
 * The Docker engine's host name (`docker info` Name): "this host" for anything that must stay
 * stable across sidecar restarts and recreations. Inside a container our own host name is a
 * random container id, and a one-shot's is another; the engine's is the host's. `hint` ends the
 * error when the engine reports no Name (what it was for, what to set instead).
 */
export async function engineHostName(
  client: Pick<DockerClient, 'request'>,
  hint = '',
): Promise<string> {
  const info = (await client.request('system.info', (d) => d.info())) as { Name?: unknown };
  if (typeof info.Name !== 'string' || info.Name === '')
    throw new Error(`docker info has no Name${hint}`);
  return info.Name;
}
