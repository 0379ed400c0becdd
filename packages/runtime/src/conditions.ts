import type { Clock } from './clock.js';
import type { ResourceKey } from './resource.js';
import { redactText, type Redactor } from './redactor.js';

export type ConditionStatus = 'True' | 'False' | 'Unknown';

/** Kubernetes-style status condition. `lastTransitionTime` changes only when `status` changes. */
export interface Condition {
  type: string;
  status: ConditionStatus;
  reason: string;
  message: string;
  /** ISO-8601. */
  lastTransitionTime: string;
  /** The resource's `metadata.generation` the condition was computed from, when known. */
  observedGeneration?: number;
}

export const ConditionStore = Symbol.for('dockop.ConditionStore');

export interface ConditionStore {
  set(key: ResourceKey, condition: Omit<Condition, 'lastTransitionTime'>): void;
  get(key: ResourceKey, type: string): Condition | undefined;
  list(key: ResourceKey): Condition[];
  /** Every key that has conditions. */
  keys(): ResourceKey[];
  clear(key: ResourceKey): void;
}

/** Well-known condition types and reasons the runtime itself sets. */
export const ConditionTypes = { Ready: 'Ready', InvalidSpec: 'InvalidSpec' } as const;

/** Conditions kept in memory, per key, in the order their types were first set. */
export class InMemoryConditionStore implements ConditionStore {
  readonly #byKey = new Map<ResourceKey, Map<string, Condition>>();

  readonly #redact: (s: string) => string;
  #stamp = '';
  #stampedAt = NaN;

  /** Messages go through `redactor` (default: the rules without registered values): they are shown. */
  constructor(
    readonly clock: Pick<Clock, 'now'> = { now: () => Date.now() },
    redactor?: Redactor,
  ) {
    this.#redact = redactor ? (s) => redactor.redactString(s) : redactText;
  }

  set(key: ResourceKey, condition: Omit<Condition, 'lastTransitionTime'>): void {
    let conditions = this.#byKey.get(key);
    if (!conditions) {
      conditions = new Map();
      this.#byKey.set(key, conditions);
    }
    const previous = conditions.get(condition.type);
    // '' (a `Skipped=False`, say) has nothing to redact.
    const message = condition.message && this.#redact(condition.message);
    const same = previous?.status === condition.status;
    const generation = condition.observedGeneration;
    // Unchanged (a daemon sets every workload's conditions again on each render): kept as it is.
    if (
      same &&
      previous.reason === condition.reason &&
      previous.message === message &&
      previous.observedGeneration === generation
    )
      return;
    // A new generation with the same status is an update, not a transition (Kubernetes' rule).
    const next: Condition = {
      type: condition.type,
      status: condition.status,
      reason: condition.reason,
      message,
      lastTransitionTime: same ? previous.lastTransitionTime : this.#timestamp(),
    };
    if (generation !== undefined) next.observedGeneration = generation;
    conditions.set(condition.type, next);
  }

  /** The clock as ISO-8601, formatted once per millisecond (a render sets thousands at once). */
  #timestamp(): string {
    const now = this.clock.now();
    if (now !== this.#stampedAt) {
      this.#stamp = new Date(now).toISOString();
      this.#stampedAt = now;
    }
    return this.#stamp;
  }

  get(key: ResourceKey, type: string): Condition | undefined {
    const c = this.#byKey.get(key)?.get(type);
    return c ? { ...c } : undefined;
  }

  list(key: ResourceKey): Condition[] {
    return [...(this.#byKey.get(key)?.values() ?? [])].map((c) => ({ ...c }));
  }

  keys(): ResourceKey[] {
    return [...this.#byKey.keys()];
  }

  clear(key: ResourceKey): void {
    this.#byKey.delete(key);
  }
}
