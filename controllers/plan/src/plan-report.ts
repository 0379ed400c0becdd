import type { PlanSpec } from '@backrest-sidecar/config-sink';
import type { ApplyOutcome } from './apply.js';

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
  apply?: ApplyOutcome;
  /** A fatal error (invalid config JSON, refused config, store unreachable). */
  fatal?: { code: string; message: string };
  finishedAt: string;
}

/**
 * What the last reconcile decided, per plan: read by the CLI (`get plans`, `describe plan`, exit
 * codes, the dry-run summary) after a one-shot run, and by `/readyz`-style checks in the daemon.
 * The class itself is the injection token (one singleton per container).
 */
export class PlanReport {
  #last: ReconcileSummary | undefined;
  readonly #listeners: ((summary: ReconcileSummary) => void)[] = [];

  record(summary: ReconcileSummary): void {
    this.#last = summary;
    for (const l of this.#listeners) l(summary);
  }

  /** Calls `listener` with every summary recorded from now on (metrics). */
  onRecord(listener: (summary: ReconcileSummary) => void): void {
    this.#listeners.push(listener);
  }

  setApply(outcome: ApplyOutcome): void {
    if (this.#last) this.#last = { ...this.#last, apply: outcome };
  }

  get last(): ReconcileSummary | undefined {
    return this.#last;
  }
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
