import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import path from 'node:path';

export interface WriteFileAtomicOptions {
  /** Mode of a file we create. Default 0o600 (state files may name containers and repos). */
  mode?: number;
  /** Mode of the directories created on the way. Default 0o700. */
  dirMode?: number;
}

/**
 * The project's one atomic write: a temporary file beside `file`, fsync, rename over `file`, fsync
 * the directory. A reader sees the old bytes or the new ones, never half a file, and a crash right
 * after the call does not lose the write. The temporary name is unique per call, so two writers in
 * one process (or two processes) never share one.
 */
export async function writeFileAtomic(
  file: string,
  data: string | Uint8Array,
  options: WriteFileAtomicOptions = {},
): Promise<void> {
  const dir = path.dirname(file);
  await mkdir(dir, { recursive: true, mode: options.dirMode ?? 0o700 });
  const tmp = path.join(
    dir,
    `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`,
  );
  try {
    const fh = await open(tmp, 'w', options.mode ?? 0o600);
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw err;
  }
  await fsyncDir(dir);
}

/** fsync a directory (a rename is durable only then); filesystems that refuse it are ignored. */
export async function fsyncDir(dir: string): Promise<void> {
  let dh;
  try {
    dh = await open(dir, 'r');
    await dh.sync();
  } catch {
    // Some filesystems refuse fsync on a directory; the rename is still atomic.
  } finally {
    await dh?.close().catch(() => undefined);
  }
}
