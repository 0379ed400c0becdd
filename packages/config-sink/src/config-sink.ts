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
import { applyChanges, decodePlan, decodePlans, emptyConfig } from './apply-changes.js';
import { assertLoadable } from './assert-loadable.js';
import { defaultInstanceId, instanceIdProblem } from './backrest-instance.js';
import { ConfigError } from './config-error.js';
import { configDocSecretValues } from './config-secrets.js';
import {
  BACKREST_FILE_MODE,
  CONFIG_SINK_DEFAULTS,
  SECRET_FILE_MODE,
  SIDECAR_FILE_MODE,
  type CommitResult,
  type ConfigSinkFaults,
  type ConfigSinkOptions,
  type InPlaceStep,
  type LoadedConfig,
} from './config-sink-options.js';
import { detectFormat } from './detect-format.js';
import {
  MAX_JSON_DEPTH,
  asArray,
  freezeJson,
  idOf,
  isFrozenJson,
  isObject,
  nestsDeeperThan,
  protoInt,
  stringsIn,
  type JsonObject,
} from './json-util.js';
import { lineDiff } from './line-diff.js';
import type { ConfigFormat, PlanChanges, PlanSpec } from './plan-spec.js';
import {
  canonicalize,
  canonicalizeCached,
  newPlanRenderCache,
  renderCanonicalConfig,
  renderConfig,
  withModno,
} from './render-config.js';

/** How many times a concurrent external edit is re-merged before giving up with WriteFailed. */
const MAX_MERGE_ROUNDS = 5;

/** The file as read at one instant. */
interface Snapshot {
  /** Exact bytes; undefined when the file does not exist. */
  bytes: Buffer | undefined;
  /** The bytes as UTF-8 text ('' when missing). */
  text: string;
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
  /** `after` as a document: what reading the written file gives (content and order). */
  canonical: unknown;
}

/** A file's bytes as last read or written, and what they parse to. */
interface ParsedBytes {
  bytes: Buffer;
  text: string;
  /** Frozen (#freezeDoc) once `frozen`; a written document is frozen when it is read again. */
  doc: JsonObject;
  frozen: boolean;
  format: ConfigFormat;
}

type InPlaceOutcome =
  | { kind: 'written'; backup: { backupPath?: string }; bytes: Buffer }
  | { kind: 'changed'; snap: Snapshot };

/**
 * Reads and writes one Backrest config file (either format), under an advisory lock.
 *
 * Invariants: invalid JSON is never overwritten; nothing is written that the validator refuses
 * (commit, both formats, both write modes; rollback); nothing is written unless the canonical
 * bytes change; a failed commit leaves the target's bytes as they were; an existing file keeps
 * its mode, owner and group exactly; an edit someone else made between our read and our write is
 * re-read and our changes re-applied onto it, never lost (writers that take our lock are
 * excluded; Backrest and editors don't lock, so a window of a few syscalls remains).
 */
export class ConfigSink {
  readonly #path: string;
  readonly #format: ConfigFormat | 'auto';
  readonly #defaultFormat: ConfigFormat;
  readonly #writeMode: 'atomic' | 'inplace';
  readonly #keepBackup: boolean;
  readonly #fileMode: number | undefined;
  readonly #instance: string | undefined;
  readonly #instanceHostName: (() => Promise<string>) | undefined;
  readonly #lockRetries: number;
  readonly #lockStaleMs: number;
  readonly #faults: ConfigSinkFaults;
  /**
   * The last canonical text this sink rendered a file as, or wrote (a daemon's next read finds
   * its own write): a file holding exactly it needs no rendering (rendering is idempotent).
   */
  #knownCanonical = '';
  /**
   * The last bytes read or written and their parsed document: a read that finds exactly these
   * bytes again (compared in full, never by stat alone: Backrest or an operator may edit the
   * file) reuses the document instead of parsing it again.
   */
  #parsed: ParsedBytes | undefined;
  /** Each plan's rendering, kept while its (frozen) object lives: a churn event renders one plan. */
  readonly #rendered = newPlanRenderCache();
  /** The decoded plans of a frozen document (load() of unchanged bytes decodes nothing). */
  readonly #decoded = new WeakMap<object, readonly PlanSpec[]>();
  /** Each frozen plan object's decoding, per format (a new document shares most plans). */
  readonly #decodedPlan: Record<ConfigFormat, WeakMap<object, PlanSpec>> = {
    sidecar: new WeakMap(),
    backrest: new WeakMap(),
  };
  /** Upserts that left a (frozen) plan as it is: the same again is not built again. */
  readonly #unchanged: Record<ConfigFormat, WeakMap<object, PlanSpec>> = {
    sidecar: new WeakMap(),
    backrest: new WeakMap(),
  };
  /** The last rendered config that passed validateConfig (the same bytes pass again). */
  #loadable: { format: ConfigFormat; text: string } | undefined;
  /** A proposal was made before (a daemon): the render cache is worth filling. */
  #warm = false;

  constructor(options: ConfigSinkOptions) {
    if (!options.path) throw new TypeError('ConfigSink: options.path is required');
    const fileMode = options.fileMode;
    if (
      fileMode !== undefined &&
      (!Number.isInteger(fileMode) || fileMode < 0 || fileMode > 0o7777)
    ) {
      throw new TypeError(`ConfigSink: fileMode ${fileMode} is not a file mode (0 to 0o7777)`);
    }
    const instance = options.instance;
    const problem = instance === undefined ? undefined : instanceIdProblem(instance);
    if (problem) throw new TypeError(`ConfigSink: instance "${instance}" ${problem}`);
    this.#path = path.resolve(options.path);
    this.#format = options.format ?? CONFIG_SINK_DEFAULTS.format;
    this.#defaultFormat = options.defaultFormat ?? CONFIG_SINK_DEFAULTS.defaultFormat;
    this.#writeMode = options.writeMode ?? CONFIG_SINK_DEFAULTS.writeMode;
    this.#keepBackup = options.keepBackup ?? CONFIG_SINK_DEFAULTS.keepBackup;
    this.#fileMode = fileMode;
    this.#instance = instance;
    this.#instanceHostName = options.instanceHostName;
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

  /** Present only while an in-place write is in flight (or was cut short by a crash). */
  get inPlaceJournalPath(): string {
    return `${this.#path}.inplace`;
  }

  /**
   * A cheap token that changes whenever the file may have changed (inode, size, mtime and ctime
   * in ns: one `stat`, no read), or `absent`. A daemon's periodic resync compares it with the one
   * after its last write to skip re-rendering an unchanged config.
   */
  async revision(): Promise<string> {
    let st;
    try {
      st = await stat(this.#path, { bigint: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'absent';
      throw err;
    }
    // A torn in-place write (journal present) is repaired by the next load: never "unchanged".
    const journal = await statOrUndefined(this.inPlaceJournalPath);
    return `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}${journal ? ':journal' : ''}`;
  }

  /** Reads without locking. Missing file: exists false, no plans. Invalid JSON: InvalidJson. */
  async load(): Promise<LoadedConfig> {
    const snap = await this.#readUnlocked();
    const doc = snap.doc;
    const repoIds = asArray(doc?.['repos']).map(idOf);
    const plans = this.#decode(doc, snap.format);
    const loaded: LoadedConfig = {
      format: snap.format,
      exists: snap.bytes !== undefined,
      repoIds,
      plans: [...plans],
      planIds: plans.map((p) => p.id),
      raw: doc,
    };
    if (snap.format === 'backrest') loaded.modno = modnoOf(doc);
    return loaded;
  }

  /** Dry run: what commit() would write. Writes nothing, takes no lock; Refused when invalid. */
  async preview(changes: PlanChanges): Promise<CommitResult> {
    const snap = await this.#readUnlocked();
    const warnings: string[] = [];
    const p = this.#propose(snap, changes, await this.#instanceFor(snap, warnings));
    return this.#result(snap.format, p, { written: false, merged: false, warnings });
  }

  /** Applies `changes` under the lock; see the class invariants and README's write algorithm. */
  async commit(changes: PlanChanges): Promise<CommitResult> {
    return this.#locked(async (compromised) => {
      const repaired = await this.#repairTornWrite();
      let snap = await this.#read();
      let p = this.#propose(snap, changes, await this.#instanceFor(snap, repaired));
      if (!p.changed)
        return this.#result(snap.format, p, { written: false, merged: false, warnings: repaired });

      let merged = false;
      let inPlace = this.#writeMode === 'inplace';
      for (let round = 0; ; round++) {
        const warnings: string[] = [...repaired];
        // A missing file is created atomically even in in-place mode: nothing is mounted there.
        if (inPlace && snap.stat) {
          const outcome = await this.#writeInPlace(snap, p, warnings, compromised);
          if (outcome.kind === 'written') {
            this.#wrote(p, outcome.bytes, snap.format);
            return this.#result(snap.format, p, {
              written: true,
              merged,
              warnings,
              ...outcome.backup,
            });
          }
          snap = outcome.snap;
        } else {
          const mode = this.#modeFor(snap, p.doc, warnings);
          // Beside the real file, so a symlinked path keeps its link and rename stays on one fs.
          const target = await resolveLink(this.#path);
          const newPath = `${target}.new`;
          const bytes = Buffer.from(p.after, 'utf8');
          await this.#writeFile(newPath, bytes, mode, snap.stat, warnings);
          let busy = false;
          try {
            await this.#faults.beforeVerify?.(this.#path);
            const now = await readBytes(this.#path);
            if (sameBytes(now, snap.bytes)) {
              compromised();
              const backup = await this.#backup(snap);
              try {
                await this.#rename(newPath, target);
                this.#wrote(p, bytes, snap.format);
                return this.#result(snap.format, p, { written: true, merged, warnings, ...backup });
              } catch (err) {
                // A single file bind-mounted into a container can't be renamed over: EBUSY.
                if (!(err instanceof ConfigError) || errnoOf(err.cause) !== 'EBUSY' || !snap.stat)
                  throw err;
                busy = true;
              }
            } else {
              snap = this.#parse(now, await statOrUndefined(this.#path));
            }
          } catch (err) {
            await unlink(newPath).catch(() => undefined);
            throw err;
          }
          await unlink(newPath).catch(() => undefined);
          if (busy) {
            inPlace = true;
            repaired.push(
              `${this.#path} cannot be renamed over (EBUSY: a bind-mounted file?): written in place; set writeMode 'inplace' (--write-mode inplace)`,
            );
            continue;
          }
        }
        // Someone else wrote the file since we read it: re-apply our changes onto their version.
        merged = true;
        p = this.#propose(snap, changes, await this.#instanceFor(snap, repaired));
        if (!p.changed)
          return this.#result(snap.format, p, { written: false, merged, warnings: repaired });
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
   * Restores `<path>.bak`, or the bytes `to` (e.g. Backrest refused the new config and died
   * after a restart).
   * False when there is no backup. The bytes are restored exactly, but only when they parse and
   * pass the validator (Backrest would refuse them too): otherwise Refused, nothing written.
   */
  async rollback(to?: string): Promise<boolean> {
    return this.#locked(async (compromised) => {
      await this.#repairTornWrite();
      // `to`: the config Backrest last ran on, when several writes happened since (the apply
      // worker merges them into one restart, so `.bak` may be one Backrest never ran).
      const bak = to !== undefined ? Buffer.from(to, 'utf8') : await readBytes(this.backupPath);
      if (bak === undefined) return false;
      this.#checkRestorable(bak);
      const current = await statOrUndefined(this.#path);
      const owner = current ?? (await statOrUndefined(this.backupPath));
      const warnings: string[] = [];
      const mode = (owner?.mode ?? this.#createMode('sidecar', undefined)) & 0o7777;
      if (this.#writeMode === 'inplace' && current) {
        const fh = await this.#openForInPlace();
        try {
          compromised();
          await this.#writeJournal(bak, current);
          await this.#overwrite(fh, bak);
          await this.#clearJournal();
        } catch (err) {
          throw asWriteFailed(this.#path, 'in-place restore failed', err);
        } finally {
          await fh.close().catch(() => undefined);
        }
      } else {
        const target = await resolveLink(this.#path);
        const newPath = `${target}.new`;
        await this.#writeFile(newPath, bak, mode, owner, warnings);
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

  /**
   * decodePlans, kept beside a frozen document. The plans are frozen too: they are handed to
   * every load() of the same bytes.
   */
  #decode(doc: JsonObject | undefined, format: ConfigFormat): readonly PlanSpec[] {
    if (!isFrozenJson(doc)) return decodePlans(doc, format);
    const known = this.#decoded.get(doc);
    if (known) return known;
    const byPlan = this.#decodedPlan[format];
    const raw = doc['plans'];
    const plans = Array.isArray(raw)
      ? raw.map((p: unknown) => {
          if (!isFrozenJson(p)) return decodePlan(p, format);
          let spec = byPlan.get(p);
          if (!spec) {
            spec = decodePlan(p, format);
            // Not plain data (cannot happen for a decoding): not kept, handed out as it is.
            if (freezeJson(spec)) byPlan.set(p, spec);
          }
          return spec;
        })
      : [];
    this.#decoded.set(doc, plans);
    return plans;
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

  /**
   * A read outside the lock. When an in-place write's journal is there (a crash mid-write), the
   * file is repaired under the lock first.
   */
  async #readUnlocked(): Promise<Snapshot> {
    if ((await statOrUndefined(this.inPlaceJournalPath)) !== undefined) {
      await this.#locked(() => this.#repairTornWrite());
    }
    return this.#read();
  }

  #parse(bytes: Buffer | undefined, st: Stats | undefined): Snapshot {
    const known = this.#parsed;
    if (known && bytes?.equals(known.bytes)) {
      // Not plain JSON data after all (it can't be, for what we rendered): parsed as any file.
      if (!known.frozen && !(known.frozen = freezeDoc(known.doc))) this.#parsed = undefined;
      else return { bytes, text: known.text, doc: known.doc, format: known.format, stat: st };
    }
    const text = bytes?.toString('utf8') ?? '';
    if (text.trim() === '') {
      return { bytes, text, doc: undefined, format: this.#resolveFormat(undefined), stat: st };
    }
    const doc = parseConfigText(text, this.#path);
    const format = this.#resolveFormat(doc);
    if (format === 'backrest') {
      // protojson reads `"modno": "7"` as 7: keep it a number (and count on from it).
      const modno = protoInt(doc['modno']);
      if (typeof doc['modno'] === 'string' && modno !== undefined) doc['modno'] = modno;
    }
    // Frozen: the document is shared by the reads of the same bytes (and load()'s callers); each
    // plan on its own too, so its rendering and decoding are kept beside it.
    if (bytes && freezeDoc(doc)) this.#parsed = { bytes, text, doc, frozen: true, format };
    return { bytes, text, doc, format, stat: st };
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

  /** Throws Refused unless `bytes` parse and pass the validator (a rollback's source). */
  #checkRestorable(bytes: Buffer): void {
    const text = bytes.toString('utf8');
    if (text.trim() === '') return; // an empty file stands for an empty config
    let doc: JsonObject;
    try {
      doc = parseConfigText(text, this.backupPath);
    } catch (err) {
      throw new ConfigError(
        'Refused',
        this.#path,
        `the backup ${this.backupPath} is not a valid config; nothing was restored`,
        err instanceof ConfigError ? err.details : [errText(err)],
      );
    }
    const format =
      detectFormat(doc) ?? (this.#format === 'auto' ? this.#defaultFormat : this.#format);
    assertLoadable(
      doc,
      format,
      this.#path,
      [],
      `the backup ${this.backupPath} would not load; nothing was restored`,
    );
  }

  // ---- computing ----

  /**
   * The instance of a native file we are about to create (undefined otherwise): the option, else
   * the host name from `instanceHostName` (else this machine's), made a valid Backrest id.
   */
  async #instanceFor(snap: Snapshot, warnings: string[]): Promise<string | undefined> {
    if (snap.doc !== undefined || snap.format !== 'backrest') return undefined;
    if (this.#instance !== undefined) return this.#instance;
    if (this.#instanceHostName) {
      try {
        return defaultInstanceId(await this.#instanceHostName());
      } catch (err) {
        warnings.push(
          `no host name for the new config's instance (${errText(err)}): using ${defaultInstanceId()}`,
        );
      }
    }
    return defaultInstanceId();
  }

  #propose(snap: Snapshot, changes: PlanChanges, instance: string | undefined): Proposal {
    const format = snap.format;
    let doc: unknown;
    // The plans applyChanges builds, canonical as built: not checked again below.
    const built = new Set<object>();
    try {
      // A file we create gets an instance (Backrest refuses repo operations without one).
      // Shallow: the snapshot is read, never changed, and the result only gets a new modno.
      doc = applyChanges(snap.doc ?? emptyConfig(format, instance), format, changes, {
        copy: 'shallow',
        unchanged: this.#unchanged[format],
        built,
      });
    } catch (err) {
      if (err instanceof ConfigError)
        throw new ConfigError(err.code, this.#path, err.message, err.details);
      throw err;
    }
    // Plans whose object is unchanged (the file's, an upsert equal to it) are not rendered again.
    // Not on the first proposal: a one-shot run makes one, and would only fill the cache.
    const warm = this.#warm;
    this.#warm = true;
    // Nothing changed the document (the same plan objects) of a file known to be canonical: it
    // renders as its own text (a container without sources came or went: nothing to render).
    const same =
      warm &&
      snap.doc !== undefined &&
      snap.text === this.#knownCanonical &&
      sameDoc(doc, snap.doc);
    const config = same
      ? { canonical: snap.doc, plans: undefined }
      : warm
        ? canonicalizeCached(doc, format, this.#rendered, built)
        : { canonical: canonicalize(doc, format, built), plans: undefined };
    let after = same ? snap.text : renderCanonicalConfig(config);
    const before = this.#canonicalText(snap, after, warm);
    const changed = after !== before;
    if (changed && format === 'backrest' && snap.doc) {
      // Backrest's read-modify-write counter: one step per write, on top of the version we read.
      const modno = modnoOf(snap.doc) + 1;
      (doc as JsonObject)['modno'] = modno;
      config.canonical = withModno(config.canonical, modno);
      after = renderCanonicalConfig(config);
    }
    const loadable = this.#loadable;
    const known = loadable?.format === format && loadable.text === after;
    assertLoadable(doc, format, this.#path, changes.upsert, undefined, known);
    if (!known) this.#loadable = { format, text: after };
    return { before, after: changed ? after : before, changed, doc, canonical: config.canonical };
  }

  /**
   * After writing `p.after` as `bytes`: the next read of these bytes takes the canonical document
   * (what parsing them gives, when it is plain data) instead of parsing them. Frozen then, not
   * now: a one-shot run never reads again.
   */
  #wrote(p: Proposal, bytes: Buffer, format: ConfigFormat): void {
    this.#knownCanonical = p.after;
    this.#parsed = isObject(p.canonical)
      ? { bytes, text: p.after, doc: p.canonical, frozen: false, format }
      : undefined;
  }

  /**
   * renderConfig of the file's document ('' when there is none), rendered only when needed:
   * rendering is idempotent, so a file whose text is `after` (nothing to change) or a text known
   * to be canonical is its own rendering.
   */
  #canonicalText(snap: Snapshot, after: string, warm: boolean): string {
    if (!snap.doc) return '';
    if (snap.text === after) return after;
    if (snap.text === this.#knownCanonical) return this.#knownCanonical;
    const before = warm
      ? renderCanonicalConfig(canonicalizeCached(snap.doc, snap.format, this.#rendered))
      : renderConfig(snap.doc, snap.format);
    if (before === snap.text) this.#knownCanonical = before;
    return before;
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
    // Worked out when first read: only the CLI's dry-run diff needs them.
    let secrets: string[] | undefined;
    Object.defineProperty(result, 'secretValues', {
      enumerable: true,
      configurable: true,
      get: () => (secrets ??= configDocSecretValues(p.doc)),
    });
    if (extra.backupPath !== undefined) result.backupPath = extra.backupPath;
    return result;
  }

  /** An existing file keeps its mode exactly; a file we create gets #createMode. */
  #modeFor(snap: Snapshot, doc: unknown, warnings: string[]): number {
    if (snap.stat) return snap.stat.mode & 0o7777;
    const mode = this.#createMode(snap.format, doc);
    if (
      this.#fileMode !== undefined &&
      (mode & 0o077) !== 0 &&
      fileHoldsSecrets(doc, snap.format)
    ) {
      warnings.push(
        `${this.#path} holds secrets and is created with mode ${octal(mode)} (fileMode; readable by others)`,
      );
    }
    return mode;
  }

  #createMode(format: ConfigFormat, doc: unknown): number {
    if (this.#fileMode !== undefined) return this.#fileMode;
    if (format === 'backrest') return BACKREST_FILE_MODE;
    return holdsSecrets(doc) ? SECRET_FILE_MODE : SIDECAR_FILE_MODE;
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
      // Created with (at most) `mode` before any byte is written: never readable more widely.
      fh = await open(target, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL, mode & 0o777);
      await fh.writeFile(text);
      await this.#chown(fh, owner, warnings);
      // After chown (which clears setuid/setgid) and because open()'s mode is umask-filtered.
      await fh.chmod(mode);
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

  /**
   * Keeps the bytes we are replacing as `<path>.bak` (same mode and owner), durably. `force`:
   * even with keepBackup false (in-place mode needs it to recover from a torn write).
   */
  async #backup(snap: Snapshot, force = false): Promise<{ backupPath?: string }> {
    if ((!this.#keepBackup && !force) || snap.bytes === undefined) return {};
    const tmp = `${this.backupPath}.new`;
    const ignored: string[] = [];
    await this.#writeFile(
      tmp,
      snap.bytes,
      (snap.stat?.mode ?? SECRET_FILE_MODE) & 0o7777,
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
    await fsyncDir(path.dirname(this.backupPath));
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

  /** Opens the existing target read-write (never creates it). */
  async #openForInPlace(): Promise<FileHandle> {
    try {
      return await open(this.#path, fsc.O_RDWR);
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

  /**
   * In-place write: same inode (bind-mounted file), verified against a concurrent edit first.
   * Order: `.bak` durable → journal → new bytes over the old → truncate → fsync → read back. The
   * file is never empty mid-way; a failure restores the old bytes at once, a crash leaves the
   * journal for #repairTornWrite. Only for an existing file (a missing one is created atomically).
   */
  async #writeInPlace(
    snap: Snapshot,
    p: Proposal,
    warnings: string[],
    assertLockHeld: () => void,
  ): Promise<InPlaceOutcome> {
    const previous = snap.bytes ?? Buffer.alloc(0);
    let fh: FileHandle;
    try {
      fh = await this.#openForInPlace();
    } catch (err) {
      // Deleted since we read it: the next round sees the missing file and creates it.
      if ((await statOrUndefined(this.#path)) === undefined) {
        return { kind: 'changed', snap: await this.#read() };
      }
      throw err;
    }
    const next = Buffer.from(p.after, 'utf8');
    try {
      await this.#faults.beforeVerify?.(this.#path);
      const now = await readAll(fh);
      if (!now.equals(previous)) {
        return { kind: 'changed', snap: this.#parse(now, await fh.stat()) };
      }
      assertLockHeld();
      const backup = await this.#backup(snap, true);
      await this.#writeJournal(next, snap.stat);
      try {
        await this.#overwrite(fh, next);
        await this.#step('verify');
        const back = await readAll(fh);
        if (!back.equals(next)) {
          // Someone wrote during our write: theirs if it parses (merge onto it), else restore.
          const theirs = this.#tryParse(back, await fh.stat());
          if (!theirs) throw new Error('the file did not read back as written and does not parse');
          await this.#clearJournal();
          return { kind: 'changed', snap: theirs };
        }
      } catch (err) {
        const restored = await this.#restoreInPlace(fh, previous);
        throw asWriteFailed(
          this.#path,
          restored
            ? 'in-place write failed; the previous bytes were restored from .bak'
            : `in-place write failed and so did the restore; ${this.backupPath} holds the previous bytes (${this.inPlaceJournalPath} is left for the repair at the next write)`,
          err,
        );
      }
      await this.#clearJournal();
      if (!this.#keepBackup) {
        await unlink(this.backupPath).catch(() => undefined);
        return { kind: 'written', backup: {}, bytes: next };
      }
      return { kind: 'written', backup, bytes: next };
    } catch (err) {
      throw asWriteFailed(this.#path, 'in-place write failed', err);
    } finally {
      await fh.close().catch(() => undefined);
    }
  }

  /** Writes `buf` over the file from offset 0, then truncates to its length and fsyncs. */
  async #overwrite(fh: FileHandle, buf: Buffer): Promise<void> {
    const write =
      this.#faults.inPlaceWrite ??
      (async (h: FileHandle, b: Buffer, offset: number, position: number) =>
        (await h.write(b, offset, b.length - offset, position)).bytesWritten);
    await this.#step('write');
    for (let done = 0; done < buf.length;) {
      const n = await write(fh, buf, done, done);
      if (n <= 0) throw new Error('write made no progress');
      done += n;
    }
    await this.#step('truncate');
    await fh.truncate(buf.length);
    await this.#step('sync');
    await fh.sync();
  }

  async #step(step: InPlaceStep): Promise<void> {
    await this.#faults.inPlaceStep?.(step, this.#path);
  }

  /**
   * Puts the previous bytes back after a failed in-place write, from `.bak` (the copy a crash
   * repair uses too; our in-memory copy if `.bak` can't be read or was replaced). True on success.
   */
  async #restoreInPlace(fh: FileHandle, previous: Buffer): Promise<boolean> {
    try {
      const bak = await readBytes(this.backupPath).catch(() => undefined);
      await this.#overwrite(fh, bak !== undefined && bak.equals(previous) ? bak : previous);
      await this.#clearJournal();
      return true;
    } catch {
      return false;
    }
  }

  /**
   * `<path>.inplace` holds the bytes being written (same mode and owner as the file: it holds the
   * same secrets), so a repair can tell a torn write from someone else's later edit.
   */
  async #writeJournal(next: Buffer, like: Stats | undefined): Promise<void> {
    const tmp = `${this.inPlaceJournalPath}.new`;
    const mode = (like?.mode ?? SECRET_FILE_MODE) & 0o7777;
    await this.#writeFile(tmp, next, mode, like, []);
    try {
      await rename(tmp, this.inPlaceJournalPath);
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      throw asWriteFailed(this.#path, `cannot write ${this.inPlaceJournalPath}`, err);
    }
    await fsyncDir(path.dirname(this.inPlaceJournalPath));
  }

  async #clearJournal(): Promise<void> {
    await unlink(this.inPlaceJournalPath).catch(() => undefined);
  }

  /**
   * Called under the lock. When the journal says an in-place write was in flight and the file is
   * torn (the new bytes up to some offset, the old ones after it: a crash mid-write, which may
   * even parse), `.bak` is written back in place (for an interrupted rollback: finished). A file holding the new bytes, the old bytes, or
   * anything else (someone's later edit) is left as it is. Returns warnings for the commit result.
   */
  async #repairTornWrite(): Promise<string[]> {
    const next = await readBytes(this.inPlaceJournalPath).catch(() => undefined);
    if (next === undefined) return [];
    const current = await readBytes(this.#path);
    const bak = await readBytes(this.backupPath);
    // A rollback's journal holds `.bak` itself: finishing it is what was asked for.
    const torn =
      current !== undefined &&
      !current.equals(next) &&
      (bak === undefined
        ? this.#tryParse(current, undefined) === undefined
        : next.equals(bak) || (!current.equals(bak) && isTornWrite(current, next, bak)));
    if (!torn) {
      await this.#clearJournal();
      return [];
    }
    if (bak === undefined) {
      throw new ConfigError(
        'InvalidJson',
        this.#path,
        `an in-place write was cut short and ${this.backupPath} is missing; restore the file by hand`,
      );
    }
    const fh = await this.#openForInPlace();
    try {
      await this.#overwrite(fh, bak);
    } catch (err) {
      throw asWriteFailed(this.#path, 'cannot repair a torn in-place write from .bak', err);
    } finally {
      await fh.close().catch(() => undefined);
    }
    await this.#clearJournal();
    return [
      `${this.#path} was left half-written by an interrupted in-place write: restored from ${this.backupPath}`,
    ];
  }

  #tryParse(bytes: Buffer, st: Stats | undefined): Snapshot | undefined {
    try {
      return this.#parse(bytes, st);
    } catch {
      return undefined;
    }
  }
}

// ---- helpers ----

/**
 * Parses a config file's text into an object. Errors are ConfigErrors naming `file`, never V8's
 * message (it quotes the text around the error, which may be a password) and never a RangeError.
 */
function parseConfigText(text: string, file: string): JsonObject {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    if (err instanceof RangeError) {
      throw new ConfigError('InvalidConfig', file, `the config file nests too deeply to read`);
    }
    throw new ConfigError(
      'InvalidJson',
      file,
      'the config file is not valid JSON; nothing was written',
      [jsonErrorPosition(err, text)],
    );
  }
  if (!isObject(doc)) {
    throw new ConfigError('InvalidConfig', file, 'the config file is not a JSON object');
  }
  // Before anything recursive (canonical order, clone, schema) can overflow the stack.
  if (nestsDeeperThan(doc)) {
    throw new ConfigError(
      'InvalidConfig',
      file,
      `the config file nests deeper than ${MAX_JSON_DEPTH} levels; nothing was written`,
    );
  }
  for (const k of ['repos', 'plans']) {
    if (doc[k] !== undefined && !Array.isArray(doc[k])) {
      throw new ConfigError('InvalidConfig', file, `"${k}" is not an array`);
    }
  }
  return doc;
}

/**
 * True when `next` (applyChanges' shallow copy of `doc`) has the same keys holding the same
 * values, its plans the same objects in the same order: the same content as `doc`.
 */
function sameDoc(next: unknown, doc: JsonObject): boolean {
  if (!isObject(next)) return false;
  let keys = 0;
  for (const k in next) {
    if (!Object.prototype.hasOwnProperty.call(next, k)) continue;
    keys++;
    if (!Object.prototype.hasOwnProperty.call(doc, k)) return false;
    const x = next[k];
    const y = doc[k];
    if (x === y) continue;
    if (k !== 'plans' || !Array.isArray(x) || !Array.isArray(y) || x.length !== y.length) {
      return false;
    }
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  }
  for (const k in doc) if (Object.prototype.hasOwnProperty.call(doc, k)) keys--;
  return keys === 0;
}

/**
 * freezeJson of a whole document, then of each plan on its own: a plan's rendering, decoding and
 * unchanged upserts are kept beside its object (render-config, #decode, applyChanges).
 */
function freezeDoc(doc: JsonObject): boolean {
  if (!freezeJson(doc)) return false;
  for (const plan of asArray(doc['plans'])) freezeJson(plan);
  return true;
}

/**
 * An in-place write cut short at offset k leaves `next[0..k) + old[k..)`: with k the length of
 * the common prefix of `file` and `next`, the rest of `file` is the old bytes from k on.
 */
function isTornWrite(file: Buffer, next: Buffer, old: Buffer): boolean {
  let k = 0;
  const max = Math.min(file.length, next.length);
  while (k < max && file[k] === next[k]) k++;
  return file.subarray(k).equals(old.subarray(Math.min(k, old.length)));
}

function errnoOf(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

function asWriteFailed(file: string, message: string, err: unknown): ConfigError {
  if (err instanceof ConfigError) return err;
  return new ConfigError('WriteFailed', file, message, [errText(err)], { cause: err });
}

/** The whole file through `fh`, from offset 0 (the handle's position is not used). */
async function readAll(fh: FileHandle): Promise<Buffer> {
  const { size } = await fh.stat();
  const chunks: Buffer[] = [];
  let position = 0;
  for (;;) {
    const buf = Buffer.alloc(Math.max(size - position, 64 * 1024));
    const { bytesRead } = await fh.read(buf, 0, buf.length, position);
    if (bytesRead === 0) break;
    chunks.push(buf.subarray(0, bytesRead));
    position += bytesRead;
  }
  return Buffer.concat(chunks);
}

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

/** Backrest's modno; protojson also reads it from a string (`"7"`). */
function modnoOf(doc: unknown): number {
  return (isObject(doc) ? protoInt(doc['modno']) : undefined) ?? 0;
}

/**
 * Credentials as they appear in strings: URL userinfo (`s3:https://KEY:SECRET@host`,
 * `rest:https://u:p@host`), `Authorization:` headers and bearer tokens, `--password=`-style flags,
 * and `*_PASSWORD=` / `*_PWD=` / `*_TOKEN=` / `*_SECRET=` / `*_KEY=` assignments.
 */
const SECRET_TEXT = [
  /[a-z][a-z0-9+.-]*:\/\/[^\s/@]*:[^\s/@]*@/i,
  /\bauthorization\s*:/i,
  /\bbearer\s+\S/i,
  /--?(?:password|passwd|pass|token|secret|api-?key)[=\s]/i,
  /\b[A-Z0-9_]*(?:PASS(?:WORD)?|PWD|SECRET|TOKEN|KEY|CREDENTIALS?)[A-Z0-9_]*=/i,
];

/**
 * Whether a seed-format file we create must be 0600 instead of the seed's 0644: any repo
 * password or env, auth users, a sync identity, or a string anywhere (hooks included) that
 * looks like a credential. A false positive only makes the new file stricter.
 */
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
  if (repoSecret || users || sync) return true;
  for (const s of stringsIn(doc)) if (SECRET_TEXT.some((re) => re.test(s))) return true;
  return false;
}

/** Backrest's native file always may hold secrets (repo passwords live in it). */
function fileHoldsSecrets(doc: unknown, format: ConfigFormat): boolean {
  return format === 'backrest' || holdsSecrets(doc);
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
