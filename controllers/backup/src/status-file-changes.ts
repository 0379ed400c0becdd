import { stat } from 'node:fs/promises';
import path from 'node:path';

/**
 * A stamp this close (ms) to the wall time it was taken at is not trusted: file systems stamp
 * times from a coarse clock, so a second write in the same tick would leave it unchanged.
 */
export const STATUS_STAMP_RACY_MS = 2_000;

/**
 * Which workloads' status files changed since the last look, found with `stat` instead of
 * reading them: the directory first (every writer replaces a file by a rename, which moves the
 * directory's ctime), each file (inode, size, mtime, ctime) only when the directory moved. Another
 * process (a one-shot `backup-once`, `verify`) writes these files too, so the daemon cannot
 * keep them in memory alone; an idle pass costs one `stat`.
 */
export class StatusFileChanges {
  readonly #dir: string;
  readonly #racyMs: number;
  #dirStamp: string | undefined;
  /** Per workload: its file's stamp at the last look (`-`: no file; undefined: not trusted). */
  readonly #stamps = new Map<string, string | undefined>();
  #looked = false;
  /** Names `record`ed since the current look began: their stamp is newer than its `stat`. */
  readonly #recorded = new Set<string>();

  constructor(dir: string, options: { racyMs?: number } = {}) {
    this.#dir = dir;
    this.#racyMs = options.racyMs ?? STATUS_STAMP_RACY_MS;
  }

  /**
   * The names among `names` whose file changed since the previous call (the first call only
   * records: it reports nothing). A name seen for the first time counts as changed.
   */
  async changed(names: readonly string[]): Promise<string[]> {
    // The directory before the files: a rename after this stat moves it again for the next look.
    this.#recorded.clear();
    const dir = await stampOf(this.#dir);
    const first = !this.#looked;
    this.#looked = true;
    if (dir !== undefined && dir === this.#dirStamp && names.every((n) => this.#stamps.has(n))) {
      return [];
    }
    this.#dirStamp = dir;
    const wanted = new Set(names);
    for (const n of this.#stamps.keys()) if (!wanted.has(n)) this.#stamps.delete(n);
    const changed: string[] = [];
    await Promise.all(
      names.map(async (name) => {
        const stamp = (await stampOf(path.join(this.#dir, `${name}.json`))) ?? '-';
        if (this.#recorded.has(name)) return;
        const before = this.#stamps.get(name);
        if (!first && (before === undefined || before !== stamp)) changed.push(name);
        // A stamp seen again as it was trusted (our own `record`, or an older look) stays
        // trusted, even inside the racy window: the daemon's first look ran right after its
        // start-up refreshes wrote every file, and the next look re-read all 500 of them.
        this.#stamps.set(
          name,
          stamp === '-' || stamp === before || this.#trusted(stamp) ? stamp : undefined,
        );
      }),
    );
    if (dir !== undefined && !this.#trusted(dir)) this.#dirStamp = undefined;
    return changed.sort();
  }

  /**
   * This process just read (and maybe wrote) `name`'s file: its current stamp is known, so the
   * next look does not report our own write. Trusted without the racy window: another writer
   * would have to replace the file between that write and this `stat`, and the workload is
   * re-evaluated at least hourly anyway.
   */
  async record(name: string): Promise<void> {
    this.#stamps.set(name, (await stampOf(path.join(this.#dir, `${name}.json`))) ?? '-');
    this.#recorded.add(name);
  }

  #trusted(stamp: string): boolean {
    const ctime = Number(stamp.slice(stamp.lastIndexOf(':') + 1));
    return Date.now() - ctime >= this.#racyMs;
  }
}

/** `ino:size:mtimeMs:ctimeMs`, or undefined when the path does not exist (or cannot be read). */
async function stampOf(file: string): Promise<string | undefined> {
  try {
    const s = await stat(file);
    return `${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`;
  } catch {
    return undefined;
  }
}
