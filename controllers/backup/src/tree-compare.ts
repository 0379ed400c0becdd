/**
 * A restore drill's comparison: the tree restored into the scratch volume against the snapshot's
 * own listing (`restic ls --json`). Every node must be there with its type, every file with its
 * size, and nothing else may be.
 */

export type NodeType = 'file' | 'dir' | 'symlink' | 'other';

export interface TreeNode {
  type: NodeType;
  /** Files only. */
  size?: number;
}

/** Path → node, paths absolute as in the snapshot (`/volumes/p/db/x`). */
export type Tree = Map<string, TreeNode>;

/** `restic ls --json <id>` lines → the snapshot's tree (the snapshot line itself skipped). */
export function parseLsOutput(stdout: string): Tree {
  const tree: Tree = new Map();
  for (const line of stdout.split('\n')) {
    if (!line.startsWith('{')) continue;
    let o: Record<string, unknown>;
    try {
      o = JSON.parse(line) as Record<string, unknown>;
    } catch {
      continue;
    }
    if (o.struct_type !== 'node' || typeof o.path !== 'string') continue;
    const type: NodeType =
      o.type === 'file' || o.type === 'dir' || o.type === 'symlink' ? o.type : 'other';
    tree.set(o.path, {
      type,
      ...(type === 'file' ? { size: typeof o.size === 'number' ? o.size : 0 } : {}),
    });
  }
  return tree;
}

/**
 * The sh script listing a restored tree: one `<size>|<type>|<path>` line per entry below `root`
 * (busybox and GNU `stat -c`), paths relative to `root` with a leading `.`.
 */
export const LIST_TREE_SCRIPT =
  'cd "$1" && find . -mindepth 1 -exec stat -c "%s|%F|%n" {} + | sort';

/** `LIST_TREE_SCRIPT` output → tree with absolute paths (`./volumes/x` → `/volumes/x`). */
export function parseListing(stdout: string): Tree {
  const tree: Tree = new Map();
  for (const line of stdout.split('\n')) {
    const a = line.indexOf('|');
    const b = a < 0 ? -1 : line.indexOf('|', a + 1);
    if (b < 0) continue;
    const size = Number(line.slice(0, a));
    const kind = line.slice(a + 1, b);
    const p = line.slice(b + 1).replace(/^\./, '');
    if (!p.startsWith('/')) continue;
    const type: NodeType = kind.startsWith('regular')
      ? 'file'
      : kind === 'directory'
        ? 'dir'
        : kind === 'symbolic link'
          ? 'symlink'
          : 'other';
    tree.set(p, { type, ...(type === 'file' ? { size } : {}) });
  }
  return tree;
}

export interface TreeDifference {
  /** In the snapshot, not restored. */
  missing: string[];
  /** Restored, not in the snapshot. */
  extra: string[];
  /** Restored with another type or size: `path (snapshot file 10 B, restored file 0 B)`. */
  changed: string[];
  /** Files and bytes the snapshot holds. */
  files: number;
  bytes: number;
}

/** Differences between the snapshot's tree and the restored one (sorted, complete). */
export function compareTrees(snapshot: Tree, restored: Tree): TreeDifference {
  const diff: TreeDifference = { missing: [], extra: [], changed: [], files: 0, bytes: 0 };
  for (const [p, node] of snapshot) {
    if (node.type === 'file') {
      diff.files++;
      diff.bytes += node.size ?? 0;
    }
    const got = restored.get(p);
    // restic does not restore sockets; other special files are compared by presence only.
    if (!got) {
      if (node.type !== 'other') diff.missing.push(p);
      continue;
    }
    if (got.type !== node.type || (node.type === 'file' && got.size !== node.size)) {
      const d = (n: TreeNode): string => `${n.type}${n.type === 'file' ? ` ${n.size} B` : ''}`;
      diff.changed.push(`${p} (snapshot ${d(node)}, restored ${d(got)})`);
    }
  }
  for (const p of restored.keys()) if (!snapshot.has(p)) diff.extra.push(p);
  diff.missing.sort();
  diff.extra.sort();
  diff.changed.sort();
  return diff;
}

/** One line for a report: `3 missing (/a, /b, …), 1 changed (…)`. */
export function describeDifference(d: TreeDifference, max = 3): string {
  const part = (label: string, list: string[]): string | undefined =>
    list.length === 0
      ? undefined
      : `${list.length} ${label} (${list.slice(0, max).join(', ')}${list.length > max ? ', …' : ''})`;
  return [part('missing', d.missing), part('changed', d.changed), part('unexpected', d.extra)]
    .filter((s): s is string => s !== undefined)
    .join(', ');
}
