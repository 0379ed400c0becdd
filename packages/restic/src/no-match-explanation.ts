import type { ResticSnapshot } from './restic-json.js';

function isAncestor(ancestor: string, path: string): boolean {
  if (ancestor === '/') return path !== '/';
  return path.startsWith(ancestor.endsWith('/') ? ancestor : `${ancestor}/`);
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/**
 * Why `restic forget --path <path>` selected nothing although the repository has snapshots.
 * restic matches a snapshot only when its path list contains `path` exactly, not a prefix of it:
 * the usual cause is a tool that snapshots all of `/volumes` at once (restic-compose-backup).
 *
 * `alternatePath` is the workload's path under the other `--include-project-name` setting.
 */
export function explainNoMatch(
  path: string,
  snapshots: ResticSnapshot[],
  alternatePath?: string,
): string {
  const paths = (s: ResticSnapshot): string[] => s.paths ?? [];
  const covering = snapshots.filter((s) => paths(s).some((p) => isAncestor(p, path)));
  if (covering.length > 0) {
    const roots = [
      ...new Set(covering.flatMap((s) => paths(s).filter((p) => isAncestor(p, path)))),
    ];
    return (
      `no snapshot has exactly the path ${path}, but ${plural(covering.length, 'snapshot')} ` +
      `cover ${roots.join(', ')} as a whole (restic-compose-backup snapshots all of /volumes at once). ` +
      `restic forget --path matches a snapshot's path list exactly, never a prefix, so per-workload ` +
      `retention cannot select them; nothing was forgotten. Make per-workload snapshots ` +
      `(backup-once --engine restic) or apply retention to the whole repository instead.`
    );
  }
  if (alternatePath && alternatePath !== path) {
    const alt = snapshots.filter((s) => paths(s).includes(alternatePath));
    if (alt.length > 0) {
      return (
        `no snapshot has the path ${path}, but ${plural(alt.length, 'snapshot')} have ${alternatePath}: ` +
        `the backups were made with a different --include-project-name setting; nothing was forgotten.`
      );
    }
  }
  const inside = snapshots.filter((s) => paths(s).some((p) => isAncestor(path, p)));
  if (inside.length > 0) {
    const sub = [...new Set(inside.flatMap((s) => paths(s).filter((p) => isAncestor(path, p))))];
    return (
      `no snapshot has exactly the path ${path}; ${plural(inside.length, 'snapshot')} hold paths below ` +
      `it (${sub.slice(0, 3).join(', ')}${sub.length > 3 ? ', ...' : ''}) and restic matches exact paths ` +
      `only; nothing was forgotten.`
    );
  }
  const seen = [...new Set(snapshots.flatMap(paths))].sort();
  return (
    `none of the repository's ${plural(snapshots.length, 'snapshot')} has the path ${path} ` +
    `(paths in the repository: ${seen.slice(0, 5).join(', ')}${seen.length > 5 ? ', ...' : ''}); ` +
    `nothing was forgotten.`
  );
}
