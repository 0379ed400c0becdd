// The ContainerActions contract: its token, interface, options and errors (the dockerode
// implementation is container-actions.ts and the files it delegates to).
import type Dockerode from 'dockerode';

/** Imperative Docker operations controllers perform (restart a workload, run a backup job...). */
export const ContainerActions = Symbol.for('dockop.ContainerActions');

export interface OneShotMount {
  type: 'bind' | 'volume';
  source: string;
  target: string;
  readOnly?: boolean;
}

export interface OneShotSpec {
  image: string;
  cmd?: string[];
  entrypoint?: string[];
  /** The container's whole environment besides the image's own: own properties only. */
  env?: Record<string, string>;
  mounts?: OneShotMount[];
  labels?: Record<string, string>;
  name?: string;
  user?: string;
  workingDir?: string;
  /** Default true: the container is removed after `wait` (and after a kill on abort/timeout). */
  autoRemove?: boolean;
  /**
   * On abort or timeout, the signal sent first so that the process can clean up (restic removes
   * its repository lock on SIGINT, 0.14 not every time; after SIGKILL the lock blocks other runs
   * for 30 min). The
   * container is killed (SIGKILL) when it has not exited `stopGraceMs` later. Default: SIGKILL
   * at once.
   */
  stopSignal?: string;
  /** How long `stopSignal` gets before SIGKILL, in ms. Default 10000. */
  stopGraceMs?: number;
}

export interface OneShotResult {
  exitCode: number;
  containerId: string;
  durationMs: number;
}

export type ActionErrorCode = 'NotFound' | 'Timeout' | 'Aborted' | 'Failed' | 'Unhealthy';

/** Every ContainerActions method rejects with this, never with a raw dockerode error. */
export class ActionError extends Error {
  override readonly name = 'ActionError';
  readonly code: ActionErrorCode;
  /** Container name or id the action was about (the image for a failed one-shot create). */
  readonly target: string;
  declare readonly cause?: unknown;

  constructor(
    code: ActionErrorCode,
    target: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.code = code;
    this.target = target;
  }
}

export function isActionError(err: unknown, code?: ActionErrorCode): err is ActionError {
  return err instanceof ActionError && (code === undefined || err.code === code);
}

export type WaitCondition = 'running' | 'healthy' | 'stable';

export interface ContainerActions {
  /** Restart with a stop grace period of `timeoutSec` (default 10). */
  restart(target: string, opts?: { timeoutSec?: number; signal?: AbortSignal }): Promise<void>;
  /** Stop with a grace period of `timeoutSec` (default 10). Already stopped = ok. */
  stop(target: string, opts?: { timeoutSec?: number; signal?: AbortSignal }): Promise<void>;
  /** Already running = ok. */
  start(target: string, opts?: { signal?: AbortSignal }): Promise<void>;
  /** Rejects `NotFound` when the container is gone. */
  inspect(target: string): Promise<Dockerode.ContainerInspectInfo>;
  /**
   * The processes running in the container (`docker top`): one command line each. Rejects
   * `NotFound` when the container is gone; a stopped container has none (engine answers 409).
   */
  processes(target: string): Promise<string[]>;
  /**
   * - `running`: State.Running.
   * - `healthy`: running, and health `healthy` when it has a healthcheck (rejects `Unhealthy`
   *   when the engine reports `unhealthy`).
   * - `stable`: `healthy` as above and still so `stableMs` (default 5000) later, with the same
   *   StartedAt and RestartCount (a crash loop or a restart in between starts the window over).
   */
  waitFor(
    target: string,
    condition: WaitCondition,
    opts: { timeoutMs: number; stableMs?: number; signal?: AbortSignal },
  ): Promise<void>;
  /**
   * Create, start, stream logs line by line (demultiplexed), wait, remove. Abort or timeout
   * kills and removes the container and rejects `Aborted` / `Timeout`; one aborted while its
   * create request was in flight is removed once the engine answers, before the rejection
   * (never left in `Created`). A container that never started is removed even without autoRemove.
   */
  runOneShot(
    spec: OneShotSpec,
    opts?: {
      signal?: AbortSignal;
      timeoutMs?: number;
      onLog?: (line: string, stream: 'stdout' | 'stderr') => void;
      /**
       * Copied to the container's stdin (attached before start); the container reads EOF when it
       * ends. On abort or timeout the container is killed BEFORE its stdin is closed, so a
       * consumer such as `restic backup --stdin` never sees a clean end of a cut-off input.
       */
      stdin?: NodeJS.ReadableStream;
    },
  ): Promise<OneShotResult>;
  /** Every container (running or not) matching Docker list `filters`, e.g. `{ label: ['a=b'] }`. */
  list(filters: Record<string, string[]>): Promise<Dockerode.ContainerInfo[]>;
  /**
   * Removes the containers carrying every one of `labels` (one-shots a killed process left
   * behind between create and remove). Only `created`, `exited` and `dead` ones unless
   * `includeRunning` (a running one may belong to another live process). Resolves the removed ids.
   */
  removeLeftovers(
    labels: Record<string, string>,
    opts?: { includeRunning?: boolean; signal?: AbortSignal },
  ): Promise<string[]>;
}

export const ContainerActionsOptions = Symbol.for('dockop.ContainerActionsOptions');

export interface ContainerActionsOptions {
  /** Deadline of inspect, list, start, create and remove, in ms. Default 30000. */
  requestTimeoutMs?: number;
  /** Grace period of stop/restart when the caller gives none, in s. Default 10. */
  stopTimeoutSec?: number;
  /** Deadline of `runOneShot` when the caller gives none, in ms. Default 6 h (a backup can be long). */
  oneShotTimeoutMs?: number;
  /** Interval between two inspects in `waitFor`, in ms. Default 250. */
  pollIntervalMs?: number;
}

export const CONTAINER_ACTIONS_DEFAULTS: Required<ContainerActionsOptions> = {
  requestTimeoutMs: 30_000,
  stopTimeoutSec: 10,
  oneShotTimeoutMs: 6 * 60 * 60 * 1000,
  pollIntervalMs: 250,
};
