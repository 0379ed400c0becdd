import { readFile, rm, stat, utimes } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import type { ContainerActions } from '@dockop/docker';
import { isActionError } from '@dockop/docker';
import { DEFAULT_STATE_DIR } from './backup-options.js';
import { fsyncDir, writeFileAtomic, type Logger } from '@dockop/runtime';
import { RUN_LABEL, checkRunId } from './backup-options.js';
import { ensureRunning } from './ensure-running.js';
import { bootId, selfContainerId } from './own-container.js';

/**
 * The quiesce journal: which containers a backup-once run stopped (or is about to stop), written
 * durably BEFORE the first stop, removed after every one of them is running again. When the
 * process dies in between (kill -9, OOM, host reboot), the next start of any mode finds the
 * journal and starts them (`repairQuiesceJournal`).
 *
 * It is also the lock of backup-once: while the owner is alive, a second run refuses to start
 * and repair leaves the journal alone. Whether the owner is alive (`journalOwnerProcessAlive`):
 * - the host rebooted since (boot id differs): dead;
 * - the owner ran in another container (its id recorded, e.g. a sidecar since recreated by
 *   compose, with a new hostname): dead when that container is gone, not running, or started
 *   again after the journal was written (a restart means a new process); else alive;
 * - same host namespace (hostname): its pid must run with the same start time (a pid reused after
 *   a restart is not the owner);
 * - otherwise (no /proc, no Docker): alive while its heartbeat is younger than JOURNAL_STALE_MS.
 */
export const QUIESCE_JOURNAL_FILE = 'quiesce-journal.json';

export interface QuiesceJournalEntry {
  id: string;
  name: string;
  /**
   * Set (ISO time) just before its stop is requested: until then a stop may still be in flight on
   * the engine (the grace period plus STOP_SETTLE_MARGIN_MS), so repair waits for the container to
   * leave `running` before starting it. Removed once the stop returned.
   */
  stopSettleUntil?: string;
}

export interface QuiesceJournalData {
  version: 1;
  owner: {
    pid: number;
    hostname: string;
    startTime: string | null;
    /** /proc/sys/kernel/random/boot_id: a reboot changes it. Optional (older journals). */
    bootId?: string | null;
    /** The container the owner ran in (null on a plain host). Optional (older journals). */
    containerId?: string | null;
  };
  createdAt: string;
  /** Stop order; start them in reverse. */
  containers: QuiesceJournalEntry[];
  /** Set when the owner gave up on some containers: repair them even though the owner lives on (daemon). */
  abandoned?: boolean;
  /**
   * Id of the backup-once run, the value of RUN_LABEL on its one-shots: a repair after the owner
   * died removes them. Optional (journals written before it existed repair as before).
   */
  runId?: string;
}

/** Heartbeat period of a live journal; a foreign owner silent for 4 periods is presumed dead. */
export const JOURNAL_HEARTBEAT_MS = 15_000;
export const JOURNAL_STALE_MS = 4 * JOURNAL_HEARTBEAT_MS;

export function journalPath(stateDir: string): string {
  return path.join(stateDir, QUIESCE_JOURNAL_FILE);
}

/** Field 22 of /proc/<pid>/stat (start time in clock ticks since boot); null off Linux. */
export function processStartTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm (field 2) may contain spaces and parentheses: split after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19] ?? null;
  } catch {
    return null;
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function selfOwner(): QuiesceJournalData['owner'] {
  return {
    pid: process.pid,
    hostname: hostname(),
    startTime: processStartTime(process.pid),
    bootId: bootId(),
    containerId: selfContainerId(),
  };
}

/** Inspects a container by id (the owner's, when it ran in another container). */
export type OwnerInspect = (id: string) => Promise<{
  State?: { Running?: boolean; StartedAt?: string };
}>;

export async function readJournal(stateDir: string): Promise<QuiesceJournalData | undefined> {
  let text: string;
  try {
    text = await readFile(journalPath(stateDir), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const data = JSON.parse(text) as QuiesceJournalData;
  if (data?.version !== 1 || !Array.isArray(data.containers)) {
    throw new Error(
      `${journalPath(stateDir)} is not a quiesce journal (version ${String(data?.version)})`,
    );
  }
  return data;
}

/** Whether the run that wrote the journal may still be running (an abandoned journal: no). */
export async function journalOwnerAlive(
  stateDir: string,
  data: QuiesceJournalData,
  now: number = Date.now(),
  inspect?: OwnerInspect,
): Promise<boolean> {
  if (data.abandoned) return false;
  return journalOwnerProcessAlive(stateDir, data, now, inspect);
}

/**
 * Whether the process that wrote the journal may still be alive, abandoned or not (a daemon
 * that abandoned a journal lives on and may still run its one-shots). `inspect` lets an owner in
 * another container be judged by that container's state (without it: by the heartbeat).
 */
export async function journalOwnerProcessAlive(
  stateDir: string,
  data: QuiesceJournalData,
  now: number = Date.now(),
  inspect?: OwnerInspect,
): Promise<boolean> {
  const o = data.owner;
  const ourBoot = bootId();
  if (typeof o.bootId === 'string' && ourBoot !== null && o.bootId !== ourBoot) return false;
  const ours = selfContainerId();
  if (typeof o.containerId === 'string' && o.containerId !== ours && inspect) {
    const verdict = await ownerContainerAlive(o.containerId, data.createdAt, inspect);
    if (verdict !== undefined) return verdict;
  }
  // A pid only means something in the owner's own pid namespace: the same container (or both on
  // the plain host) and hostname. Journals written before containerId existed: hostname only.
  const sameNamespace =
    o.containerId === undefined
      ? o.hostname === hostname()
      : o.containerId === ours && o.hostname === hostname();
  if (sameNamespace) {
    if (o.pid === process.pid && o.startTime === processStartTime(process.pid)) return true;
    if (!pidAlive(o.pid)) return false;
    const start = processStartTime(o.pid);
    if (start !== null && o.startTime !== null) return start === o.startTime;
  }
  // Another host/namespace we cannot inspect (or no /proc): trust the heartbeat.
  try {
    const s = await stat(journalPath(stateDir));
    return now - s.mtimeMs < JOURNAL_STALE_MS;
  } catch {
    return false;
  }
}

// true/false when Docker can tell, undefined when it cannot (engine unreachable).
async function ownerContainerAlive(
  id: string,
  createdAt: string,
  inspect: OwnerInspect,
): Promise<boolean | undefined> {
  try {
    const info = await inspect(id);
    if (!info.State?.Running) return false;
    const started = Date.parse(info.State.StartedAt ?? '');
    const created = Date.parse(createdAt);
    // Restarted after the journal was written: the process that wrote it is gone.
    if (Number.isFinite(started) && Number.isFinite(created) && started > created) return false;
    return true;
  } catch (err) {
    if (isActionError(err, 'NotFound') || (err as { statusCode?: number }).statusCode === 404)
      return false;
    return undefined;
  }
}

export class QuiesceBusyError extends Error {
  override readonly name = 'QuiesceBusyError';
}

/** A journal this process owns. */
export class QuiesceJournal {
  readonly #stateDir: string;
  #data: QuiesceJournalData;
  #heartbeat: NodeJS.Timeout | undefined;

  private constructor(stateDir: string, data: QuiesceJournalData) {
    this.#stateDir = stateDir;
    this.#data = data;
  }

  /**
   * Takes the journal (the backup-once lock) for `containers`, durably, before anything is
   * stopped. Throws QuiesceBusyError when a live run holds it; a dead run's journal must have been
   * repaired first (`repairQuiesceJournal`), so one that is still there is refused too.
   * `runId` (the value of RUN_LABEL on this run's one-shots) lets that repair remove them.
   */
  static async create(
    stateDir: string,
    containers: QuiesceJournalEntry[],
    runId?: string,
    inspect?: OwnerInspect,
  ): Promise<QuiesceJournal> {
    const existing = await readJournal(stateDir);
    if (existing) {
      const alive = await journalOwnerAlive(stateDir, existing, Date.now(), inspect);
      throw new QuiesceBusyError(
        alive
          ? `another backup-once (pid ${existing.owner.pid} on ${existing.owner.hostname}) holds ${journalPath(stateDir)}`
          : `${journalPath(stateDir)} from a dead run still lists stopped containers; repair it first`,
      );
    }
    const data: QuiesceJournalData = {
      version: 1,
      owner: selfOwner(),
      createdAt: new Date().toISOString(),
      containers,
      ...(runId !== undefined ? { runId } : {}),
    };
    const j = new QuiesceJournal(stateDir, data);
    await j.#write();
    j.#heartbeat = setInterval(() => void j.#touch(), JOURNAL_HEARTBEAT_MS);
    j.#heartbeat.unref();
    return j;
  }

  get containers(): QuiesceJournalEntry[] {
    return [...this.#data.containers];
  }

  get runId(): string | undefined {
    return this.#data.runId;
  }

  /**
   * Records, durably, that the stop of `id` is about to be requested and may be in flight until
   * `settleUntil` (epoch ms): a repair after we die waits for it before starting the container.
   */
  async markStopping(id: string, settleUntil: number): Promise<void> {
    this.#setSettle(id, new Date(settleUntil).toISOString());
    await this.#write();
  }

  /** The stop of `id` returned: nothing in flight any more (not written: only a hint for repair). */
  markStopped(id: string): void {
    this.#setSettle(id, undefined);
  }

  #setSettle(id: string, until: string | undefined): void {
    this.#data = {
      ...this.#data,
      containers: this.#data.containers.map((c) => {
        if (c.id !== id) return c;
        const { stopSettleUntil: _old, ...rest } = c;
        return until === undefined ? rest : { ...rest, stopSettleUntil: until };
      }),
    };
  }

  /** Removes the journal: every container is running again (or gone). */
  async release(): Promise<void> {
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    this.#heartbeat = undefined;
    await rm(journalPath(this.#stateDir), { force: true });
    await fsyncDir(this.#stateDir).catch(() => undefined);
  }

  /**
   * Leaves `remaining` (the containers that could not be started again) in the journal, marked
   * abandoned, for the next run's repair; stops the heartbeat.
   */
  async abandon(remaining: QuiesceJournalEntry[]): Promise<void> {
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    this.#heartbeat = undefined;
    const byId = new Map(this.#data.containers.map((c) => [c.id, c]));
    this.#data = {
      ...this.#data,
      containers: remaining.map((c) => byId.get(c.id) ?? c),
      abandoned: true,
    };
    await this.#write();
  }

  async #write(): Promise<void> {
    await writeFileAtomic(journalPath(this.#stateDir), `${JSON.stringify(this.#data, null, 2)}\n`);
  }

  // Only the mtime: rewriting could resurrect the file after release() removed it.
  async #touch(): Promise<void> {
    try {
      const now = new Date();
      await utimes(journalPath(this.#stateDir), now, now);
    } catch {
      // A missed heartbeat only makes a foreign observer think us dead sooner; the next one retries.
    }
  }
}

export interface RepairOptions {
  /** Default `/var/lib/backrest-sidecar`. */
  stateDir?: string;
  /**
   * `removeLeftovers` removes a dead run's one-shots (journal `runId`), `start` its workloads,
   * `inspect` confirms they run (and judges an owner that ran in another container).
   */
  actions: Pick<ContainerActions, 'start' | 'removeLeftovers' | 'inspect'>;
  /** As `ensureRunning`'s (tests). */
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  logger?: Logger;
  signal?: AbortSignal;
}

export interface RepairResult {
  /** `none`: no journal; `busy`: its owner is alive, left alone; `repaired`: every container started; `partial`: some could not be. */
  status: 'none' | 'busy' | 'repaired' | 'partial';
  started: string[];
  failed: { name: string; error: string }[];
  /** Ids of the dead run's one-shot containers removed (killed first when running). */
  removedOrphans: string[];
}

/**
 * Starts the containers a dead backup-once run left stopped, dependencies first (reverse stop
 * order), then removes the journal; containers that are gone are dropped, ones that fail to start
 * stay in the journal for the next attempt. Cheap when there is no journal: call it at the start
 * of every command.
 *
 * Before starting them, when the owner process is dead and the journal names its `runId`, the
 * run's one-shots (RUN_LABEL=runId), running or not, are killed and removed: nobody waits for
 * them any more, and a backup still writing while the workloads start again would snapshot them
 * mid-write. A failed removal is logged and does not keep the workloads stopped.
 */
export async function repairQuiesceJournal(options: RepairOptions): Promise<RepairResult> {
  const stateDir = options.stateDir ?? DEFAULT_STATE_DIR;
  const data = await readJournal(stateDir);
  if (!data) return { status: 'none', started: [], failed: [], removedOrphans: [] };
  const inspect: OwnerInspect = (id) => options.actions.inspect(id);
  if (await journalOwnerAlive(stateDir, data, Date.now(), inspect)) {
    options.logger?.info('quiesce.repair_skipped', {
      reason: 'the run that stopped them is still running',
      pid: data.owner.pid,
      host: data.owner.hostname,
    });
    return { status: 'busy', started: [], failed: [], removedOrphans: [] };
  }
  options.logger?.warn('quiesce.repairing', {
    containers: data.containers.map((c) => c.name),
    deadPid: data.owner.pid,
    since: data.createdAt,
    ...(data.runId !== undefined ? { runId: data.runId } : {}),
  });
  const removedOrphans = await removeOrphans(stateDir, data, options);
  const started: string[] = [];
  const failed: { name: string; error: string }[] = [];
  const remaining: QuiesceJournalEntry[] = [];
  for (const c of [...data.containers].reverse()) {
    try {
      // A stop the dead run had in flight may still be running on the engine: let it finish
      // first, or the start is a no-op and the container exits right after.
      const settle = c.stopSettleUntil ? Date.parse(c.stopSettleUntil) : NaN;
      const state = await ensureRunning(options.actions, c, {
        ...(Number.isFinite(settle) ? { settleUntil: settle } : {}),
        ...(options.now ? { now: options.now } : {}),
        ...(options.sleep ? { sleep: options.sleep } : {}),
      });
      if (state === 'gone') {
        options.logger?.warn('quiesce.repair_gone', { container: c.name });
        continue;
      }
      started.push(c.name);
    } catch (err) {
      failed.push({ name: c.name, error: (err as Error).message });
      remaining.unshift(c);
    }
  }
  if (remaining.length === 0) {
    await rm(journalPath(stateDir), { force: true });
  } else {
    await writeFileAtomic(
      journalPath(stateDir),
      `${JSON.stringify({ ...data, containers: remaining }, null, 2)}\n`,
    );
  }
  options.logger?.info('quiesce.repaired', { started, failed: failed.map((f) => f.name) });
  return { status: failed.length ? 'partial' : 'repaired', started, failed, removedOrphans };
}

// The dead run's one-shots. An abandoned journal's owner may live on (a daemon): its one-shots
// are its own business then, so only a dead owner's are removed.
async function removeOrphans(
  stateDir: string,
  data: QuiesceJournalData,
  options: RepairOptions,
): Promise<string[]> {
  if (data.runId === undefined) return [];
  if (
    data.abandoned &&
    (await journalOwnerProcessAlive(stateDir, data, Date.now(), (id) =>
      options.actions.inspect(id),
    ))
  )
    return [];
  try {
    // A hand-edited id must not widen the selection: checked before it becomes a filter.
    const removed = await options.actions.removeLeftovers(
      { [RUN_LABEL]: checkRunId(String(data.runId)) },
      { includeRunning: true, ...(options.signal ? { signal: options.signal } : {}) },
    );
    options.logger?.info('quiesce.removed_orphans', { runId: data.runId, containers: removed });
    return removed;
  } catch (err) {
    options.logger?.error('quiesce.remove_orphans_failed', {
      runId: data.runId,
      label: `${RUN_LABEL}=${data.runId}`,
      error: (err as Error).message,
    });
    return [];
  }
}
