import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '@dockop/runtime';

/** Kept in the state dir: which slice of the packs the next drill reads. */
export const READ_DATA_SUBSET_FILE = 'verify-read-data.json';

/**
 * The `n/t` of the next `restic check --read-data-subset`, advancing a counter kept in
 * `stateDir`. Why `n/t` and not `x%` or a size: a random subset may read the same packs again
 * and again and never reach some; the rotating slice reads every pack exactly once in `t` runs,
 * with a bounded, predictable cost per run (1/t of the repository). The snapshot's own packs are
 * read in full anyway: the drill restores it, and restic authenticates every blob it decrypts.
 */
export async function nextReadDataSubset(stateDir: string, parts: number): Promise<string> {
  const file = path.join(stateDir, READ_DATA_SUBSET_FILE);
  let next = 1;
  try {
    const o = JSON.parse(await readFile(file, 'utf8')) as { next?: unknown; parts?: unknown };
    if (
      typeof o.next === 'number' &&
      Number.isInteger(o.next) &&
      o.parts === parts &&
      o.next >= 1 &&
      o.next <= parts
    ) {
      next = o.next;
    }
  } catch {
    // missing or unreadable: start at the first slice
  }
  await writeFileAtomic(file, `${JSON.stringify({ next: (next % parts) + 1, parts })}\n`);
  return `${next}/${parts}`;
}
