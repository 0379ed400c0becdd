import {
  parseSnapshotsOutput,
  runResticChecked,
  type ResticRunner,
  type ResticSnapshot,
} from '@backrest-sidecar/restic';
import type { WorkloadRef } from './workload-ref.js';

/** One snapshot of a workload, as `snapshots` prints it and `restore`/`verify` pick it. */
export interface WorkloadSnapshot {
  id: string;
  shortId: string;
  /** ISO time restic recorded. */
  time: string;
  host: string;
  paths: string[];
  tags: string[];
  /** Who made it: backup-once (`backrest-sidecar` tag) or Backrest (`plan:<id>` tag). */
  origin: 'backup-once' | 'backrest' | 'other';
  /** Bytes of the files it holds (`restic stats --mode restore-size`), when asked for. */
  size?: number;
  files?: number;
}

export interface SnapshotQuery {
  /** Only snapshots of this restic `--host`. Default: every host. */
  host?: string;
  /** Look up each snapshot's size (one `restic stats` per snapshot). Default false. */
  sizes?: boolean;
  /** `restic stats` runs at once. Default 4. */
  concurrency?: number;
  signal?: AbortSignal;
}

/** The workload's snapshots, oldest first (restic's order). */
export async function listWorkloadSnapshots(
  runner: ResticRunner,
  ref: WorkloadRef,
  query: SnapshotQuery = {},
): Promise<WorkloadSnapshot[]> {
  const args = ['snapshots', '--json', ...ref.tags.flatMap((t) => ['--tag', t])];
  if (query.host) args.push('--host', query.host);
  const res = await runResticChecked(runner, args, query.signal ? { signal: query.signal } : {});
  const snaps = parseSnapshotsOutput(res.stdout)
    .filter(isSnapshot)
    .map(toWorkloadSnapshot)
    .sort((a, b) => Date.parse(a.time) - Date.parse(b.time));
  if (query.sizes) await addSizes(runner, snaps, query);
  return snaps;
}

/**
 * `latest` (the newest of `snaps`) or a snapshot id or unique id prefix (8+ hex digits, as restic
 * prints it) among the workload's own snapshots: an id of another workload's snapshot is refused,
 * so a typo cannot restore someone else's data over this workload's.
 */
export function pickSnapshot(
  snaps: readonly WorkloadSnapshot[],
  wanted: string,
  workload: string,
): WorkloadSnapshot {
  if (snaps.length === 0) {
    throw new Error(`no snapshot of workload "${workload}" in the repository`);
  }
  if (wanted === 'latest') return snaps[snaps.length - 1]!;
  if (!/^[0-9a-f]{4,64}$/.test(wanted)) {
    throw new Error(`--snapshot "${wanted.slice(0, 80)}" is neither "latest" nor a snapshot id`);
  }
  const found = snaps.filter((s) => s.id.startsWith(wanted));
  if (found.length === 1) return found[0]!;
  if (found.length > 1) {
    throw new Error(`--snapshot "${wanted}" matches ${found.length} snapshots: give more digits`);
  }
  throw new Error(
    `--snapshot "${wanted}" is not a snapshot of workload "${workload}" (run: backrest-sidecar snapshots ${workload})`,
  );
}

function isSnapshot(s: unknown): s is ResticSnapshot {
  const o = s as Partial<ResticSnapshot> | null;
  return (
    typeof o === 'object' &&
    o !== null &&
    typeof o.id === 'string' &&
    typeof o.time === 'string' &&
    Array.isArray(o.paths)
  );
}

function toWorkloadSnapshot(s: ResticSnapshot): WorkloadSnapshot {
  const tags = (Array.isArray(s.tags) ? s.tags : []).filter((t) => typeof t === 'string');
  return {
    id: s.id,
    shortId: typeof s.short_id === 'string' ? s.short_id : s.id.slice(0, 8),
    time: s.time,
    host: typeof s.hostname === 'string' ? s.hostname : '',
    paths: s.paths.filter((p) => typeof p === 'string'),
    tags,
    origin: tags.includes('backrest-sidecar')
      ? 'backup-once'
      : tags.some((t) => t.startsWith('plan:'))
        ? 'backrest'
        : 'other',
  };
}

/** `restic stats --json` of one snapshot: `{"total_size":…,"total_file_count":…}`. */
export function parseStatsOutput(stdout: string): { size: number; files: number } {
  const line = stdout.split('\n').find((l) => l.trimStart().startsWith('{'));
  if (line === undefined) throw new Error('restic stats printed no JSON object');
  const o = JSON.parse(line) as { total_size?: unknown; total_file_count?: unknown };
  if (typeof o.total_size !== 'number') throw new Error('restic stats JSON has no total_size');
  return {
    size: o.total_size,
    files: typeof o.total_file_count === 'number' ? o.total_file_count : 0,
  };
}

async function addSizes(
  runner: ResticRunner,
  snaps: WorkloadSnapshot[],
  query: SnapshotQuery,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < snaps.length) {
      const s = snaps[next++]!;
      const res = await runResticChecked(
        runner,
        ['stats', '--json', '--mode', 'restore-size', s.id],
        query.signal ? { signal: query.signal } : {},
      );
      Object.assign(s, parseStatsOutput(res.stdout));
    }
  };
  const n = Math.max(1, Math.min(query.concurrency ?? 4, snaps.length));
  await Promise.all(Array.from({ length: n }, worker));
}
