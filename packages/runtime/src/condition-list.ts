import type { Condition } from './conditions.js';

/** A condition to set: everything but the transition time, which `setCondition` decides. */
export type ConditionUpdate = Omit<Condition, 'lastTransitionTime'>;

/**
 * Kubernetes' `meta.SetStatusCondition` on a plain list: replaces the condition of the same type
 * (keeping its `lastTransitionTime` unless `status` changed) or appends it. Returns a new list in
 * the same order; the input is not modified.
 */
export function setCondition(
  conditions: readonly Condition[],
  update: ConditionUpdate,
  now: number,
): Condition[] {
  const previous = conditions.find((c) => c.type === update.type);
  const next: Condition = {
    type: update.type,
    status: update.status,
    reason: update.reason,
    message: update.message,
    lastTransitionTime:
      previous && previous.status === update.status
        ? previous.lastTransitionTime
        : new Date(now).toISOString(),
    ...(update.observedGeneration !== undefined
      ? { observedGeneration: update.observedGeneration }
      : {}),
  };
  return previous
    ? conditions.map((c) => (c.type === update.type ? next : { ...c }))
    : [...conditions.map((c) => ({ ...c })), next];
}

/** The condition of `type`, or undefined. */
export function findCondition(
  conditions: readonly Condition[] | undefined,
  type: string,
): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}
