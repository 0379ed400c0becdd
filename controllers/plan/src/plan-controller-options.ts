import type { DebounceOptions } from '@dockop/runtime';
import type { PlanDefaults } from './plan-builder.js';

/** Bound by whoever loads the plan controller (the CLI) before loading its module. */
export const PlanControllerOptions = Symbol.for('backrest-sidecar.PlanControllerOptions');

export type ApplyMode = 'none' | 'restart' | 'command' | 'api';

export interface PlanControllerOptions {
  /** The Backrest config file (the aggregate key is `BackrestConfig/<configPath>`). */
  configPath: string;
  /** Sink options passed through (format, write mode). Defaults: ConfigSink's. */
  configFormat?: 'auto' | 'sidecar' | 'backrest';
  writeMode?: 'atomic' | 'inplace';
  /**
   * `instance` of a native Backrest file the sink creates. Default: the Docker engine's host
   * name (`docker info` Name), else this machine's, as a valid Backrest id.
   */
  instance?: string;
  defaults: PlanDefaults;
  /** `once`: one-shot reconcile (CLI `reconcile`); `daemon`: long-running. Default `once`. */
  mode?: 'once' | 'daemon';
  /** Render, log and diff; write nothing and apply nothing. Default false. */
  dryRun?: boolean;
  /**
   * Only containers carrying every one of these labels are workloads of this instance (e.g. one
   * compose project). Others are ignored as if absent, so give each selector its own `prefix`.
   * Default: every `backrest.enable=true` container.
   */
  selector?: Record<string, string>;
  /** One-shot mode: remove our plans whose container is gone. Default false. */
  prune?: boolean;
  /** Daemon mode: how long a plan may be orphaned before removal. Default 600000 (10 min). */
  orphanGraceMs?: number;
  /**
   * Daemon mode: merge a burst of container events into one write. Default leading edge, quiet
   * 50 ms, at most 100 ms: a lone change is written at once, a burst about ten times a second
   * (a render of 100 plans and its fsync'd write take a few ms; restarts are merged separately,
   * by the apply worker, so more writes cost no restart). 250 ms left a burst's median plan
   * ~340 ms from `docker create` (issue #11's goal: 300 ms).
   */
  debounce?: DebounceOptions;
  /** Where the apply worker persists its status for `describe` (JSON). Default: nowhere. */
  applyStatusFile?: string;
  /** The apply worker's merge of writes into one apply. Default 5000 / 60000 ms. */
  applyDebounce?: { quietMs: number; maxWaitMs: number };
  /** Re-reconcile this often even without events (ms). Default: none. */
  resyncPeriodMs?: number;
  /**
   * Daemon: reconcile on container events (`--with-events`). When false, only `resyncPeriodMs`
   * and the initial reconcile trigger work (the cache still follows Docker). One-shot mode never
   * reconciles on events: it reconciles the synced cache exactly once. Default true.
   */
  watchEvents?: boolean;
  apply?: {
    mode: ApplyMode;
    /** restart: Backrest's container. Default `backrest`. */
    container?: string;
    /** restart: default 10000. */
    cooldownMs?: number;
    /** restart: how long Backrest must stay up. Default 5000. */
    stableMs?: number;
    /** restart: stop grace period in seconds (Backrest exits on SIGTERM). Default 3. */
    stopTimeoutSec?: number;
    /** restart: longest wait for a running operation before restarting anyway. Default 6 h. */
    maxDeferMs?: number;
    /** command: run with `sh -c`. */
    command?: string;
    /** api: Backrest's base URL; restart: also used to ask whether Backrest is busy. */
    url?: string;
    /** api: `Authorization` header value. */
    authorization?: string;
  };
}

export const PLAN_CONTROLLER_DEFAULTS = {
  mode: 'once',
  dryRun: false,
  prune: false,
  orphanGraceMs: 600_000,
  debounce: { quietMs: 50, maxWaitMs: 100, leading: true },
} as const;

export const CONFIG_KIND = 'BackrestConfig';
