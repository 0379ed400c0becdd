import { hostname } from 'node:os';
import type { WorkloadTarget } from '@backrest-sidecar/api';
import { selfContainerId } from './own-container.js';

/** A container carrying `backrest.quiesce.exclude=true` is never stopped around a backup. */
export const QUIESCE_EXCLUDE_LABEL = 'backrest.quiesce.exclude';

/** Images whose containers proxy the Docker socket (tecnativa/docker-socket-proxy and kin). */
const SOCKET_PROXY_IMAGE = /(^|[/_.-])(docker-)?socket-proxy/i;

export interface QuiesceExclusionOptions {
  /** Backrest's container name (`--backrest-container`, default `backrest`): never stopped. */
  backrestContainer?: string;
  /** Our own container id. Default: detected (`selfContainerId()`, else a 12-hex hostname). */
  selfId?: string | null;
}

/**
 * Why `t` must not be stopped around a backup, or undefined when it may be. Stopping any of these
 * would break the backup itself: our own container (the run would kill itself), Backrest's (the
 * `backrest` engine talks to it, and it schedules the plans), a Docker socket proxy (our only way
 * to reach the engine, so nothing could be started again). The proxy is recognised by the image
 * name (`*docker-socket-proxy*`, `*socket-proxy*`) or, for anything else, by the opt-out label
 * `backrest.quiesce.exclude=true`.
 */
export function quiesceExclusion(
  t: WorkloadTarget,
  options: QuiesceExclusionOptions = {},
): string | undefined {
  const self = options.selfId === undefined ? defaultSelfId() : options.selfId;
  if (self && (t.id === self || (self.length < 64 && t.id.startsWith(self)))) {
    return 'it is the container this sidecar runs in';
  }
  const backrest = options.backrestContainer;
  if (backrest && (t.name === backrest || t.id === backrest || t.id.startsWith(backrest))) {
    return `it is Backrest's container (--backrest-container ${backrest})`;
  }
  if ((t.labels[QUIESCE_EXCLUDE_LABEL] ?? '').trim().toLowerCase() === 'true') {
    return `it carries ${QUIESCE_EXCLUDE_LABEL}=true`;
  }
  if (t.image && SOCKET_PROXY_IMAGE.test(t.image)) {
    return `its image ${t.image} looks like a Docker socket proxy`;
  }
  return undefined;
}

// A container's default hostname is its 12-character short id.
function defaultSelfId(): string | null {
  const id = selfContainerId();
  if (id) return id;
  const h = hostname();
  return /^[0-9a-f]{12}$/.test(h) ? h : null;
}
