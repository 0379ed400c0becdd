import type Dockerode from 'dockerode';

/** Where the Docker engine is, as given by options or the environment. */
export interface DockerConnectionOptions {
  /** Unix socket of the engine. Wins over `host` and `DOCKER_HOST`. */
  socketPath?: string;
  /** `unix:///path`, `tcp://host:port` or `ssh://user@host[:port]`. Wins over `DOCKER_HOST`. */
  host?: string;
  /** Pin the API version (e.g. `1.41`); default `DOCKER_API_VERSION`, else negotiated by the engine. */
  apiVersion?: string;
}

export const DEFAULT_SOCKET_PATH = '/var/run/docker.sock';

/**
 * Resolves options and environment into explicit dockerode options. Every field is set (even to
 * undefined) because docker-modem merges its own `DOCKER_HOST` parsing underneath: an explicit
 * socketPath must not be overridden by a tcp host from the environment.
 */
export function resolveDockerConnection(
  options: DockerConnectionOptions,
  env: NodeJS.ProcessEnv = process.env,
): Dockerode.DockerOptions {
  const version = options.apiVersion ?? nonEmpty(env.DOCKER_API_VERSION);
  const versionPart = version ? { version: version.startsWith('v') ? version : `v${version}` } : {};
  if (options.socketPath) return { ...unixOptions(options.socketPath), ...versionPart };
  const host = nonEmpty(options.host) ?? nonEmpty(env.DOCKER_HOST);
  if (!host) return { ...unixOptions(DEFAULT_SOCKET_PATH), ...versionPart };
  return { ...parseDockerHost(host, env), ...versionPart };
}

/** Parses a `DOCKER_HOST`-style address. */
export function parseDockerHost(
  address: string,
  env: NodeJS.ProcessEnv = process.env,
): Dockerode.DockerOptions {
  if (address.startsWith('unix://'))
    return unixOptions(address.slice('unix://'.length) || DEFAULT_SOCKET_PATH);
  if (address.startsWith('/')) return unixOptions(address);
  const withScheme = address.includes('://') ? address : `tcp://${address}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new Error(
      `invalid Docker host "${address}": expected unix:///path, tcp://host:port or ssh://user@host`,
    );
  }
  if (!url.hostname) throw new Error(`invalid Docker host "${address}": no host name`);
  switch (url.protocol) {
    case 'tcp:':
    case 'http:':
    case 'https:': {
      const tls = url.protocol === 'https:' || env.DOCKER_TLS_VERIFY === '1' || url.port === '2376';
      return {
        socketPath: undefined,
        host: url.hostname,
        port: url.port || (tls ? '2376' : '2375'),
        protocol: tls ? 'https' : 'http',
      } as Dockerode.DockerOptions;
    }
    case 'ssh:':
      return {
        socketPath: undefined,
        host: url.hostname,
        port: url.port || '22',
        protocol: 'ssh',
        username: decodeURIComponent(url.username) || undefined,
        sshOptions: { agent: env.SSH_AUTH_SOCK },
      } as Dockerode.DockerOptions;
    default:
      throw new Error(
        `invalid Docker host "${address}": unsupported scheme ${url.protocol} (use unix://, tcp:// or ssh://)`,
      );
  }
}

function unixOptions(socketPath: string): Dockerode.DockerOptions {
  return {
    socketPath,
    host: undefined,
    port: undefined,
    protocol: undefined,
  } as Dockerode.DockerOptions;
}

function nonEmpty(s: string | undefined): string | undefined {
  return s === undefined || s.trim() === '' ? undefined : s.trim();
}
