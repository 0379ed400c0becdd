/**
 * Decides when a plan we own but no container maps to any more may be removed.
 *
 * Invariants:
 * - a plan id that reappears (e.g. `compose up --force-recreate`: destroy then create) before its
 *   grace period ends is never removed, and its clock starts over if it disappears again;
 * - with `graceMs` 0 an orphan is removable the first time it is seen;
 * - plans outside our prefix are never orphans (we do not own them); an empty prefix owns nothing.
 */
export interface OrphanDecision {
  /** Ids to remove now. */
  remove: string[];
  /** Ids still in their grace period. */
  waiting: string[];
  /** Milliseconds until the next waiting id becomes removable (undefined when none waits). */
  nextInMs: number | undefined;
}

export class OrphanTracker {
  readonly #firstSeen = new Map<string, number>();

  constructor(readonly graceMs: number) {}

  /**
   * @param existing plan ids in the config
   * @param current ids current workloads map to (built or skipped)
   * @param prefix only ids with this prefix are ours
   */
  observe(
    existing: readonly string[],
    current: ReadonlySet<string>,
    prefix: string,
    now: number,
  ): OrphanDecision {
    // '' would own every plan, hand-made ones too (refused upstream; never prune on it here).
    const orphans = new Set(
      prefix === '' ? [] : existing.filter((id) => id.startsWith(prefix) && !current.has(id)),
    );
    for (const id of [...this.#firstSeen.keys()]) if (!orphans.has(id)) this.#firstSeen.delete(id);
    const remove: string[] = [];
    const waiting: string[] = [];
    let nextInMs: number | undefined;
    for (const id of [...orphans].sort()) {
      const first = this.#firstSeen.get(id) ?? now;
      this.#firstSeen.set(id, first);
      const left = first + this.graceMs - now;
      if (left <= 0) {
        remove.push(id);
      } else {
        waiting.push(id);
        nextInMs = nextInMs === undefined ? left : Math.min(nextInMs, left);
      }
    }
    return { remove, waiting, nextInMs };
  }

  /** Forget removed ids (after a successful commit). */
  removed(ids: readonly string[]): void {
    for (const id of ids) this.#firstSeen.delete(id);
  }
}
