import type { FileHandle } from 'node:fs/promises';
import type { ConfigFormat, PlanSpec } from './plan-spec.js';

/** Options of a ConfigSink. Every optional field has the documented default. */
export interface ConfigSinkOptions {
  /** The Backrest config file. */
  path: string;
  /** Default 'auto': detected from the file's content (see detect-format.ts). */
  format?: ConfigFormat | 'auto';
  /** Format of a missing or empty file when `format` is 'auto'. Default 'sidecar' (the seed's). */
  defaultFormat?: ConfigFormat;
  /**
   * Default 'atomic' (`<path>.new`, fsync, rename). 'inplace' rewrites the same inode, for a
   * single file bind-mounted into a container where rename fails with EBUSY: the new bytes are
   * written over the old ones, then the file is truncated to the new length and fsync'd, re-read
   * and, if it does not parse, restored from `<path>.bak`. A crash mid-write is repaired from
   * `<path>.bak` by the next call (see `<path>.inplace`). Still locked, always backed up.
   */
  writeMode?: 'atomic' | 'inplace';
  /** Default true: the previous bytes are kept as `<path>.bak` (always in 'inplace' mode). */
  keepBackup?: boolean;
  /**
   * Mode of a file we create. Default: 0o600 for Backrest's native format (Backrest writes it
   * 0600 itself: repo passwords live in it); the seed's 0o644 for the sidecar format unless it
   * holds secrets (then 0o600). An existing file's mode, owner and group are never changed.
   */
  fileMode?: number;
  /**
   * `instance` of a native Backrest file we create (Backrest refuses repo operations without
   * one); must be a valid Backrest id. Default: `instanceHostName()` (else this machine's host
   * name) made a valid id by `defaultInstanceId`. An existing file's instance is never changed.
   */
  instance?: string;
  /**
   * Where the default instance comes from, asked only when a native file is created: e.g. the
   * Docker engine's host name (inside a container, the own host name is a random container id).
   * When it fails, the machine's host name is used and the commit says so in its warnings.
   */
  instanceHostName?: () => Promise<string>;
  /** Attempts to take the advisory lock `<path>.lock` before LockFailed. Default 10. */
  lockRetries?: number;
  /** A lock not refreshed for this long is considered abandoned and taken over. Default 10000. */
  lockStaleMs?: number;
  /**
   * Fault-injection points for tests. Never set in production: the defaults are the real fs calls.
   */
  faults?: ConfigSinkFaults;
}

/** Test seams, called at the points of the write algorithm named below. */
export interface ConfigSinkFaults {
  /** After the new bytes are durable in `<path>.new`, before the target is re-read. */
  beforeVerify?: (path: string) => void | Promise<void>;
  /** Replaces `fs.rename(from, to)` for the final rename of `<path>.new`. */
  rename?: (from: string, to: string) => Promise<void>;
  /**
   * In-place mode: replaces each positioned write of the new bytes over the target (returns the
   * bytes written, like `FileHandle.write`). Also used to restore the previous bytes.
   */
  inPlaceWrite?: (fh: FileHandle, buf: Buffer, offset: number, position: number) => Promise<number>;
  /** In-place mode: called before each step ('write', 'truncate', 'sync', 'verify'). */
  inPlaceStep?: (step: InPlaceStep, path: string) => void | Promise<void>;
}

export type InPlaceStep = 'write' | 'truncate' | 'sync' | 'verify';

export const CONFIG_SINK_DEFAULTS = {
  format: 'auto',
  defaultFormat: 'sidecar',
  writeMode: 'atomic',
  keepBackup: true,
  lockRetries: 10,
  lockStaleMs: 10_000,
} as const satisfies Required<
  Omit<ConfigSinkOptions, 'path' | 'faults' | 'fileMode' | 'instance' | 'instanceHostName'>
>;

/** Mode of a created file in Backrest's native format (Backrest's own). */
export const BACKREST_FILE_MODE = 0o600;
/** Mode of a created file in the seed's format: readable by Backrest and operators. */
export const SIDECAR_FILE_MODE = 0o644;
/** Mode of a created seed-format file that holds secrets. */
export const SECRET_FILE_MODE = 0o600;

/** What load() returns: the file decoded to the neutral shape, plus the raw document. */
export interface LoadedConfig {
  format: ConfigFormat;
  exists: boolean;
  repoIds: string[];
  /** Every plan decoded to the neutral shape (also plans we did not create). */
  plans: PlanSpec[];
  planIds: string[];
  /** Backrest format only. */
  modno?: number;
  /** The parsed document (`undefined` when the file is missing). */
  raw: unknown;
}

export interface CommitResult {
  changed: boolean;
  written: boolean;
  format: ConfigFormat;
  path: string;
  /** Canonical bytes of the file before ('' when it did not exist). */
  before: string;
  /** Canonical bytes after (what was or would be written). */
  after: string;
  /** Unified-style line diff of before → after ('' when unchanged). */
  diff: string;
  backupPath?: string;
  warnings: string[];
  /** True when a concurrent external edit was detected and our changes were re-applied onto it. */
  merged: boolean;
  /**
   * configSecretValues(`after`), taken from the document it was rendered from (no second parse)
   * when first read: what to mask in anything shown of the config (the dry-run diff). Absent: work
   * it out from `after`.
   */
  secretValues?: string[];
}
