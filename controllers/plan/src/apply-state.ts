import { KeyTrigger, makeKey, writeFileAtomic, type ResourceKey } from '@dockop/runtime';
import type { ApplyOutcome, ApplyPhase, ApplyStatus } from '@backrest-sidecar/api';

export type { ApplyPhase, ApplyStatus } from '@backrest-sidecar/api';

/** Kind of the apply worker's keys: one per Backrest target (container, URL or command). */
export const APPLY_TARGET_KIND = 'BackrestTarget';

/**
 * What the plan controller wrote and the apply worker has yet to apply, for one target. The plan
 * controller calls `written` after each write (it never waits); the worker reads `pending` and
 * records the outcome. Also holds the bytes a rollback refused, so the plan controller does not
 * write them again until the desired config changes.
 */
export class ApplyState {
  readonly trigger = new KeyTrigger('backrest-apply');
  readonly key: ResourceKey;
  #seq = 0;
  #appliedSeq = 0;
  #latest: string | undefined;
  #good: string | undefined;
  #refused: string | undefined;
  #status: ApplyStatus;
  readonly #now: () => number;
  readonly #statusFile: { path: string; config: string } | undefined;
  #persisting: Promise<void> = Promise.resolve();

  /**
   * @param statusFile where the status is persisted on every phase change (for `describe`, which
   *   runs in another process than the daemon); default: nowhere.
   */
  constructor(
    readonly target: string,
    now: () => number = Date.now,
    statusFile?: { path: string; config: string },
  ) {
    this.key = makeKey(APPLY_TARGET_KIND, target);
    this.#now = now;
    this.#statusFile = statusFile;
    this.#status = { target, phase: 'Idle', message: '', since: new Date(now()).toISOString() };
  }

  /** A write happened (`before` → `after`): wake the apply worker. */
  written(before: string, after: string): void {
    // The config before our first unapplied write is what a running Backrest runs.
    if (this.#seq === this.#appliedSeq && this.#good === undefined) this.#good = before;
    this.#seq++;
    this.#latest = after;
    if (this.#status.phase !== 'Deferred') this.#setPhase('Pending', 'written; not applied yet');
    this.trigger.fire(this.key);
  }

  /** The newest unapplied write, or undefined when everything written was applied. */
  pending(): { seq: number; written: string; good?: string } | undefined {
    if (this.#seq === this.#appliedSeq || this.#latest === undefined) return undefined;
    return {
      seq: this.#seq,
      written: this.#latest,
      ...(this.#good !== undefined ? { good: this.#good } : {}),
    };
  }

  /** The worker finished applying up to `seq` with `outcome`. */
  settled(seq: number, written: string, outcome: ApplyOutcome): void {
    if (outcome.status === 'deferred') {
      this.#setPhase('Deferred', outcome.message, outcome);
      return;
    }
    this.#appliedSeq = Math.max(this.#appliedSeq, seq);
    if (outcome.status === 'failed' && outcome.rolledBack) this.#refused = written;
    // Backrest now runs `written` (or will at its next start): the next rollback target.
    else if (outcome.status !== 'failed') this.#good = written;
    const more = this.#seq > this.#appliedSeq;
    switch (outcome.status) {
      case 'failed':
        this.#setPhase('Failed', outcome.message, outcome);
        break;
      case 'not-running':
        this.#setPhase('NotRunning', outcome.message, outcome);
        break;
      default:
        this.#setPhase(
          more ? 'Pending' : 'Idle',
          outcome.status === 'applied' ? (outcome.message ?? '') : '',
          outcome,
        );
    }
  }

  /** Bytes that took Backrest down and were rolled back; undefined when none. */
  get refused(): string | undefined {
    return this.#refused;
  }

  /** The plan controller must not write `bytes` again until the desired config changes. */
  refuse(bytes: string): void {
    this.#refused = bytes;
  }

  clearRefused(): void {
    this.#refused = undefined;
  }

  get status(): ApplyStatus {
    return this.#status;
  }

  #setPhase(phase: ApplyPhase, message: string, last?: ApplyOutcome): void {
    const since =
      phase === this.#status.phase ? this.#status.since : new Date(this.#now()).toISOString();
    this.#status = {
      target: this.target,
      phase,
      message,
      since,
      ...(last ? { last } : this.#status.last ? { last: this.#status.last } : {}),
    };
    this.#persist();
  }

  /** Resolves once the last status change reached the status file. */
  flushed(): Promise<void> {
    return this.#persisting;
  }

  /** Best effort, in order, atomically (a reader never sees half a file). */
  #persist(): void {
    const file = this.#statusFile;
    if (!file) return;
    const body = `${JSON.stringify({ ...this.#status, config: file.config }, null, 2)}\n`;
    this.#persisting = this.#persisting.then(async () => {
      try {
        await writeFileAtomic(file.path, body);
      } catch {
        // The state dir may be read-only or missing: describe then just has no apply status.
      }
    });
  }
}
