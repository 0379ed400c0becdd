import path from 'node:path/posix';
import type { WorkloadMount, WorkloadTarget } from '@backrest-sidecar/api';
import type { WorkloadSnapshot } from './workload-snapshots.js';

/**
 * Where one part of a snapshot goes. restic 0.14 keeps absolute backup paths as they are in the
 * snapshot's tree (`/volumes/p/db/var/lib/db/...`, `/var/lib/docker/volumes/x/_data/...`), so
 * mounting a destination at `<restore root><snapshotPath>` and restoring with `--target <restore
 * root>` puts exactly that subtree into it.
 */
export interface RestoreItem {
  /** Absolute path in the snapshot's tree whose contents are restored. */
  snapshotPath: string;
  /** The volume or host directory receiving it. */
  destination: { type: 'volume' | 'bind'; source: string };
  /** Path inside the destination ('' = its root) that receives `snapshotPath`'s contents. */
  subPath: string;
  /** In place: where the workload sees the destination. */
  containerPath?: string;
}

/** Snapshot paths no destination was found for (in place: the workload no longer mounts them). */
export interface RestorePlan {
  items: RestoreItem[];
  unmatched: string[];
  /** Into a directory: the snapshot path the directory stands for. */
  root?: string;
}

/** Does the snapshot hold backup-once's layout (`/volumes[/<project>]/<service>/<mount path>`)? */
export function isVolumesLayout(snapshot: Pick<WorkloadSnapshot, 'origin' | 'paths'>): boolean {
  return (
    snapshot.origin === 'backup-once' ||
    (snapshot.paths.length > 0 && snapshot.paths.every((p) => /^\/volumes\/[^/]+/.test(p)))
  );
}

/**
 * Where a mount's data is in a snapshot: under backup-once's layout `<root>/<mount destination>`;
 * in a Backrest snapshot the host path the plan listed (a bind's source; a volume's
 * `<prefix>/<name>/_data`, whatever volume prefix the plan used, so a volume is recognised by
 * name in the snapshot's paths).
 */
export function mountSnapshotPath(
  mount: WorkloadMount,
  snapshot: Pick<WorkloadSnapshot, 'origin' | 'paths'>,
): string | undefined {
  if (isVolumesLayout(snapshot)) {
    const root = snapshot.paths[0];
    if (root === undefined) return undefined;
    const dest = mount.destination.replace(/^\/+/, '').replace(/\/+$/, '');
    return dest === '' ? root : `${root}/${dest}`;
  }
  if (mount.type === 'volume' && mount.name) {
    const marker = `/${mount.name}/_data`;
    for (const p of snapshot.paths) {
      const at =
        p.indexOf(`${marker}/`) >= 0
          ? p.indexOf(`${marker}/`)
          : p.endsWith(marker)
            ? p.length - marker.length
            : -1;
      if (at >= 0) return p.slice(0, at + marker.length);
    }
  }
  return mount.source ? path.normalize(mount.source).replace(/\/+$/, '') || '/' : undefined;
}

function under(child: string, parent: string): boolean {
  return parent === '/'
    ? child.startsWith('/')
    : child === parent || child.startsWith(`${parent}/`);
}

/**
 * In place: each of the workload's volume and bind mounts that the snapshot covers (the whole
 * mount, or a directory inside it when the plan listed a sub-path) receives that part.
 */
export function planInPlaceRestore(
  snapshot: Pick<WorkloadSnapshot, 'origin' | 'paths'>,
  target: Pick<WorkloadTarget, 'mounts'>,
): RestorePlan {
  const items: RestoreItem[] = [];
  const seen = new Set<string>();
  const matched = new Set<string>();
  for (const m of target.mounts) {
    if (m.type !== 'volume' && m.type !== 'bind') continue;
    const sp = mountSnapshotPath(m, snapshot);
    if (sp === undefined) continue;
    const destination = {
      type: m.type === 'volume' ? ('volume' as const) : ('bind' as const),
      source: m.type === 'volume' ? (m.name ?? m.source) : m.source,
    };
    for (const s of snapshot.paths) {
      let item: RestoreItem | undefined;
      if (under(sp, s)) item = { snapshotPath: sp, destination, subPath: '' };
      else if (under(s, sp)) {
        item = { snapshotPath: s, destination, subPath: s.slice(sp.length).replace(/^\/+/, '') };
      }
      if (!item) continue;
      matched.add(s);
      const key = `${destination.type}:${destination.source}:${item.snapshotPath}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const containerPath = path.join(m.destination, item.subPath).replace(/(.)\/+$/, '$1');
      items.push({ ...item, containerPath });
    }
  }
  // backup-once's single root is covered by its mounts' sub-paths, not matched itself.
  const unmatched = isVolumesLayout(snapshot) ? [] : snapshot.paths.filter((p) => !matched.has(p));
  return { items: items.sort((a, b) => a.snapshotPath.localeCompare(b.snapshotPath)), unmatched };
}

/**
 * Into a directory: a single-path snapshot's contents land directly in `dir` (backup-once's
 * `<mount destination>/...`, a dump file by its name); several paths keep their layout below
 * their common parent directory.
 */
export function planDirectoryRestore(
  snapshot: Pick<WorkloadSnapshot, 'paths'>,
  dir: string,
  /** Whether a single-path snapshot's path is a file (a dump from stdin), not a directory. */
  singleIsFile = false,
): RestorePlan {
  const root = restoreRoot(snapshot.paths, singleIsFile);
  return {
    items: snapshot.paths.map((p) => ({
      snapshotPath: p,
      destination: { type: 'bind' as const, source: dir },
      subPath: path.relative(root, p),
    })),
    unmatched: [],
    root,
  };
}

/** The one path of a single-path snapshot, else the common parent directory of its paths. */
export function restoreRoot(paths: readonly string[], singleIsFile = false): string {
  if (paths.length === 1) {
    const only = paths[0]!;
    // A single file (a dump streamed from stdin): its directory, so the file keeps its name.
    return singleIsFile ? path.dirname(only) : only;
  }
  const split = paths.map((p) => p.split('/').filter(Boolean));
  const common: string[] = [];
  for (let i = 0; ; i++) {
    const seg = split[0]?.[i];
    if (seg === undefined || !split.every((s) => s[i] === seg && s.length > i + 1)) break;
    common.push(seg);
  }
  return `/${common.join('/')}`;
}
