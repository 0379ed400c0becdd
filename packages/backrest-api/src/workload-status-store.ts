import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import lockfile from 'proper-lockfile';
import {
  redactText,
  setCondition,
  writeFileAtomic,
  type Condition,
  type ConditionStatus,
  type ConditionUpdate,
  type EventType,
  type Logger,
  type Redactor,
} from '@dockop/runtime';
import {
  WORKLOAD_STATUS_MAX_EVENTS,
  type WorkloadBackupRecord,
  type WorkloadEventRecord,
  type WorkloadFailureRecord,
  type WorkloadRetentionRecord,
  type WorkloadScheduleRecord,
  type WorkloadSnapshotsRecord,
  type WorkloadStatus,
  type WorkloadVerificationRecord,
} from './workload-status.js';

/** Sub-directory of `--state-dir` holding one `<workload>.json` per workload. */
export const WORKLOAD_STATUS_DIR = 'workloads';

export interface WorkloadStatusStoreOptions {
  /** `--state-dir`. The files live in `<stateDir>/workloads/`. */
  stateDir: string;
  /** Default `Date.now`. Injectable so conditions and Stale are tested on virtual time. */
  now?: () => number;
  /** Warns about an unreadable or corrupt file (once per file and content). Default: silent. */
  logger?: Logger;
  /** Masks secrets in messages before they are stored. Default: the rules without registered values. */
  redactor?: Redactor;
  /** Recent events kept per workload. Default WORKLOAD_STATUS_MAX_EVENTS (20). */
  maxEvents?: number;
  /**
   * Nothing is written: updates are kept in memory and `get` returns them (read-only commands
   * such as `get workloads` compute the status of now without touching the state dir). Default false.
   */
  readOnly?: boolean;
  /**
   * How long an update waits for another process's lock on the same workload's file, in ms,
   * before it fails (naming the file). Default 10 000: an update holds the lock for one read and
   * one write, milliseconds, so only a hung writer makes anyone wait that long.
   */
  lockWaitMs?: number;
}

/** See `WorkloadStatusStore.onWritten`. */
export type WrittenListener = (name: string, status: WorkloadStatus) => void | Promise<void>;

/**
 * A lock older than this is someone's crash, taken over (proper-lockfile refreshes a held lock's
 * mtime every half of it, so a live writer never looks stale).
 */
const LOCK_STALE_MS = 10_000;

/** A workload name usable as a file name: what Docker allows for container names. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$/;

/**
 * The workloads' status subresources, one JSON file per workload in `<stateDir>/workloads/`, so
 * they survive restarts and another process (`get workloads`, `describe workload`) reads them.
 *
 * - Every update that changes the file takes the workload's lock (`<name>.json.lock`,
 *   proper-lockfile: a directory made atomically, so it works across processes), re-reads the
 *   file, applies the change and writes it atomically (`writeFileAtomic`); one that changes
 *   nothing takes no lock (an idle refresh costs a read). The daemon and one-shot commands in other processes
 *   (`backup-once`, `forget`, `verify`) sharing the state dir never lose each other's events or
 *   conditions. Updates in this process are also serialized per workload (no lock contention
 *   with ourselves).
 * - Writers change only their own fields and condition types (`setCondition` keeps the others), so
 *   other controllers (e.g. restore verification's `Verified`) add conditions to the same status.
 * - The class is its own injection token (one singleton, bound by `workloadStatusModule`).
 * - Files are hostile input: only own properties of the expected types are read back; a corrupt
 *   file is a warning naming it, read as no status, and replaced by the next update.
 */
export class WorkloadStatusStore {
  readonly dir: string;
  readonly #now: () => number;
  readonly #logger: Logger | undefined;
  readonly #redact: (s: string) => string;
  readonly #maxEvents: number;
  readonly #chains = new Map<string, Promise<unknown>>();
  readonly #warned = new Set<string>();
  readonly #readOnly: boolean;
  readonly #overlay = new Map<string, WorkloadStatus>();
  readonly #lockWaitMs: number;
  readonly #writeListeners = new Set<WrittenListener>();

  constructor(options: WorkloadStatusStoreOptions) {
    this.dir = path.join(options.stateDir, WORKLOAD_STATUS_DIR);
    this.#now = options.now ?? Date.now;
    this.#logger = options.logger;
    const redactor = options.redactor;
    this.#redact = redactor ? (s) => redactor.redactString(s) : redactText;
    this.#maxEvents = Math.max(1, options.maxEvents ?? WORKLOAD_STATUS_MAX_EVENTS);
    this.#readOnly = options.readOnly === true;
    this.#lockWaitMs = Math.max(0, options.lockWaitMs ?? 10_000);
  }

  /** The file of workload `name`; throws (naming it) for a name that is not a container name. */
  fileOf(name: string): string {
    if (!NAME.test(name)) {
      throw new Error(
        `workload name ${JSON.stringify(name.slice(0, 80))} is not a container name ([A-Za-z0-9][A-Za-z0-9_.-]*): no status file`,
      );
    }
    return path.join(this.dir, `${name}.json`);
  }

  /** The status of `name` as the file holds it, or undefined (none, or unreadable). */
  async get(name: string): Promise<WorkloadStatus | undefined> {
    const file = this.fileOf(name);
    const kept = this.#overlay.get(name);
    if (kept) return structuredClone(kept);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.#warn(file, err);
      return undefined;
    }
    try {
      return parseWorkloadStatus(JSON.parse(text), name);
    } catch (err) {
      this.#warn(file, err, text);
      return undefined;
    }
  }

  /** Every workload with a status, by name. */
  async list(): Promise<WorkloadStatus[]> {
    let entries: string[];
    try {
      entries = await readdir(this.dir);
    } catch {
      entries = [];
    }
    const names = [
      ...new Set([
        ...entries
          .filter((f) => f.endsWith('.json') && NAME.test(f.slice(0, -5)))
          .map((f) => f.slice(0, -5)),
        ...this.#overlay.keys(),
      ]),
    ].sort();
    const all = await Promise.all(names.map((n) => this.get(n)));
    return all.filter((s): s is WorkloadStatus => s !== undefined);
  }

  /**
   * Read, change, write: `mutate` gets the current status (a fresh one, `firstSeen` now, when
   * there is none) and changes it in place. Writes only when something changed, under the
   * workload's lock, after reading the file again and calling `mutate` again on what it holds
   * (so `mutate` must change only the status it is given). Returns the status as it now is.
   */
  update(name: string, mutate: (status: WorkloadStatus) => void): Promise<WorkloadStatus> {
    const file = this.fileOf(name);
    /** The current status with `mutate` applied, and whether that changes the file. */
    const apply = async (): Promise<{ status: WorkloadStatus; body: string; write: boolean }> => {
      // A copy of its own (read now, or cloned from the overlay): changed in place, after its
      // text is taken to compare with.
      const current = await this.get(name);
      const before = current ? `${JSON.stringify(current, null, 2)}\n` : undefined;
      const status = current ?? this.fresh(name);
      mutate(status);
      status.name = name;
      const body = `${JSON.stringify(status, null, 2)}\n`;
      return { status, body, write: body !== before };
    };
    const run = async (): Promise<WorkloadStatus> => {
      // Read-only: kept in memory; nothing to lock (and the dir may be read-only).
      const first = await apply();
      if (this.#readOnly) {
        this.#overlay.set(name, structuredClone(first.status));
        return first.status;
      }
      // Unchanged: no lock, no write (a periodic refresh of every workload costs one read).
      if (!first.write) return first.status;
      // A change: read and apply again under the lock (another process may have written since).
      const { status, written } = await this.#locked(file, async (assertLockHeld) => {
        const { status, body, write } = await apply();
        if (write) {
          assertLockHeld();
          await writeFileAtomic(file, body);
        }
        return { status, written: write };
      });
      if (written) await this.#notifyWritten(name, status);
      return status;
    };
    const previous = this.#chains.get(name) ?? Promise.resolve();
    const next = previous.then(run, run);
    this.#chains.set(name, next);
    void next.finally(() => {
      if (this.#chains.get(name) === next) this.#chains.delete(name);
    });
    return next;
  }

  /**
   * Calls `listener` after each status file this store writes, with the status written (not to
   * be changed), so a reader in this process follows its own process's writes without reading
   * the file back or taking them for another process's. `update` resolves after the listeners
   * did (awaited when they return a promise); a listener's failure is logged, never the
   * update's. Returns the unsubscribe.
   */
  onWritten(listener: WrittenListener): () => void {
    this.#writeListeners.add(listener);
    return () => void this.#writeListeners.delete(listener);
  }

  async #notifyWritten(name: string, status: WorkloadStatus): Promise<void> {
    for (const listener of this.#writeListeners) {
      try {
        await listener(name, status);
      } catch (err) {
        this.#logger?.warn('status.listener_failed', { workload: name, error: err });
      }
    }
  }

  /** A status nobody wrote yet. */
  fresh(name: string): WorkloadStatus {
    return {
      name,
      firstSeen: new Date(this.#now()).toISOString(),
      conditions: [],
      events: [],
    };
  }

  /** Sets one condition (message redacted; transition time kept unless the status changes). */
  setCondition(name: string, update: ConditionUpdate): Promise<WorkloadStatus> {
    return this.update(name, (s) => this.applyCondition(s, update));
  }

  /** `setCondition` on a status being mutated (inside `update`). */
  applyCondition(status: WorkloadStatus, update: ConditionUpdate): void {
    status.conditions = setCondition(
      status.conditions,
      { ...update, message: this.#redact(update.message) },
      this.#now(),
    );
  }

  /** Appends an event to a status being mutated: a repeat of the last one bumps its count. */
  applyEvent(status: WorkloadStatus, type: EventType, reason: string, rawMessage: string): void {
    const message = this.#redact(rawMessage);
    const now = new Date(this.#now()).toISOString();
    const same = status.events.findIndex(
      (e) => e.type === type && e.reason === reason && e.message === message,
    );
    if (same >= 0) {
      const [e] = status.events.splice(same, 1);
      status.events.push({ ...e!, count: e!.count + 1, lastTimestamp: now });
    } else {
      status.events.push({
        type,
        reason,
        message,
        count: 1,
        firstTimestamp: now,
        lastTimestamp: now,
      });
    }
    if (status.events.length > this.#maxEvents) {
      status.events.splice(0, status.events.length - this.#maxEvents);
    }
  }

  /** Masks a message for a field other than conditions and events (e.g. `lastFailure`). */
  redact(message: string): string {
    return this.#redact(message);
  }

  now(): number {
    return this.#now();
  }

  async remove(name: string): Promise<void> {
    this.#overlay.delete(name);
    if (this.#readOnly) return;
    await rm(this.fileOf(name), { force: true });
  }

  /** Runs `fn` holding the cross-process lock of `file`; fails naming the file when it can't. */
  async #locked<T>(file: string, fn: (assertLockHeld: () => void) => Promise<T>): Promise<T> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    let lost: Error | undefined;
    let release: () => Promise<void>;
    const options = {
      realpath: false,
      lockfilePath: `${file}.lock`,
      stale: LOCK_STALE_MS,
      // The default throws from a timer (a crash): a lost lock fails this update instead.
      onCompromised: (err: Error) => {
        lost = err;
      },
    };
    try {
      // One attempt first. proper-lockfile's `retry` builds the whole schedule of a retrying
      // lock up front (~330 randomised timeouts, sorted, then copied): ~100 KiB of garbage per
      // status write, most of a daemon's allocation under container churn (issue #13). A lock
      // nobody else holds, nearly every one, needs none of it.
      release = await lockfile.lock(file, { ...options, retries: 0 }).catch((err: unknown) => {
        if ((err as NodeJS.ErrnoException).code !== 'ELOCKED') throw err;
        // Held by another process: wait for it, 20–40 ms between attempts, for about lockWaitMs.
        const retries = Math.ceil(this.#lockWaitMs / 30);
        return lockfile.lock(file, {
          ...options,
          retries: { retries, factor: 1, minTimeout: 20, maxTimeout: 40, randomize: true },
        });
      });
    } catch (err) {
      throw new Error(
        `cannot lock the workload status ${file} (${file}.lock held by another process for ${this.#lockWaitMs} ms): ${(err as Error).message}`,
        { cause: err },
      );
    }
    try {
      return await fn(() => {
        if (lost) throw new Error(`lost the lock of ${file} before writing: ${lost.message}`);
      });
    } finally {
      await release().catch(() => undefined);
    }
  }

  #warn(file: string, err: unknown, text = ''): void {
    const id = `${file}\u0000${text.length}\u0000${text.slice(0, 64)}`;
    if (this.#warned.has(id)) return;
    this.#warned.add(id);
    this.#logger?.warn('status.unreadable', {
      file,
      error: (err as Error).message,
      note: 'read as no status; the next update replaces the file',
    });
  }
}

// ---- reading a status file back (hostile input: own properties of the expected type only) ----

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
function own(o: Obj, k: string): unknown {
  return Object.hasOwn(o, k) ? o[k] : undefined;
}
function str(o: Obj, k: string): string | undefined {
  const v = own(o, k);
  return typeof v === 'string' ? v : undefined;
}
function num(o: Obj, k: string): number | undefined {
  const v = own(o, k);
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}
function strs(o: Obj, k: string): string[] {
  const v = own(o, k);
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}
/** Only the keys whose value is defined (exactOptionalPropertyTypes). */
function defined<T extends Obj>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
function obj(o: Obj, k: string): Obj | undefined {
  const v = own(o, k);
  return isObj(v) ? v : undefined;
}

const CONDITION_STATUSES: readonly string[] = ['True', 'False', 'Unknown'];

function parseCondition(v: unknown): Condition | undefined {
  if (!isObj(v)) return undefined;
  const type = str(v, 'type');
  const status = str(v, 'status');
  const lastTransitionTime = str(v, 'lastTransitionTime');
  if (!type || !status || !CONDITION_STATUSES.includes(status) || !lastTransitionTime)
    return undefined;
  return defined({
    type,
    status: status as ConditionStatus,
    reason: str(v, 'reason') ?? '',
    message: str(v, 'message') ?? '',
    lastTransitionTime,
    observedGeneration: num(v, 'observedGeneration'),
  });
}

function parseEvent(v: unknown): WorkloadEventRecord | undefined {
  if (!isObj(v)) return undefined;
  const type = str(v, 'type');
  const reason = str(v, 'reason');
  const first = str(v, 'firstTimestamp');
  if ((type !== 'Normal' && type !== 'Warning') || !reason || !first) return undefined;
  return {
    type,
    reason,
    message: str(v, 'message') ?? '',
    count: Math.max(1, Math.floor(num(v, 'count') ?? 1)),
    firstTimestamp: first,
    lastTimestamp: str(v, 'lastTimestamp') ?? first,
  };
}

function parseBackup(o: Obj | undefined): WorkloadBackupRecord | undefined {
  if (!o) return undefined;
  const time = str(o, 'time');
  if (!time || !Number.isFinite(Date.parse(time))) return undefined;
  const source = str(o, 'source');
  return defined({
    time,
    snapshotId: str(o, 'snapshotId'),
    engine: str(o, 'engine') ?? 'unknown',
    source: source === 'repository' ? 'repository' : 'run',
    filesTotal: num(o, 'filesTotal'),
    filesNew: num(o, 'filesNew'),
    filesChanged: num(o, 'filesChanged'),
    bytesAdded: num(o, 'bytesAdded'),
    bytesTotal: num(o, 'bytesTotal'),
    partial: own(o, 'partial') === true ? true : undefined,
  }) as WorkloadBackupRecord;
}

function parseFailure(o: Obj | undefined): WorkloadFailureRecord | undefined {
  if (!o) return undefined;
  const time = str(o, 'time');
  if (!time) return undefined;
  return {
    time,
    engine: str(o, 'engine') ?? 'unknown',
    reason: str(o, 'reason') ?? 'BackupFailed',
    message: str(o, 'message') ?? '',
  };
}

function parseSnapshots(o: Obj | undefined): WorkloadSnapshotsRecord | undefined {
  if (!o) return undefined;
  const count = num(o, 'count');
  const observedAt = str(o, 'observedAt');
  if (count === undefined || !observedAt) return undefined;
  const latest = obj(o, 'latest');
  const id = latest ? str(latest, 'id') : undefined;
  const time = latest ? str(latest, 'time') : undefined;
  return defined({
    count,
    observedAt,
    sidecar: num(o, 'sidecar') ?? 0,
    backrest: num(o, 'backrest') ?? 0,
    latest: id && time ? { id, time } : undefined,
  }) as WorkloadSnapshotsRecord;
}

function parseRetention(o: Obj | undefined): WorkloadRetentionRecord | undefined {
  if (!o) return undefined;
  const time = str(o, 'time');
  if (!time) return undefined;
  return defined({
    time,
    keep: str(o, 'keep') ?? '-',
    outcome: str(o, 'outcome') ?? 'unknown',
    kept: num(o, 'kept') ?? 0,
    removed: num(o, 'removed') ?? 0,
    keptIds: strs(o, 'keptIds'),
    removedIds: strs(o, 'removedIds'),
    dryRun: own(o, 'dryRun') === true ? true : undefined,
    message: str(o, 'message'),
  }) as WorkloadRetentionRecord;
}

function parseVerification(o: Obj | undefined): WorkloadVerificationRecord | undefined {
  if (!o) return undefined;
  const time = str(o, 'time');
  if (!time || !Number.isFinite(Date.parse(time))) return undefined;
  return defined({
    time,
    passed: own(o, 'passed') === true,
    snapshotId: str(o, 'snapshotId'),
    snapshotTime: str(o, 'snapshotTime'),
    checks: strs(o, 'checks'),
    durationMs: num(o, 'durationMs') ?? 0,
    message: str(o, 'message') ?? '',
  }) as WorkloadVerificationRecord;
}

function parseSchedule(o: Obj | undefined): WorkloadScheduleRecord | undefined {
  if (!o) return undefined;
  const owner = str(o, 'owner');
  const staleAfterMs = num(o, 'staleAfterMs');
  if ((owner !== 'sidecar' && owner !== 'backrest') || staleAfterMs === undefined) return undefined;
  return defined({
    owner,
    expression: str(o, 'expression'),
    periodMs: num(o, 'periodMs'),
    staleAfterMs,
  }) as WorkloadScheduleRecord;
}

/**
 * A status file's content → WorkloadStatus. Throws when it is not a status object for `name`;
 * a malformed optional field is dropped, a malformed condition or event skipped.
 */
export function parseWorkloadStatus(raw: unknown, name: string): WorkloadStatus {
  if (!isObj(raw)) throw new Error('not a JSON object');
  const fileName = str(raw, 'name');
  if (fileName !== name) {
    throw new Error(`holds the status of ${JSON.stringify(fileName ?? null)}, not "${name}"`);
  }
  const firstSeen = str(raw, 'firstSeen');
  if (!firstSeen || !Number.isFinite(Date.parse(firstSeen)))
    throw new Error('firstSeen is missing or not a time');
  const conditions = own(raw, 'conditions');
  const events = own(raw, 'events');
  return defined({
    name,
    observedGeneration: num(raw, 'observedGeneration'),
    firstSeen,
    lastBackup: parseBackup(obj(raw, 'lastBackup')),
    lastFailure: parseFailure(obj(raw, 'lastFailure')),
    snapshots: parseSnapshots(obj(raw, 'snapshots')),
    retention: parseRetention(obj(raw, 'retention')),
    schedule: parseSchedule(obj(raw, 'schedule')),
    verification: parseVerification(obj(raw, 'verification')),
    conditions: Array.isArray(conditions)
      ? conditions.map(parseCondition).filter((c): c is Condition => c !== undefined)
      : [],
    events: Array.isArray(events)
      ? events.map(parseEvent).filter((e): e is WorkloadEventRecord => e !== undefined)
      : [],
  }) as WorkloadStatus;
}
