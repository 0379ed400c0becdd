import { EARLY_CONTAINER_LIST, type EarlyContainerList } from '../early-container-list.js';

type Slot = { [EARLY_CONTAINER_LIST]?: EarlyContainerList | undefined };

/** Puts an early list in the global slot, as the bin's launcher does; records ref/abandon. */
export function placeEarlyList(
  socketPath: string,
  filters: Record<string, string[]>,
  list: Promise<unknown>,
): string[] {
  const calls: string[] = [];
  list.catch(() => undefined);
  (globalThis as Slot)[EARLY_CONTAINER_LIST] = {
    socketPath,
    filters: JSON.stringify(filters),
    list,
    ref: () => void calls.push('ref'),
    abandon: () => void calls.push('abandon'),
  };
  return calls;
}

export function clearEarlyList(): void {
  (globalThis as Slot)[EARLY_CONTAINER_LIST] = undefined;
}
