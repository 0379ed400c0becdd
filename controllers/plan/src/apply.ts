/**
 * How a committed config change reaches Backrest. Backrest reads config.json once at start (no
 * file watch, no SIGHUP), so the default is a container restart; `--reload-cmd` runs a command
 * instead; apply mode `api` needs no applier at all (the store itself calls SetConfig).
 *
 * Invariant of every strategy: a bad write must never leave Backrest down. The restart strategy
 * verifies the container stays up and otherwise rolls the config back and restarts again.
 */
import { execFile } from 'node:child_process';
import type { ContainerActions } from '@dockop/docker';
import {
  BASE_ENV_ALLOW_LIST,
  childEnv,
  type Clock,
  type EventRecorder,
  type Logger,
  type ResourceKey,
} from '@dockop/runtime';
import type { PlanStore } from './plan-store.js';

export const ConfigApplier = Symbol.for('backrest-sidecar.ConfigApplier');

export interface ApplyContext {
  logger: Logger;
  recorder: EventRecorder;
  /** Key Warning/Normal events are recorded on (the aggregate config key). */
  key: ResourceKey;
}

export type ApplyOutcome =
  | { status: 'applied'; restarts: number }
  | { status: 'skipped' }
  /** Backrest did not stay up: the previous config was restored (`rolledBack`) and restarted. */
  | { status: 'failed'; rolledBack: boolean; message: string };

export interface ConfigApplier {
  readonly name: string;
  /** Called after every commit that changed the config. */
  apply(ctx: ApplyContext): Promise<ApplyOutcome>;
  /**
   * Resolves when no restart/verify/rollback is running (a trailing restart that is only
   * scheduled does not count). The daemon waits for it before the next commit, so a rollback
   * can never restore a `.bak` that a newer commit produced.
   */
  idle?(): Promise<void>;
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
  /** Stop grace period of `docker restart`. Default 10. */
  stopTimeoutSec?: number;
}

export const RESTART_APPLIER_DEFAULTS = {
  cooldownMs: 10_000,
  stableMs: 5_000,
  stopTimeoutSec: 10,
} as const;

/**
 * `--apply`: `docker restart <backrest>` once per committed change, at most once per cooldown.
 * Requests during the cooldown (or while a restart runs) share ONE trailing restart, which
 * picks up every change committed before it starts.
 */
export class RestartApplier implements ConfigApplier {
  readonly name = 'restart';
  readonly #actions: Pick<ContainerActions, 'restart' | 'waitFor'>;
  readonly #store: Pick<PlanStore, 'rollback'>;
  readonly #clock: Clock;
  readonly #opts: Required<RestartApplierOptions>;
  #lastStartAt: number | undefined;
  #inFlight: Promise<ApplyOutcome> | undefined;
  #trailing: Promise<ApplyOutcome> | undefined;
  #restarts = 0;

  constructor(
    actions: Pick<ContainerActions, 'restart' | 'waitFor'>,
    store: Pick<PlanStore, 'rollback'>,
    clock: Clock,
    options: RestartApplierOptions,
  ) {
    this.#actions = actions;
    this.#store = store;
    this.#clock = clock;
    const stableMs = options.stableMs ?? RESTART_APPLIER_DEFAULTS.stableMs;
    this.#opts = {
      ...RESTART_APPLIER_DEFAULTS,
      stableTimeoutMs: stableMs + 15_000,
      ...options,
    };
  }

  async idle(): Promise<void> {
    await this.#inFlight?.catch(() => undefined);
  }

  /** Restarts issued so far (including rollback restarts). */
  get restarts(): number {
    return this.#restarts;
  }

  apply(ctx: ApplyContext): Promise<ApplyOutcome> {
    if (this.#trailing) return this.#trailing;
    const now = this.#clock.now();
    const earliest =
      this.#lastStartAt === undefined ? now : this.#lastStartAt + this.#opts.cooldownMs;
    if (!this.#inFlight && earliest <= now) return this.#start(ctx);
    this.#trailing = (async () => {
      await this.#inFlight?.catch(() => undefined);
      const wait = (this.#lastStartAt ?? 0) + this.#opts.cooldownMs - this.#clock.now();
      if (wait > 0) await this.#clock.sleep(wait);
      this.#trailing = undefined;
      return this.#start(ctx);
    })();
    return this.#trailing;
  }

  #start(ctx: ApplyContext): Promise<ApplyOutcome> {
    this.#lastStartAt = this.#clock.now();
    const run = this.#restartAndVerify(ctx).finally(() => {
      if (this.#inFlight === run) this.#inFlight = undefined;
    });
    this.#inFlight = run;
    return run;
  }

  async #restartAndVerify(ctx: ApplyContext): Promise<ApplyOutcome> {
    const { container } = this.#opts;
    try {
      await this.#restartOnce();
      ctx.logger.info('backrest.restarted', { container });
      ctx.recorder.event(
        ctx.key,
        'Normal',
        'BackrestRestarted',
        `restarted ${container} to apply the config`,
      );
      return { status: 'applied', restarts: 1 };
    } catch (err) {
      const why = (err as Error).message;
      ctx.logger.error('backrest.unstable', { container, error: why });
      let rolledBack = false;
      try {
        rolledBack = await this.#store.rollback();
        ctx.logger.warn('config.rolled_back', { container, rolled_back: rolledBack });
        await this.#restartOnce();
      } catch (again) {
        ctx.logger.error('backrest.rollback_failed', {
          container,
          error: (again as Error).message,
        });
      }
      const message =
        `${container} did not stay up after the config change (${why}); ` +
        (rolledBack
          ? 'the previous config was restored and Backrest restarted'
          : 'no previous config to restore');
      ctx.recorder.event(ctx.key, 'Warning', 'ApplyFailed', message);
      return { status: 'failed', rolledBack, message };
    }
  }

  async #restartOnce(): Promise<void> {
    const { container, stopTimeoutSec, stableMs, stableTimeoutMs } = this.#opts;
    this.#restarts++;
    await this.#actions.restart(container, { timeoutSec: stopTimeoutSec });
    await this.#actions.waitFor(container, 'stable', { timeoutMs: stableTimeoutMs, stableMs });
  }
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
