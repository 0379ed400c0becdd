import type Dockerode from 'dockerode';

/**
 * A container list begun by a program's launcher before the program itself loaded: a one-shot
 * command's bin can send the list request first and compile its bundle while the engine answers
 * (2,000 containers: the engine takes 150–400 ms, loading the program ~70 ms). The launcher puts
 * it in this global slot; the informer's `prefetch` takes it if, and only if, it asked the same
 * engine socket with the same filters, and otherwise lists as before. Nothing depends on it being
 * there: without a launcher (tests, the unbundled program) the slot is empty.
 */
export const EARLY_CONTAINER_LIST = Symbol.for('dockop.earlyContainerList');

/** What a launcher puts in `globalThis[EARLY_CONTAINER_LIST]`. */
export interface EarlyContainerList {
  /** The unix socket it asked. */
  readonly socketPath: string;
  /** `JSON.stringify` of the `filters` it asked with (`GET /containers/json?all=true&filters=`). */
  readonly filters: string;
  /** The parsed list; rejects on any failure (an error status, a bad body, a closed socket). */
  readonly list: Promise<unknown>;
  /** From now on the request keeps the process alive (until then it does not). */
  ref(): void;
  /** Closes its connection, answered or not. */
  abandon(): void;
}

type Slot = { [EARLY_CONTAINER_LIST]?: EarlyContainerList | undefined };

/**
 * The early list of `socketPath` with exactly these filters (one list call, unversioned API), or
 * undefined. Taken once: the slot is emptied whether it matches or not, and one that does not
 * match is abandoned, as is a taken one when `signal` aborts (the caller gave up: its request
 * must not keep the process alive). Its failure is the caller's to handle (list again, to report
 * the error as a list of its own would).
 */
export function takeEarlyContainerList(
  socketPath: string,
  filters: Record<string, string[]>,
  signal?: AbortSignal,
): Promise<Dockerode.ContainerInfo[]> | undefined {
  const early = releaseSlot();
  if (!early) return undefined;
  if (
    signal?.aborted ||
    early.socketPath !== socketPath ||
    early.filters !== JSON.stringify(filters)
  ) {
    early.abandon();
    return undefined;
  }
  early.ref();
  signal?.addEventListener('abort', () => early.abandon(), { once: true });
  return early.list.then((list) => {
    if (!Array.isArray(list)) throw new Error('the early container list is not an array');
    return list as Dockerode.ContainerInfo[];
  });
}

/** Abandons an early list nobody took (a command that listed later, or not at all). */
export function abandonEarlyContainerList(): void {
  releaseSlot()?.abandon();
}

function releaseSlot(): EarlyContainerList | undefined {
  const slot = globalThis as Slot;
  const early = slot[EARLY_CONTAINER_LIST];
  if (early) slot[EARLY_CONTAINER_LIST] = undefined;
  return early;
}
