import type {
  CommitResult,
  ConfigFormat,
  LoadedConfig,
  PlanChanges,
} from '@backrest-sidecar/config-sink';

/**
 * Where plans are read from and committed to. `ConfigSink` (the config file) satisfies it as is;
 * `BackrestApiStore` (apply mode `api`) goes through Backrest's GetConfig/SetConfig instead.
 * Swapping the store is how the controller supports both without knowing either.
 */
export const PlanStore = Symbol.for('backrest-sidecar.PlanStore');

export interface PlanStore {
  load(): Promise<LoadedConfig>;
  /**
   * Optional: a cheap token that changes whenever the stored config may have changed (the file's
   * stat). With it, a daemon skips a reconcile whose workloads and config are what its last one
   * saw (the periodic resync of an idle host). Without it, every reconcile loads and renders.
   */
  revision?(): Promise<string>;
  /** Renders and diffs; writes nothing. */
  preview(changes: PlanChanges): Promise<CommitResult>;
  /** Writes only when the rendered bytes differ. */
  commit(changes: PlanChanges): Promise<CommitResult>;
  /**
   * Restores the previous config (the backup of the last write), or `to` when given (the config
   * Backrest last ran on); false when there is nothing to restore.
   */
  rollback(to?: string): Promise<boolean>;
}

export type { CommitResult, ConfigFormat, LoadedConfig, PlanChanges };
