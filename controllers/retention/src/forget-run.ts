import type {
  ForgetReport,
  PruneMode,
  WorkloadForgetResult,
  WorkloadForgetStatus,
  WorkloadTarget,
} from '@backrest-sidecar/api';
import type { Logger } from '@dockop/runtime';
import type { ForgetDeps, ForgetOptions } from './run-forget.js';

// The state one runForget call threads through its steps (run-forget.ts, forget-path-group.ts).

/** What every step of one forget run shares. */
export interface ForgetRun {
  options: ForgetOptions;
  deps: ForgetDeps;
  logger: Logger;
  includeProjectName: boolean;
  dryRun: boolean;
  prune: PruneMode;
  host: string;
  report: ForgetReport;
  /** Records a Warning on the result, logs `retention.<reason>` and one event per container. */
  warn(r: WorkloadForgetResult, reason: string, message: string): void;
}

/** Workloads sharing one path (compose replicas) and the one policy they agree on. */
export interface PathGroup {
  path: string;
  targets: WorkloadTarget[];
  keep: string;
  flags: string[];
}

export function result(
  containers: string[],
  path: string,
  keep: string,
  flags: string[],
  status: WorkloadForgetStatus,
): WorkloadForgetResult {
  return { containers, path, keep, flags, status, kept: [], removed: [], warnings: [] };
}

export function signalOpt(options: ForgetOptions): { signal?: AbortSignal } {
  return options.signal ? { signal: options.signal } : {};
}
