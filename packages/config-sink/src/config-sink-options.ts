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
   * Default 'atomic' (`<path>.new` then rename). 'inplace' rewrites the same inode
   * (truncate+write+fsync), for a single file bind-mounted into a container where rename fails
   * with EBUSY; still locked, still backed up.
   */
  writeMode?: 'atomic' | 'inplace';
  /** Default true: the previous bytes are kept as `<path>.bak`. */
  keepBackup?: boolean;
  /**
   * Default 0o644 (the seed's, so Backrest and operators can read it). Never widens a stricter
   * existing mode when the file holds secrets (repo password/env, auth users, sync identity):
   * the existing mode is kept and a warning is returned.
   */
  fileMode?: number;
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
}

export const CONFIG_SINK_DEFAULTS = {
  format: 'auto',
  defaultFormat: 'sidecar',
  writeMode: 'atomic',
  keepBackup: true,
  fileMode: 0o644,
  lockRetries: 10,
  lockStaleMs: 10_000,
} as const satisfies Required<Omit<ConfigSinkOptions, 'path' | 'faults'>>;

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
}
