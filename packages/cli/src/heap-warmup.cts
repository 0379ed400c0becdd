/**
 * The young generation warmed up while the engine lists (ADR 0005, session 25).
 *
 * A listing one-shot sends its container list before it loads (early-list.cts), loads in
 * ~100 ms, then waits: the engine takes 150–250 ms to list 2,000 containers. Once the answer
 * comes, the program allocates ~18 MiB in ~120 ms, and V8's young generation grows into memory
 * the process has never touched. Each first touch of a 4 KiB page is a page fault, 12–17 µs on
 * our 2-core VMs, so about a fifth of that phase went to faults on fresh young-generation pages.
 *
 * So the bin spends the wait doing what the answer would make the program do first: allocating.
 * Short-lived arrays fill the young generation, its scavenges find them dead, and every page of
 * both semi-spaces has been touched before the answer comes; the program then allocates into
 * memory the kernel already gave it. It is the JVM's `-XX:+AlwaysPreTouch`, limited to the young
 * generation, done in the time the process would spend idle. Measured on Node 26, 31 interleaved
 * rounds of a 2,000-container dry run: from the answer to the exit 143 → 117 ms.
 *
 * It runs in slices of about a millisecond on the event loop, so the program's own I/O goes on
 * between them; it stops when `until` settles (the answer came, or the request failed or was
 * abandoned) or when the budget is spent. A host whose engine answers before the program has
 * loaded never runs a slice. A slice keeps the process alive only while `keepsAlive` says so:
 * the bin's says yes once the program has taken the list (it then waits for the answer anyway),
 * so a program that ends without it (a usage error) exits at once. An unref'd slice runs only
 * when something else wakes the event loop, and a process waiting on one socket is not woken
 * until the answer comes: the slices after the program took the list must be ref'd, or the
 * warm-up mostly does not run.
 */

export interface HeapWarmupOptions {
  /**
   * Bytes of short-lived arrays to allocate at most. Default 32 MiB: both semi-spaces of Node
   * 26's young generation at its largest (16 MiB in all), twice over; Node 20's (32 MiB in all)
   * is warmed up to the size a dry run of 2,000 containers grows it to.
   */
  readonly budgetBytes?: number;
  /** The longest one slice runs before it yields to the event loop (ms). Default 1. */
  readonly sliceMs?: number;
  /** Whether the next slice may keep the process alive, asked before each. Default: always. */
  readonly keepsAlive?: () => boolean;
}

/** Doubles per array: 32 KiB, well under V8's largest young object (128 KiB). */
const ARRAY_LENGTH = 4096;
const ARRAY_BYTES = ARRAY_LENGTH * 8;

/** The last array made: it escapes, so that no compiler can drop the allocation. */
let _sink: unknown;

/**
 * Allocates short-lived arrays in slices until `until` settles or `budgetBytes` are spent.
 * Resolves with the bytes allocated.
 */
export function warmHeapUntil(
  until: Promise<unknown>,
  options: HeapWarmupOptions = {},
): Promise<number> {
  const budget = options.budgetBytes ?? 32 * 1024 * 1024;
  const sliceMs = options.sliceMs ?? 1;
  const keepsAlive = options.keepsAlive ?? ((): boolean => true);
  let settled = false;
  const stop = (): void => {
    settled = true;
  };
  until.then(stop, stop);
  let allocated = 0;
  return new Promise<number>((resolve) => {
    const slice = (): void => {
      // hrtime, not `performance`: that global loads perf_hooks, which no dry run needs.
      const end = process.hrtime.bigint() + BigInt(Math.round(sliceMs * 1e6));
      while (!settled && allocated < budget && process.hrtime.bigint() < end) {
        _sink = new Array<number>(ARRAY_LENGTH).fill(0.5);
        allocated += ARRAY_BYTES;
      }
      if (settled || allocated >= budget) {
        _sink = undefined;
        resolve(allocated);
        return;
      }
      next();
    };
    const next = (): void => {
      const immediate = setImmediate(slice);
      if (!keepsAlive()) immediate.unref();
    };
    // After the microtasks of this turn: `until` may have settled already.
    next();
  });
}
