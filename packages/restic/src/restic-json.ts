/** The parts of restic 0.14's JSON output we read. */

export interface ResticSnapshot {
  id: string;
  short_id: string;
  time: string;
  paths: string[];
  hostname: string;
  tags?: string[] | null;
}

/** One group of `restic forget --json`: `remove` is null (not []) when nothing is removed. */
export interface ResticForgetGroup {
  tags: string[] | null;
  host: string;
  paths: string[] | null;
  keep: ResticSnapshot[] | null;
  remove: ResticSnapshot[] | null;
}

/**
 * `forget --json` prints one JSON array on its first line and nothing at all when no snapshot
 * matches; with `--prune`, prune's text report follows on stdout. Returns [] for no output.
 */
export function parseForgetOutput(stdout: string): ResticForgetGroup[] {
  const line = stdout.split('\n').find((l) => l.trimStart().startsWith('['));
  if (line === undefined) {
    if (stdout.trim() === '' || !/[[{]/.test(stdout)) return [];
    throw new Error('restic forget printed no JSON array');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch (err) {
    throw new Error(`restic forget printed invalid JSON: ${(err as Error).message}`, {
      cause: err,
    });
  }
  if (!Array.isArray(parsed)) throw new Error('restic forget JSON is not an array');
  return parsed.map((g: unknown) => {
    if (!g || typeof g !== 'object') throw new Error('restic forget JSON group is not an object');
    return g as ResticForgetGroup;
  });
}

/** `snapshots --json` prints one JSON array (`[]` for an empty repository). */
export function parseSnapshotsOutput(stdout: string): ResticSnapshot[] {
  const line = stdout.split('\n').find((l) => l.trimStart().startsWith('['));
  if (line === undefined) throw new Error('restic snapshots printed no JSON array');
  const parsed: unknown = JSON.parse(line);
  if (!Array.isArray(parsed)) throw new Error('restic snapshots JSON is not an array');
  return parsed as ResticSnapshot[];
}

/** `backup --json` lines we use. `snapshot_id` is the short id in 0.14. */
export interface ResticBackupStatus {
  message_type: 'status';
  percent_done: number;
  total_files?: number;
  files_done?: number;
  total_bytes?: number;
  bytes_done?: number;
  seconds_elapsed?: number;
  seconds_remaining?: number;
}

export interface ResticBackupSummary {
  message_type: 'summary';
  files_new: number;
  files_changed: number;
  files_unmodified: number;
  data_added: number;
  total_files_processed: number;
  total_bytes_processed: number;
  total_duration: number;
  snapshot_id: string;
}

export interface ResticBackupError {
  message_type: 'error';
  error?: { Op?: string; Path?: string; Err?: unknown } | string;
  during?: string;
  item?: string;
}

export type ResticBackupMessage = ResticBackupStatus | ResticBackupSummary | ResticBackupError;

/** Parses one `backup --json` line; undefined for anything that is not a known message. */
export function parseBackupLine(line: string): ResticBackupMessage | undefined {
  const t = line.trim();
  if (!t.startsWith('{')) return undefined;
  try {
    const m = JSON.parse(t) as { message_type?: unknown };
    if (m.message_type === 'status' || m.message_type === 'summary' || m.message_type === 'error') {
      return m as ResticBackupMessage;
    }
  } catch {
    // restic may interleave non-JSON text; skip it.
  }
  return undefined;
}
