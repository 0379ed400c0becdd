import type { ResourceKey } from './resource.js';

export type ConditionStatus = 'True' | 'False' | 'Unknown';

/** Kubernetes-style status condition. `lastTransitionTime` changes only when `status` changes. */
export interface Condition {
  type: string;
  status: ConditionStatus;
  reason: string;
  message: string;
  /** ISO-8601. */
  lastTransitionTime: string;
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
