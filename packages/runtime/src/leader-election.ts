import { randomBytes } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import * as lockfile from 'proper-lockfile';
import { writeFileAtomic } from './atomic-write.js';
import type { Clock, TimerHandle } from './clock.js';
import type { Logger } from './logger.js';

export interface LeaderElectionOptions {
  /** The lease file; every instance managing the same host/config must use the same path. */
  leasePath: string;
  /** Default `<hostname>-<pid>-<random>`. */
  identity?: string;
  /** Non-leaders take over a lease not renewed for this long. Default 15 000 ms. */
  leaseDurationMs?: number;
  /** The leader gives up when it could not renew for this long. Default 10 000 ms. */
  renewDeadlineMs?: number;
  /** Interval between acquire and renew attempts. Default 2 000 ms. */
  retryPeriodMs?: number;
}

/** What the lease file holds (client-go's LeaderElectionRecord, times in epoch ms). */
export interface LeaseRecord {
  holderIdentity: string;
  leaseDurationMs: number;
  acquireTime: number;
  renewTime: number;
  leaderTransitions: number;
}

export interface LeaderCallbacks {
  onStartedLeading(): void | Promise<void>;
  /** Called once when the lease is lost (not on a voluntary `release`). */
  onStoppedLeading(): void;
}

/**
 * A lease in a file (atomic rename, guarded by proper-lockfile during read-modify-write), so only
 * one instance per host/config reconciles. Times come from the clock; an expired lease (renew time
 * older than its duration) may be taken over.
 */
export class LeaderElector {
  readonly identity: string;
  readonly #path: string;
  readonly #leaseMs: number;
  readonly #renewDeadlineMs: number;
  readonly #retryMs: number;
  readonly #clock: Clock;
  readonly #logger: Logger | undefined;
  #leading = false;
  #lastRenew = 0;
  #timer: TimerHandle | undefined;
  #stopped = false;

  constructor(options: LeaderElectionOptions, deps: { clock: Clock; logger?: Logger }) {
    if (!options.leasePath) throw new Error('leader election needs a leasePath');
    this.#path = path.resolve(options.leasePath);
    this.identity =
      options.identity ?? `${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`;
    this.#leaseMs = options.leaseDurationMs ?? 15_000;
    this.#renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
    this.#retryMs = options.retryPeriodMs ?? 2_000;
    if (!(
      this.#leaseMs > this.#renewDeadlineMs &&
      this.#renewDeadlineMs > this.#retryMs &&
      this.#retryMs > 0
    )) {
      throw new Error(
        `leader election needs leaseDurationMs > renewDeadlineMs > retryPeriodMs > 0 (got ${this.#leaseMs}, ${this.#renewDeadlineMs}, ${this.#retryMs})`,
      );
    }
    this.#clock = deps.clock;
    this.#logger = deps.logger;
  }

  get isLeader(): boolean {
    return this.#leading;
  }

  /** Reads the current record; undefined when there is none or it is unreadable. */
  async read(): Promise<LeaseRecord | undefined> {
    try {
      const parsed = JSON.parse(await readFile(this.#path, 'utf8')) as LeaseRecord;
      return typeof parsed?.holderIdentity === 'string' ? parsed : undefined;
    } catch {
      return undefined;
    }
  }

  /** One attempt to take or renew the lease. True when this instance holds it afterwards. */
  async tryAcquireOrRenew(): Promise<boolean> {
    await mkdir(path.dirname(this.#path), { recursive: true });
    let unlock: (() => Promise<void>) | undefined;
    try {
      unlock = await lockfile.lock(this.#path, {
        realpath: false,
        retries: 0,
        lockfilePath: `${this.#path}.lock`,
      });
    } catch {
      return false; // someone else is mid-update; try next period
    }
    try {
      const now = this.#clock.now();
      const current = await this.read();
      const heldByOther =
        current &&
        current.holderIdentity !== '' &&
        current.holderIdentity !== this.identity &&
        current.renewTime + current.leaseDurationMs > now;
      if (heldByOther) return false;
      const mine = current?.holderIdentity === this.identity;
      const record: LeaseRecord = {
        holderIdentity: this.identity,
        leaseDurationMs: this.#leaseMs,
        acquireTime: mine && current ? current.acquireTime : now,
        renewTime: now,
        leaderTransitions: (current?.leaderTransitions ?? 0) + (mine ? 0 : 1),
      };
      await this.#write(record);
      this.#lastRenew = now;
      return true;
    } finally {
      await unlock().catch(() => undefined);
    }
  }

  /** Waits (retrying every retry period) until the lease is ours or `signal` aborts. */
  async acquire(signal: AbortSignal): Promise<void> {
    for (;;) {
      if (signal.aborted) throw signal.reason;
      let ok = false;
      try {
        ok = await this.tryAcquireOrRenew();
      } catch (err) {
        this.#logger?.warn('lease.error', { path: this.#path, error: err });
      }
      if (ok) {
        this.#leading = true;
        this.#logger?.info('lease.acquired', { identity: this.identity, path: this.#path });
        return;
      }
      this.#logger?.debug('lease.held_elsewhere', { path: this.#path });
      await this.#clock.sleep(this.#retryMs, signal);
    }
  }

  /** Acquire, call `onStartedLeading`, then renew every retry period until lost or released. */
  async run(signal: AbortSignal, callbacks: LeaderCallbacks): Promise<void> {
    this.#stopped = false;
    await this.acquire(signal);
    this.#scheduleRenew(callbacks);
    await callbacks.onStartedLeading();
  }

  /** Stop renewing and give the lease up so another instance takes over at once. */
  async release(): Promise<void> {
    this.#stopped = true;
    this.#timer?.cancel();
    if (!this.#leading) return;
    this.#leading = false;
    try {
      const current = await this.read();
      if (current?.holderIdentity === this.identity) {
        await this.#write({ ...current, holderIdentity: '', renewTime: 0 });
      }
      this.#logger?.info('lease.released', { identity: this.identity });
    } catch (err) {
      this.#logger?.warn('lease.release_failed', { error: err });
    }
  }

  #scheduleRenew(callbacks: LeaderCallbacks): void {
    this.#timer = this.#clock.setTimeout(() => {
      void this.#renew(callbacks);
    }, this.#retryMs);
  }

  async #renew(callbacks: LeaderCallbacks): Promise<void> {
    if (this.#stopped || !this.#leading) return;
    let ok = false;
    try {
      ok = await this.tryAcquireOrRenew();
    } catch (err) {
      this.#logger?.warn('lease.renew_error', { error: err });
    }
    if (this.#stopped) return;
    if (!ok && this.#clock.now() - this.#lastRenew >= this.#renewDeadlineMs) {
      this.#leading = false;
      this.#logger?.error('lease.lost', { identity: this.identity, path: this.#path });
      callbacks.onStoppedLeading();
      return;
    }
    if (!ok) {
      // A failed renew may mean another holder took an expired lease: check before retrying.
      const current = await this.read();
      if (current && current.holderIdentity !== this.identity && current.holderIdentity !== '') {
        this.#leading = false;
        this.#logger?.error('lease.lost', {
          identity: this.identity,
          holder: current.holderIdentity,
        });
        callbacks.onStoppedLeading();
        return;
      }
    }
    this.#scheduleRenew(callbacks);
  }

  async #write(record: LeaseRecord): Promise<void> {
    await writeFileAtomic(this.#path, JSON.stringify(record) + '\n', { mode: 0o644 });
  }
}
