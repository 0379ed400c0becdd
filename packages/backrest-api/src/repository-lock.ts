/**
 * One restic writer of the repository at a time in this process. restic's own lock makes a
 * `backup` fail at once (0.14 does not wait) while a `forget` holds the exclusive lock, and the
 * backup and retention controllers run side by side in the daemon: each takes this lock around
 * its repository work, so a scheduled backup waits for a retention pass instead of failing.
 * Bound once by `backrestApiModule` (the class is its own token); controllers inject it
 * `@optional()`.
 */
export class RepositoryLock {
  #tail: Promise<void> = Promise.resolve();
  #held = false;

  /** True while someone holds the lock. */
  get held(): boolean {
    return this.#held;
  }

  /**
   * Waits for every earlier holder (FIFO), then holds the lock until the returned function is
   * called (once; later calls do nothing). Aborting `signal` while waiting rejects with its
   * reason and gives up the place in line.
   */
  acquire(signal?: AbortSignal): Promise<() => void> {
    const previous = this.#tail;
    let pass!: () => void;
    this.#tail = new Promise<void>((r) => (pass = r));
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        // Our turn still comes after `previous`: hand it on at once.
        void previous.then(pass);
        reject(signal!.reason as Error);
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      void previous.then(() => {
        if (signal?.aborted) return;
        signal?.removeEventListener('abort', onAbort);
        this.#held = true;
        let released = false;
        resolve(() => {
          if (released) return;
          released = true;
          this.#held = false;
          pass();
        });
      });
    });
  }

  /** `fn` under the lock (released however it ends). */
  async run<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const release = await this.acquire(signal);
    try {
      return await fn();
    } finally {
      release();
    }
  }
}
