import { constants as fsc } from 'node:fs';
import {
  mkdir,
  open,
  readFile,
  realpath,
  rename,
  stat,
  unlink,
  type FileHandle,
} from 'node:fs/promises';
import type { Stats } from 'node:fs';
import path from 'node:path';
import lockfile from 'proper-lockfile';
import { applyChanges, decodePlans, emptyConfig } from './apply-changes.js';
import { ConfigError } from './config-error.js';
import {
  CONFIG_SINK_DEFAULTS,
  type CommitResult,
  type ConfigSinkFaults,
  type ConfigSinkOptions,
  type LoadedConfig,
} from './config-sink-options.js';
import { detectFormat } from './detect-format.js';
import { asArray, idOf, isObject, type JsonObject } from './json-util.js';
import { lineDiff } from './line-diff.js';
import type { ConfigFormat, PlanChanges } from './plan-spec.js';
import { renderConfig } from './render-config.js';
import { validateConfig, validatePlanSpecs } from './validate-config.js';

/** How many times a concurrent external edit is re-merged before giving up with WriteFailed. */
const MAX_MERGE_ROUNDS = 5;

/** The file as read at one instant. */
interface Snapshot {
  /** Exact bytes; undefined when the file does not exist. */
  bytes: Buffer | undefined;
  /** Parsed document; undefined when missing or empty (stands for an empty config). */
  doc: JsonObject | undefined;
  format: ConfigFormat;
  stat: Stats | undefined;
}

/** A computed next state of the file. */
interface Proposal {
  before: string;
  after: string;
  changed: boolean;
  doc: unknown;
}

/**
 * Reads and writes one Backrest config file (either format), under an advisory lock.
 *
 * Invariants: invalid JSON is never overwritten; nothing is written unless the canonical bytes
 * change; a failed commit leaves the target's bytes as they were; an edit someone else made
 * between our read and our rename is re-read and our changes re-applied onto it, never lost
 * (writers that take our lock are excluded; Backrest and editors don't lock, so a window of a few
 * syscalls between the final re-read and the rename remains).
 */
export class ConfigSink {
  readonly #path: string;
  readonly #format: ConfigFormat | 'auto';
  readonly #defaultFormat: ConfigFormat;
  readonly #writeMode: 'atomic' | 'inplace';
  readonly #keepBackup: boolean;
  readonly #fileMode: number;
  readonly #lockRetries: number;
  readonly #lockStaleMs: number;
  readonly #faults: ConfigSinkFaults;

  constructor(options: ConfigSinkOptions) {
    if (!options.path) throw new TypeError('ConfigSink: options.path is required');
    const fileMode = options.fileMode ?? CONFIG_SINK_DEFAULTS.fileMode;
    if (!Number.isInteger(fileMode) || fileMode < 0 || fileMode > 0o7777) {
      throw new TypeError(`ConfigSink: fileMode ${fileMode} is not a file mode (0 to 0o7777)`);
    }
    this.#path = path.resolve(options.path);
    this.#format = options.format ?? CONFIG_SINK_DEFAULTS.format;
    this.#defaultFormat = options.defaultFormat ?? CONFIG_SINK_DEFAULTS.defaultFormat;
    this.#writeMode = options.writeMode ?? CONFIG_SINK_DEFAULTS.writeMode;
    this.#keepBackup = options.keepBackup ?? CONFIG_SINK_DEFAULTS.keepBackup;
    this.#fileMode = fileMode;
    this.#lockRetries = options.lockRetries ?? CONFIG_SINK_DEFAULTS.lockRetries;
    this.#lockStaleMs = options.lockStaleMs ?? CONFIG_SINK_DEFAULTS.lockStaleMs;
    this.#faults = options.faults ?? {};
  }

  /** The absolute path of the config file. */
  get path(): string {
    return this.#path;
  }

  get backupPath(): string {
    return `${this.#path}.bak`;
  }

  /** Reads without locking. Missing file: exists false, no plans. Invalid JSON: InvalidJson. */
  async load(): Promise<LoadedConfig> {
    const snap = await this.#read();
    const doc = snap.doc;
    const repoIds = asArray(doc?.['repos']).map(idOf);
    const plans = decodePlans(doc, snap.format);
    const loaded: LoadedConfig = {
      format: snap.format,
      exists: snap.bytes !== undefined,
      repoIds,
      plans,
      planIds: plans.map((p) => p.id),
      raw: doc,
    };
    if (snap.format === 'backrest') loaded.modno = modnoOf(doc);
    return loaded;
  }

  /** Dry run: what commit() would write. Writes nothing, takes no lock; Refused when invalid. */
  async preview(changes: PlanChanges): Promise<CommitResult> {
    const snap = await this.#read();
    const p = this.#propose(snap, changes);
    return this.#result(snap.format, p, { written: false, merged: false, warnings: [] });
  }

  /** Applies `changes` under the lock; see the class invariants and README's write algorithm. */
  async commit(changes: PlanChanges): Promise<CommitResult> {
    return this.#locked(async (compromised) => {
      let snap = await this.#read();
      let p = this.#propose(snap, changes);
      if (!p.changed)
        return this.#result(snap.format, p, { written: false, merged: false, warnings: [] });

      let merged = false;
      for (let round = 0; ; round++) {
        const warnings: string[] = [];
        const mode = this.#modeFor(snap, p.doc, warnings);
        if (this.#writeMode === 'inplace') {
          const outcome = await this.#writeInPlace(snap, p, mode, warnings, compromised);
          if (outcome.kind === 'written') {
            return this.#result(snap.format, p, {
              written: true,
              merged,
              warnings,
              ...outcome.backup,
            });
          }
          snap = outcome.snap;
        } else {
          // Beside the real file, so a symlinked path keeps its link and rename stays on one fs.
          const target = await resolveLink(this.#path);
          const newPath = `${target}.new`;
          await this.#writeFile(newPath, p.after, mode, snap.stat, warnings);
          try {
            await this.#faults.beforeVerify?.(this.#path);
            const now = await readBytes(this.#path);
            if (sameBytes(now, snap.bytes)) {
              compromised();
              const backup = await this.#backup(snap);
              await this.#rename(newPath, target);
              return this.#result(snap.format, p, { written: true, merged, warnings, ...backup });
            }
            snap = this.#parse(now, await statOrUndefined(this.#path));
          } catch (err) {
            await unlink(newPath).catch(() => undefined);
            throw err;
          }
          await unlink(newPath).catch(() => undefined);
        }
        // Someone else wrote the file since we read it: re-apply our changes onto their version.
        merged = true;
        p = this.#propose(snap, changes);
        if (!p.changed)
          return this.#result(snap.format, p, { written: false, merged, warnings: [] });
        if (round + 1 >= MAX_MERGE_ROUNDS) {
          throw new ConfigError(
            'WriteFailed',
            this.#path,
            `the file kept changing under us (${MAX_MERGE_ROUNDS} merges)`,
          );
        }
      }
    });
  }

  /**
   * Restores `<path>.bak` (e.g. Backrest refused the new config and died after a restart).
   * False when there is no backup. The bytes are restored exactly, without validation.
   */
  async rollback(): Promise<boolean> {
    return this.#locked(async (compromised) => {
      const bak = await readBytes(this.backupPath);
      if (bak === undefined) return false;
      const current = await statOrUndefined(this.#path);
      const warnings: string[] = [];
      const mode = current ? current.mode & 0o7777 : this.#fileMode;
      const text = bak; // exact bytes, even if not UTF-8
      if (this.#writeMode === 'inplace' && current) {
        const fh = await this.#openExisting();
        try {
          compromised();
          await this.#rewrite(fh, text, mode, current, warnings);
        } finally {
          await fh.close();
        }
      } else {
        const target = await resolveLink(this.#path);
        const newPath = `${target}.new`;
        await this.#writeFile(newPath, text, mode, current, warnings);
        try {
          compromised();
          await this.#rename(newPath, target);
        } catch (err) {
          await unlink(newPath).catch(() => undefined);
          throw err;
        }
      }
      return true;
    });
  }

  // ---- reading ----

  async #read(): Promise<Snapshot> {
    let bytes: Buffer | undefined;
    try {
      bytes = await readBytes(this.#path);
    } catch (err) {
      throw new ConfigError(
        'InvalidConfig',
        this.#path,
        'cannot read the config file',
        [errText(err)],
        { cause: err },
      );
    }
    return this.#parse(bytes, bytes === undefined ? undefined : await statOrUndefined(this.#path));
  }

  #parse(bytes: Buffer | undefined, st: Stats | undefined): Snapshot {
    const text = bytes?.toString('utf8') ?? '';
    if (text.trim() === '') {
      return { bytes, doc: undefined, format: this.#resolveFormat(undefined), stat: st };
    }
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (err) {
      // V8's message quotes the text around the error, which may be a password: report a position.
      throw new ConfigError(
        'InvalidJson',
        this.#path,
        'the config file is not valid JSON; nothing was written',
        [jsonErrorPosition(err, text)],
      );
    }
    if (!isObject(doc)) {
      throw new ConfigError('InvalidConfig', this.#path, 'the config file is not a JSON object');
    }
    for (const k of ['repos', 'plans']) {
      if (doc[k] !== undefined && !Array.isArray(doc[k])) {
        throw new ConfigError('InvalidConfig', this.#path, `"${k}" is not an array`);
      }
    }
    return { bytes, doc, format: this.#resolveFormat(doc), stat: st };
  }

  #resolveFormat(doc: JsonObject | undefined): ConfigFormat {
    const detected = detectFormat(doc);
    if (this.#format === 'auto') return detected ?? this.#defaultFormat;
    if (detected !== undefined && detected !== this.#format) {
      throw new ConfigError(
        'InvalidConfig',
        this.#path,
        `format '${this.#format}' was forced but the file is in the ${detected} format`,
      );
    }
    return this.#format;
  }

  // ---- computing ----

  #propose(snap: Snapshot, changes: PlanChanges): Proposal {
    const format = snap.format;
    const before = snap.doc ? renderConfig(snap.doc, format) : '';
    let doc: unknown;
    try {
      doc = applyChanges(snap.doc ?? emptyConfig(format), format, changes);
    } catch (err) {
      if (err instanceof ConfigError)
        throw new ConfigError(err.code, this.#path, err.message, err.details);
      throw err;
    }
    let after = renderConfig(doc, format);
    const changed = after !== before;
    if (changed && format === 'backrest' && snap.doc) {
      // Backrest's read-modify-write counter: one step per write, on top of the version we read.
      (doc as JsonObject)['modno'] = modnoOf(snap.doc) + 1;
      after = renderConfig(doc, format);
    }
    const problems = [...validatePlanSpecs(changes.upsert), ...validateConfig(doc, format)];
    if (problems.length > 0) {
      throw new ConfigError(
        'Refused',
        this.#path,
        'the resulting config would not load; nothing was written',
        problems,
      );
    }
    return { before, after: changed ? after : before, changed, doc };
  }

  #result(
    format: ConfigFormat,
    p: Proposal,
    extra: { written: boolean; merged: boolean; warnings: string[]; backupPath?: string },
  ): CommitResult {
    const result: CommitResult = {
      changed: p.changed,
      written: extra.written,
      format,
      path: this.#path,
      before: p.before,
      after: p.after,
      diff: p.changed ? lineDiff(p.before, p.after, path.basename(this.#path)) : '',
      warnings: extra.warnings,
      merged: extra.merged,
    };
    if (extra.backupPath !== undefined) result.backupPath = extra.backupPath;
    return result;
  }

  /** The mode to write: fileMode, except never widening a stricter mode on a file with secrets. */
  #modeFor(snap: Snapshot, doc: unknown, warnings: string[]): number {
    const secrets = holdsSecrets(doc);
    if (!snap.stat) return this.#fileMode;
    const oldMode = snap.stat.mode & 0o7777;
    if (secrets && (this.#fileMode & ~oldMode) !== 0) {
      warnings.push(
        `kept mode ${octal(oldMode)} of ${this.#path}: it holds secrets, and fileMode ${octal(this.#fileMode)} would widen it`,
      );
      return oldMode;
    }
    if (secrets && (this.#fileMode & 0o077) !== 0) {
      warnings.push(
        `${this.#path} holds secrets and is written with mode ${octal(this.#fileMode)} (readable by others)`,
      );
    }
    return this.#fileMode;
  }

  // ---- writing ----

  async #locked<T>(fn: (assertLockHeld: () => void) => Promise<T>): Promise<T> {
    await mkdir(path.dirname(this.#path), { recursive: true }).catch(() => undefined);
    let lost: Error | undefined;
    let release: () => Promise<void>;
    try {
      release = await lockfile.lock(this.#path, {
        realpath: false,
        lockfilePath: `${this.#path}.lock`,
        stale: this.#lockStaleMs,
        retries: { retries: this.#lockRetries, factor: 1.5, minTimeout: 50, maxTimeout: 1000 },
        onCompromised: (err) => {
          lost = err;
        },
      });
    } catch (err) {
      throw new ConfigError(
        'LockFailed',
        this.#path,
        `cannot take the lock ${this.#path}.lock`,
        [errText(err)],
        {
          cause: err,
        },
      );
    }
    const assertLockHeld = (): void => {
      if (lost) {
        throw new ConfigError('LockFailed', this.#path, 'the lock was lost before the write', [
          lost.message,
        ]);
      }
    };
    try {
      return await fn(assertLockHeld);
    } finally {
      await release().catch(() => undefined);
    }
  }

  /** Writes `text` durably to a fresh file at `target` with `mode` and the old owner. */
  async #writeFile(
    target: string,
    text: string | Buffer,
    mode: number,
    owner: Stats | undefined,
    warnings: string[],
  ): Promise<void> {
    let fh: FileHandle | undefined;
    try {
      // A leftover from a crashed run is ours to replace; a directory there fails the write.
      const st = await statOrUndefined(target);
      if (st?.isFile()) await unlink(target);
      fh = await open(target, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL, mode);
      await fh.writeFile(text);
      await fh.chmod(mode); // open()'s mode is filtered by the umask
      await this.#chown(fh, owner, warnings);
      await fh.sync();
    } catch (err) {
      if (err instanceof ConfigError) throw err;
      if (fh) await unlink(target).catch(() => undefined);
      throw new ConfigError('WriteFailed', this.#path, `cannot write ${target}`, [errText(err)], {
        cause: err,
      });
    } finally {
      await fh?.close().catch(() => undefined);
    }
  }

  async #chown(fh: FileHandle, owner: Stats | undefined, warnings: string[]): Promise<void> {
    if (!owner) return;
    try {
      const st = await fh.stat();
      if (st.uid !== owner.uid || st.gid !== owner.gid) await fh.chown(owner.uid, owner.gid);
    } catch (err) {
      warnings.push(
        `could not keep owner ${owner.uid}:${owner.gid} of ${this.#path}: ${errText(err)}`,
      );
    }
  }

  /** Keeps the bytes we are replacing as `<path>.bak` (same mode and owner), durably. */
  async #backup(snap: Snapshot): Promise<{ backupPath?: string }> {
    if (!this.#keepBackup || snap.bytes === undefined) return {};
    const tmp = `${this.backupPath}.new`;
    const ignored: string[] = [];
    await this.#writeFile(
      tmp,
      snap.bytes,
      (snap.stat?.mode ?? this.#fileMode) & 0o7777,
      snap.stat,
      ignored,
    );
    try {
      await rename(tmp, this.backupPath);
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      throw new ConfigError(
        'WriteFailed',
        this.#path,
        `cannot keep the backup ${this.backupPath}`,
        [errText(err)],
        {
          cause: err,
        },
      );
    }
    return { backupPath: this.backupPath };
  }

  async #rename(newPath: string, target: string): Promise<void> {
    try {
      await (this.#faults.rename ?? rename)(newPath, target);
    } catch (err) {
      throw new ConfigError(
        'WriteFailed',
        this.#path,
        `cannot rename ${newPath} over the config file`,
        [errText(err)],
        {
          cause: err,
        },
      );
    }
    await fsyncDir(path.dirname(target));
  }

  async #openExisting(): Promise<FileHandle> {
    try {
      return await open(this.#path, fsc.O_RDWR | fsc.O_CREAT, this.#fileMode);
    } catch (err) {
      throw new ConfigError(
        'WriteFailed',
        this.#path,
        'cannot open the config file for writing',
        [errText(err)],
        {
          cause: err,
        },
      );
    }
  }

  /** In-place write: same inode (bind-mounted file), verified against a concurrent edit first. */
  async #writeInPlace(
    snap: Snapshot,
    p: Proposal,
    mode: number,
    warnings: string[],
    assertLockHeld: () => void,
  ): Promise<
    { kind: 'written'; backup: { backupPath?: string } } | { kind: 'changed'; snap: Snapshot }
  > {
    const fh = await this.#openExisting();
    try {
      await this.#faults.beforeVerify?.(this.#path);
      const now = await fh.readFile();
      const existed = snap.bytes !== undefined;
      if (!sameBytes(existed ? now : now.length === 0 ? undefined : now, snap.bytes)) {
        return { kind: 'changed', snap: this.#parse(now, await fh.stat()) };
      }
      assertLockHeld();
      const backup = await this.#backup(snap);
      await this.#rewrite(fh, p.after, mode, snap.stat, warnings);
      return { kind: 'written', backup };
    } finally {
      await fh.close().catch(() => undefined);
    }
  }

  async #rewrite(
    fh: FileHandle,
    text: string | Buffer,
    mode: number,
    owner: Stats | undefined,
    warnings: string[],
  ): Promise<void> {
    try {
      const buf = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
      await fh.truncate(0);
      await fh.write(buf, 0, buf.length, 0);
      await fh.chmod(mode);
      await this.#chown(fh, owner, warnings);
      await fh.sync();
    } catch (err) {
      throw new ConfigError('WriteFailed', this.#path, 'in-place write failed', [errText(err)], {
        cause: err,
      });
    }
  }
}

// ---- helpers ----

/** The file a symlinked config path points to (the path itself when it is not a link). */
async function resolveLink(file: string): Promise<string> {
  try {
    return await realpath(file);
  } catch {
    return file;
  }
}

async function readBytes(file: string): Promise<Buffer | undefined> {
  try {
    return await readFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

async function statOrUndefined(file: string): Promise<Stats | undefined> {
  try {
    return await stat(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

function sameBytes(a: Buffer | undefined, b: Buffer | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.equals(b);
}

/** Makes a rename durable. Some filesystems refuse fsync on a directory: that is not an error. */
async function fsyncDir(dir: string): Promise<void> {
  let fh: FileHandle | undefined;
  try {
    fh = await open(dir, fsc.O_RDONLY);
    await fh.sync();
  } catch {
    // best effort
  } finally {
    await fh?.close().catch(() => undefined);
  }
}

function modnoOf(doc: unknown): number {
  return isObject(doc) && typeof doc['modno'] === 'number' ? doc['modno'] : 0;
}

/** Repo passwords/env, auth users, sync identity: the reasons Backrest writes its file 0600. */
export function holdsSecrets(doc: unknown): boolean {
  if (!isObject(doc)) return false;
  const repoSecret = asArray(doc['repos']).some((r) => {
    if (!isObject(r)) return false;
    const env = r['env'];
    const envSet = Array.isArray(env)
      ? env.length > 0
      : isObject(env) && Object.keys(env).length > 0;
    return envSet || (typeof r['password'] === 'string' && r['password'] !== '');
  });
  const auth = doc['auth'];
  const users = isObject(auth) ? asArray(auth['users']).length > 0 : false;
  const sync = isObject(doc['sync']) && Object.keys(doc['sync']).length > 0;
  return repoSecret || users || sync;
}

function octal(mode: number): string {
  return `0${mode.toString(8).padStart(3, '0')}`;
}

function errText(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  const message = String(e?.message ?? err);
  return e?.code && !message.startsWith(e.code) ? `${e.code}: ${message}` : message;
}

function jsonErrorPosition(err: unknown, text: string): string {
  const m = /position (\d+)/.exec(String((err as Error)?.message ?? ''));
  if (!m) return 'invalid JSON (unexpected end or token)';
  const pos = Number(m[1]);
  const upTo = text.slice(0, pos);
  const line = upTo.split('\n').length;
  const column = pos - upTo.lastIndexOf('\n');
  return `invalid JSON at line ${line}, column ${column}`;
}
