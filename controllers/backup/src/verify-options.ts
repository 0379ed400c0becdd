import type { RepositoryOptions } from './restore-options.js';

/** Options of one `verify` run (restore drills). Defaults documented per field. */
export interface VerifyOptions extends RepositoryOptions {
  /** Container names or plan ids; empty with `all`. */
  workloads?: string[];
  /** Every opted-in container (`backrest.enable=true` / `restic-compose-backup.volumes=true`). */
  all?: boolean;
  /**
   * `restic check --read-data-subset n/t` with this `t`: each run reads the next `n` (kept in
   * `stateDir`), so `t` drills read every pack of the repository once. 0: `restic check` without
   * reading data. Default 16.
   */
  readDataParts?: number;
  /** Where the next `n` is kept, and the workloads' status files. Default `/var/lib/backrest-sidecar`. */
  stateDir?: string;
  /** A dump drill's database must answer its probe within this, in ms. Default 120000. */
  probeTimeoutMs?: number;
}

export const VERIFY_DEFAULTS = {
  readDataParts: 16,
  probeTimeoutMs: 120_000,
};

export type VerifyCheckName = 'restore' | 'tree' | 'repository' | 'dump';

/** One thing a drill checked. */
export interface VerifyCheck {
  name: VerifyCheckName;
  ok: boolean;
  /** What was checked and found, one sentence (redacted). */
  detail: string;
}

export interface WorkloadVerifyResult {
  workload: string;
  /** Absent when the workload has no snapshot (or it could not be listed). */
  snapshot?: { id: string; shortId: string; time: string };
  passed: boolean;
  checks: VerifyCheck[];
  /** ISO time the drill ended. */
  time: string;
  durationMs: number;
  /** Why the drill could not run to the end (redacted). */
  error?: string;
  /** Why no restore was attempted (the repository check failed); absent when the drill ran. */
  notAttempted?: string;
}

export interface VerifyReport {
  startedAt: string;
  durationMs: number;
  /** The repository-wide check (once per run, before the drills; redacted). */
  repository?: VerifyCheck;
  workloads: WorkloadVerifyResult[];
  fatal?: string;
  /** 0 every drill passed, 3 a drill failed, 1 fatal (nothing could be verified). */
  exitCode: 0 | 1 | 3;
}
