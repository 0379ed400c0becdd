/**
 * How a written config reaches Backrest. Backrest reads config.json once at start (no file
 * watch, no SIGHUP), so `--apply` restarts its container; `--reload-cmd` runs a command instead;
 * apply mode `api` needs no applier at all (the store itself calls SetConfig).
 *
 * Appliers are called by the apply worker (`ApplyReconciler`), never by the plan controller: a
 * write never waits for a restart, and writes made while a restart is pending, running or cooling
 * down share one trailing restart.
 *
 * Invariants of the restart strategy: never restart Backrest while it runs an operation (up to a
 * maximum deferral); never start a Backrest that is not running; roll back only a config that
 * took a running Backrest down after our own restart.
 */
import { execFile } from 'node:child_process';
import { isActionError, type ContainerActions } from '@dockop/docker';
import {
  BASE_ENV_ALLOW_LIST,
  childEnv,
  type Clock,
  type EventRecorder,
  type Logger,
  type ResourceKey,
} from '@dockop/runtime';
import type { ApplyOutcome } from '@backrest-sidecar/api';
import type { BackrestActivity } from './backrest-activity.js';
import type { PlanStore } from './plan-store.js';

export const ConfigApplier = Symbol.for('backrest-sidecar.ConfigApplier');

export type { ApplyOutcome } from '@backrest-sidecar/api';

export interface ApplyContext {
  logger: Logger;
  recorder: EventRecorder;
  /** Key Warning/Normal events are recorded on (the aggregate config key). */
  key: ResourceKey;
  signal?: AbortSignal;
}

/** What is being applied. */
export interface ApplyRequest {
  /** The bytes last written (what Backrest should run after the apply). */
  written: string;
  /** The last config Backrest was seen running on (restored on a rollback); undefined: unknown. */
  good?: string;
  /** Called before a rollback writes: from then on `written` must not be written again. */
  onRollback?: () => void;
}

export interface ConfigApplier {
  readonly name: string;
  /** Minimum time between two applies (ms); writes meanwhile wait for one trailing apply. */
  readonly cooldownMs?: number;
  apply(ctx: ApplyContext, request: ApplyRequest): Promise<ApplyOutcome>;
}

/** `--apply` not given: the change waits for Backrest's next start. */
export class NoopApplier implements ConfigApplier {
  readonly name = 'none';
  async apply(): Promise<ApplyOutcome> {
    return { status: 'skipped' };
  }
}

export interface RestartApplierOptions {
  /** Backrest's container name. Default `backrest`. */
  container: string;
  /** Minimum time between two restarts; changes meanwhile → one trailing restart. Default 10000. */
  cooldownMs?: number;
  /** How long the container must stay up after a restart. Default 5000. */
  stableMs?: number;
  /**
   * Upper bound for a restart to become stable. A container that exited is not reported until
   * this passes (it could still come back under a restart policy), so keep it short. Default
   * `stableMs` + 15000.
   */
  stableTimeoutMs?: number;
  /**
   * Stop grace period of `docker restart` in seconds. Backrest exits on SIGTERM at once, so a
   * short one only bounds a Backrest that hangs. Default 3.
   */
  stopTimeoutSec?: number;
  /** Longest a restart waits for a running operation to end; then it restarts anyway. Default 6 h. */
  maxDeferMs?: number;
  /** How often a deferred restart checks again whether Backrest is idle. Default 10000. */
  busyPollMs?: number;
}

export const RESTART_APPLIER_DEFAULTS = {
  cooldownMs: 10_000,
  stableMs: 5_000,
  stopTimeoutSec: 3,
  maxDeferMs: 6 * 3_600_000,
  busyPollMs: 10_000,
} as const;

/** Called with true while a restart is deferred, false when it no longer is (a metric). */
export type DeferralObserver = (container: string, deferred: boolean) => void;

/**
 * `--apply`: `docker restart <backrest>` when Backrest is running and idle. The apply worker's
 * queue coalesces writes and honours `cooldownMs`; this class decides per call.
 */
export class RestartApplier implements ConfigApplier {
  readonly name = 'restart';
  readonly cooldownMs: number;
  readonly #actions: Pick<ContainerActions, 'restart' | 'waitFor' | 'inspect'>;
  readonly #store: Pick<PlanStore, 'rollback'>;
  readonly #clock: Clock;
  readonly #activity: BackrestActivity;
  readonly #opts: Required<RestartApplierOptions>;
  readonly #onDeferral: DeferralObserver | undefined;
  #deferredSince: number | undefined;
  #restarts = 0;

  constructor(
    actions: Pick<ContainerActions, 'restart' | 'waitFor' | 'inspect'>,
    store: Pick<PlanStore, 'rollback'>,
    clock: Clock,
    activity: BackrestActivity,
    options: RestartApplierOptions,
    onDeferral?: DeferralObserver,
  ) {
    this.#actions = actions;
    this.#store = store;
    this.#clock = clock;
    this.#activity = activity;
    this.#onDeferral = onDeferral;
    const stableMs = options.stableMs ?? RESTART_APPLIER_DEFAULTS.stableMs;
    this.#opts = {
      ...RESTART_APPLIER_DEFAULTS,
      stableTimeoutMs: stableMs + 15_000,
      ...options,
    };
    this.cooldownMs = this.#opts.cooldownMs;
  }

  /** Restarts issued so far (including rollback restarts). */
  get restarts(): number {
    return this.#restarts;
  }

  /** When the current deferral started (clock ms); undefined when none. */
  get deferredSince(): number | undefined {
    return this.#deferredSince;
  }

  async apply(ctx: ApplyContext, request: ApplyRequest): Promise<ApplyOutcome> {
    const { container, maxDeferMs, busyPollMs } = this.#opts;
    const down = await this.#notRunning();
    if (down !== undefined) {
      this.#endDeferral();
      const message =
        `Backrest container ${container} is not running (${down}): the config was written and ` +
        'loads at its next start; not starting it';
      ctx.logger.warn('backrest.not_running', { container, state: down });
      ctx.recorder.event(ctx.key, 'Warning', 'BackrestNotRunning', message);
      return { status: 'not-running', message };
    }

    const busy = await this.#activity.busy(ctx.signal);
    let forced: string | undefined;
    if (busy !== undefined) {
      const now = this.#clock.now();
      const first = this.#deferredSince === undefined;
      this.#deferredSince ??= now;
      const waited = now - this.#deferredSince;
      if (waited < maxDeferMs) {
        const message =
          `restart of ${container} deferred: Backrest is running ${busy}; the new config ` +
          `applies when it is idle (at most ${formatMs(maxDeferMs)} after the first deferral)`;
        if (first) {
          ctx.logger.info('apply.deferred', { container, busy, max_defer_ms: maxDeferMs });
          ctx.recorder.event(ctx.key, 'Normal', 'ApplyDeferred', message);
          this.#onDeferral?.(container, true);
        }
        return {
          status: 'deferred',
          message,
          retryAfterMs: Math.max(1, Math.min(busyPollMs, maxDeferMs - waited)),
        };
      }
      forced =
        `restarting ${container} although Backrest is still running ${busy}: the restart ` +
        `waited ${formatMs(waited)}, the maximum deferral`;
      ctx.logger.warn('apply.forced', { container, busy, waited_ms: waited });
      ctx.recorder.event(ctx.key, 'Warning', 'ApplyForced', forced);
    }
    this.#endDeferral();

    try {
      await this.#restart();
    } catch (err) {
      // The restart request itself failed (container removed meanwhile, engine error): nothing
      // ran with the new config, so nothing to roll back.
      if (isActionError(err, 'NotFound')) {
        const message = `Backrest container ${container} disappeared before the restart: the config was written and loads at its next start`;
        ctx.recorder.event(ctx.key, 'Warning', 'BackrestNotRunning', message);
        return { status: 'not-running', message };
      }
      const message = `restart of ${container} failed: ${(err as Error).message}`;
      ctx.logger.error('backrest.restart_failed', { container, error: (err as Error).message });
      ctx.recorder.event(ctx.key, 'Warning', 'ApplyFailed', message);
      return { status: 'failed', rolledBack: false, message };
    }
    try {
      await this.#verify();
      ctx.logger.info('backrest.restarted', { container, forced: forced !== undefined });
      const message = forced ?? `restarted ${container} to apply the config`;
      ctx.recorder.event(ctx.key, 'Normal', 'BackrestRestarted', message);
      return { status: 'applied', restarts: 1, message };
    } catch (err) {
      return this.#rollBack(ctx, request, (err as Error).message);
    }
  }

  /** Backrest was running, we restarted it, it did not stay up: restore what it ran before. */
  async #rollBack(ctx: ApplyContext, request: ApplyRequest, why: string): Promise<ApplyOutcome> {
    const { container } = this.#opts;
    ctx.logger.error('backrest.unstable', { container, error: why });
    let rolledBack = false;
    let recovered = false;
    try {
      request.onRollback?.();
      rolledBack = await this.#store.rollback(request.good);
      ctx.logger.warn('config.rolled_back', { container, rolled_back: rolledBack });
      if (rolledBack) {
        await this.#restart();
        await this.#verify();
        recovered = true;
      }
    } catch (again) {
      ctx.logger.error('backrest.rollback_failed', {
        container,
        error: (again as Error).message,
      });
    }
    const message =
      `${container} did not stay up after the config change (${why}); ` +
      (rolledBack
        ? `the previous config was restored and Backrest restarted${recovered ? '' : ' (it is still not up)'}; ` +
          'the same config is not written again until the labels change'
        : 'no previous config to restore');
    ctx.recorder.event(ctx.key, 'Warning', 'ApplyFailed', message);
    return { status: 'failed', rolledBack, message };
  }

  /** Why Backrest is not running, or undefined when it is. */
  async #notRunning(): Promise<string | undefined> {
    try {
      const info = await this.#actions.inspect(this.#opts.container);
      const state = info.State;
      if (state.Restarting) return 'restarting';
      if (!state.Running) return state.Status || 'stopped';
      return undefined;
    } catch (err) {
      if (isActionError(err, 'NotFound')) return 'no such container';
      throw err;
    }
  }

  #endDeferral(): void {
    if (this.#deferredSince === undefined) return;
    this.#deferredSince = undefined;
    this.#onDeferral?.(this.#opts.container, false);
  }

  async #restart(): Promise<void> {
    this.#restarts++;
    await this.#actions.restart(this.#opts.container, { timeoutSec: this.#opts.stopTimeoutSec });
  }

  async #verify(): Promise<void> {
    const { container, stableMs, stableTimeoutMs } = this.#opts;
    await this.#actions.waitFor(container, 'stable', { timeoutMs: stableTimeoutMs, stableMs });
  }
}

function formatMs(ms: number): string {
  if (ms >= 3_600_000 && ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms >= 60_000 && ms % 60_000 === 0) return `${ms / 60_000} min`;
  if (ms >= 1000) return `${Math.round(ms / 100) / 10} s`;
  return `${ms} ms`;
}

export interface CommandApplierOptions {
  /** Run with `sh -c`. */
  command: string;
  /** Default 60000. */
  timeoutMs?: number;
  /** Default `process.env`: only `RELOAD_ENV_ALLOW_LIST` variables (own properties) pass. */
  parentEnv?: NodeJS.ProcessEnv;
}

/** What a reload command (`docker restart`, `systemctl restart`) may need from our environment. */
export const RELOAD_ENV_ALLOW_LIST: ReadonlyArray<string | RegExp> = Object.freeze([
  ...BASE_ENV_ALLOW_LIST,
  'XDG_RUNTIME_DIR',
  'DBUS_SESSION_BUS_ADDRESS',
  'DBUS_SYSTEM_BUS_ADDRESS',
  /^DOCKER_(HOST|CONFIG|CONTEXT|CERT_PATH|TLS_VERIFY|API_VERSION)$/,
]);

/** `--reload-cmd`: for a Backrest that gains a reload, or any wrapper script. */
export class CommandApplier implements ConfigApplier {
  readonly name = 'command';
  constructor(readonly options: CommandApplierOptions) {}

  apply(ctx: ApplyContext): Promise<ApplyOutcome> {
    const { command, timeoutMs = 60_000 } = this.options;
    // Explicit: an omitted env is process.env walked with for-in, prototype keys included.
    const env = childEnv({
      parent: this.options.parentEnv ?? process.env,
      allow: RELOAD_ENV_ALLOW_LIST,
    });
    return new Promise((resolve) => {
      execFile('sh', ['-c', command], { timeout: timeoutMs, env }, (err, _stdout, stderr) => {
        if (err) {
          const message = `reload command failed (${err.message.split('\n')[0]}): ${stderr.trim().slice(0, 500)}`;
          ctx.logger.error('backrest.reload_failed', { error: message });
          ctx.recorder.event(ctx.key, 'Warning', 'ApplyFailed', message);
          resolve({ status: 'failed', rolledBack: false, message });
        } else {
          ctx.logger.info('backrest.reloaded', {});
          ctx.recorder.event(ctx.key, 'Normal', 'BackrestReloaded', 'reload command succeeded');
          resolve({ status: 'applied', restarts: 0 });
        }
      });
    });
  }
}
