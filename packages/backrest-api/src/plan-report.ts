import type { PlanSpec } from '@backrest-sidecar/backrest-model';

/**
 * What a plan reconcile reports, and the exit codes the one-shot CLI derives from it. In the API
 * package so the CLI reads them without importing the plan controller's internals.
 */

export type ApplyOutcome =
  | { status: 'applied'; restarts: number; message?: string }
  | { status: 'skipped' }
  /** Backrest is stopped, absent or misnamed: the config loads at its next start. */
  | { status: 'not-running'; message: string }
  /** Backrest is busy (a backup runs): try again after `retryAfterMs`. */
  | { status: 'deferred'; message: string; retryAfterMs: number }
  /** Backrest did not stay up: the previous config was restored (`rolledBack`) and restarted. */
  | { status: 'failed'; rolledBack: boolean; message: string };

export type ApplyPhase =
  /** Nothing written that is not applied. */
  | 'Idle'
  /** Written, waiting for the apply worker (debounce, cooldown). */
  | 'Pending'
  /** Backrest is busy: the restart waits until it is idle (bounded). */
  | 'Deferred'
  /** Backrest is not running: the config loads at its next start. */
  | 'NotRunning'
  | 'Failed';

export interface ApplyStatus {
  /** The config file (or API URL) the status is about. */
  config?: string;
  target: string;
  phase: ApplyPhase;
  message: string;
  /** ISO time the phase was entered. */
  since: string;
  last?: ApplyOutcome;
}

export type PlanState =
  /** Rendered and (or, in a dry run, would be) in the config. */
  | 'Ready'
  | 'Skipped'
  /** Ours, no container maps to it; waiting for the grace period or `--prune`. */
  | 'Orphaned'
  /** Removed from the config by this reconcile. */
  | 'Removed';

export interface PlanEntry {
  planId: string;
  /** Container the plan comes from ('' for orphans); for replicas, the first by name. */
  container: string;
  /** Every replica a service's plan covers (only when the service has several). */
  replicas?: string[];
  state: PlanState;
  reason: string;
  message: string;
  /** The rendered plan (Ready), or the plan found in the config (Orphaned/Removed). */
  plan?: PlanSpec;
  /** True when this reconcile changed (or would change) the plan in the config. */
  changed: boolean;
  /** Notes for the author (a schedule descriptor translated), each naming container, label, value. */
  notes?: string[];
}

export interface ReconcileSummary {
  config: string;
  dryRun: boolean;
  /** BackupWorkloads seen. */
  seen: number;
  entries: PlanEntry[];
  /** The config's bytes differ (or would differ) after this reconcile. */
  changed: boolean;
  written: boolean;
  diff: string;
  /** The canonical bytes that were (or would be) written. */
  after: string;
  /**
   * The secret values `after` holds (configSecretValues), when the store worked them out from its
   * document: the CLI masks them in the diff it prints without parsing `after` again.
   */
  secretValues?: string[];
  apply?: ApplyOutcome;
  /** A fatal error (invalid config JSON, refused config, store unreachable). */
  fatal?: { code: string; message: string };
  finishedAt: string;
}

/** Exit codes of the one-shot CLI (seed + brief): see packages/cli/README.md. */
export const ExitCode = {
  Written: 0,
  Fatal: 1,
  NoChange: 2,
  Partial: 3,
} as const;

/**
 * 1 fatal > 3 partial (a plan skipped, an apply failed, with `requireApply` an apply that could
 * not run) > 2 dry run or nothing to write > 0
 * written. A dry run that finds broken labels exits 3 so CI can catch it.
 */
export function exitCodeOf(
  summary: ReconcileSummary | undefined,
  options: { requireApply?: boolean } = {},
): number {
  if (!summary || summary.fatal) return ExitCode.Fatal;
  const status = summary.apply?.status;
  // Backrest stopped or busy: the config is written and loads at its next (re)start. That is
  // success unless the caller needs Backrest to run it now (`--require-apply`).
  const notApplied = status === 'not-running' || status === 'deferred';
  const partial =
    summary.entries.some((e) => e.state === 'Skipped') ||
    status === 'failed' ||
    (options.requireApply === true && notApplied);
  if (partial) return ExitCode.Partial;
  if (summary.dryRun || !summary.written) return ExitCode.NoChange;
  return ExitCode.Written;
}
