import type { ApplyOutcome, ReconcileSummary } from '@backrest-sidecar/api';

// The report shapes and exit codes live in the API package (the CLI reads them from there);
// re-exported so this package's API is unchanged.
export {
  ExitCode,
  exitCodeOf,
  type PlanEntry,
  type PlanState,
  type ReconcileSummary,
} from '@backrest-sidecar/api';

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
