import { readFileSync } from 'node:fs';

const ID = /[0-9a-f]{64}/;

/**
 * The id of the container this process runs in, or null on a plain host. Read from
 * `/proc/self/mountinfo` (Docker bind-mounts `/var/lib/docker/containers/<id>/{hostname,hosts,
 * resolv.conf}` into every container, cgroup v1 and v2 alike), else from `/proc/self/cgroup`
 * (cgroup v1: `.../docker/<id>`, systemd: `docker-<id>.scope`). Never from the hostname alone: a
 * compose `hostname:` or `--hostname` makes it anything. `procRoot` is for tests.
 */
export function ownContainerId(procRoot = '/proc'): string | null {
  try {
    const mountinfo = readFileSync(`${procRoot}/self/mountinfo`, 'utf8');
    for (const line of mountinfo.split('\n')) {
      const m = /\/containers\/([0-9a-f]{64})\/(?:hostname|hosts|resolv\.conf)\b/.exec(line);
      if (m) return m[1]!;
    }
  } catch {
    // Not Linux, or /proc hidden.
  }
  try {
    const cgroup = readFileSync(`${procRoot}/self/cgroup`, 'utf8');
    for (const line of cgroup.split('\n')) {
      if (!/docker|containerd|libpod/.test(line)) continue;
      const m = ID.exec(line);
      if (m) return m[0];
    }
  } catch {
    // Same.
  }
  return null;
}

let cached: string | null | undefined;

/** `ownContainerId()`, read once per process. */
export function selfContainerId(): string | null {
  if (cached === undefined) cached = ownContainerId();
  return cached;
}

/** The host's boot id (shared by every container on this kernel): a reboot changes it. */
export function bootId(procRoot = '/proc'): string | null {
  try {
    return readFileSync(`${procRoot}/sys/kernel/random/boot_id`, 'utf8').trim() || null;
  } catch {
    return null;
  }
}
