import type { Redactor } from '@dockop/runtime';
import {
  WorkloadConditions,
  resolveDump,
  type BackupWorkloadSpec,
  type DumpPresetName,
  type WorkloadStatus,
  type WorkloadStatusStore,
} from '@backrest-sidecar/api';
import { learnContainerSecrets } from './container-secrets.js';
import { checkDump, type ExecFn } from './dump-backup.js';

/** What the daemon knows of a workload's dump preset before any backup runs. */
export interface DumpReadinessResult {
  preset: DumpPresetName;
  /** True: the tool and the credential variable are there. */
  ready: boolean;
  /** One sentence per unmet requirement, naming container and label (redacted). */
  problems: string[];
  /** True when this result differs from the last one known (or is the first): worth a Warning. */
  changed: boolean;
}

export interface DumpReadinessOptions {
  /**
   * Check a running, unchanged workload again after this long (ms): a tool removed or a variable
   * unset by an in-place change Docker can't see. Default 3 600 000 (1 h).
   */
  recheckMs?: number;
  /** Deadline of one check's `docker exec`, ms. Default 30 000. */
  timeoutMs?: number;
}

export interface DumpReadinessDeps {
  exec: ExecFn;
  /** The container's Config.Env, to teach `redactor` its secrets before its output is quoted. */
  inspectEnv?: (container: string) => Promise<readonly string[] | undefined>;
  redactor?: Redactor;
  now?: () => number;
}

/** The part of an observed workload the check reads. */
export interface ObservedDumpWorkload {
  name: string;
  /** Container id: a recreated container is checked again at once. */
  id: string;
  /** Docker state: only a running container can be checked (docker exec). */
  state: string;
  spec: BackupWorkloadSpec;
}

interface Cached {
  fingerprint: string;
  checkedAt: number;
  result: Omit<DumpReadinessResult, 'changed'>;
}

/**
 * The dump pre-check of the daemon: when a dump-labelled workload is observed (the backup
 * controller's status refresh, at start, on every change and at least hourly), the preset's
 * requirements are checked in the running container with `docker exec` (`checkDump`, the check
 * backup-once runs before its dumps), so a missing tool or credential is a Warning naming container and label
 * long before a scheduled backup (ours or Backrest's hook) would fail on it. Results are cached
 * per container id and dump labels; a changed container is checked again at once, an unchanged
 * one after `recheckMs`. A stopped container is not checked (its last result, if any, stands).
 */
export class DumpReadiness {
  readonly #deps: DumpReadinessDeps;
  readonly #recheckMs: number;
  readonly #timeoutMs: number;
  readonly #cache = new Map<string, Cached>();

  constructor(deps: DumpReadinessDeps, options: DumpReadinessOptions = {}) {
    this.#deps = deps;
    this.#recheckMs = options.recheckMs ?? 3_600_000;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
  }

  /** undefined: no dump label, or nothing known yet (not running, never checked). */
  async check(
    w: ObservedDumpWorkload,
    signal?: AbortSignal,
  ): Promise<DumpReadinessResult | undefined> {
    const resolved = resolveDump(w.spec, w.name);
    // A refused label never reaches here as a resource (the cache refuses it with its Warning),
    // except what only resolveDump says (sqlite without a file): that is not ready either.
    if (!resolved.ok) {
      const preset = w.spec.dump?.preset;
      if (preset === undefined) return undefined;
      return this.#remember(w, JSON.stringify(w.spec.dump), {
        preset: preset as DumpPresetName,
        ready: false,
        problems: [resolved.message],
      });
    }
    const settings = resolved.settings;
    if (!settings) {
      this.#cache.delete(w.name);
      return undefined;
    }
    const fingerprint = `${w.id}|${JSON.stringify(settings)}`;
    const now = this.#now();
    const cached = this.#cache.get(w.name);
    const recent = cached?.fingerprint === fingerprint && now - cached.checkedAt < this.#recheckMs;
    if (cached && (recent || w.state !== 'running')) {
      return cached.fingerprint === fingerprint ? { ...cached.result, changed: false } : undefined;
    }
    if (w.state !== 'running') return undefined;
    const d = this.#deps;
    if (d.redactor && d.inspectEnv) {
      const env = await d.inspectEnv(w.id).catch(() => undefined);
      learnContainerSecrets(d.redactor, env, settings);
    }
    const problems = (
      await checkDump(
        w.name,
        settings,
        (target, argv, opts) => d.exec(target, argv, { ...opts, timeoutMs: this.#timeoutMs }),
        signal,
      )
    ).map((p) => d.redactor?.redactString(p) ?? p);
    if (signal?.aborted) return undefined;
    return this.#remember(w, fingerprint, {
      preset: settings.preset,
      ready: problems.length === 0,
      problems,
    });
  }

  /** Drops what is known of a workload (its container is gone). */
  forget(name: string): void {
    this.#cache.delete(name);
  }

  #remember(
    w: ObservedDumpWorkload,
    fingerprint: string,
    result: Omit<DumpReadinessResult, 'changed'>,
  ): DumpReadinessResult {
    const prev = this.#cache.get(w.name);
    this.#cache.set(w.name, { fingerprint, checkedAt: this.#now(), result });
    // The caller warns once per change, not on every resync.
    const same =
      prev?.fingerprint === fingerprint &&
      prev.result.ready === result.ready &&
      prev.result.problems.join('\n') === result.problems.join('\n');
    return { ...result, changed: !same };
  }

  #now(): number {
    return this.#deps.now?.() ?? Date.now();
  }
}

/**
 * The result as the workload's `DumpReady` condition (True `ToolsFound` / False `DumpNotReady`,
 * naming what is missing) and, when it changed, an event in its status file for `describe`.
 */
export function applyDumpReadiness(
  store: Pick<WorkloadStatusStore, 'applyCondition' | 'applyEvent'>,
  status: WorkloadStatus,
  r: DumpReadinessResult,
): void {
  const message = r.ready
    ? `backrest.dump=${r.preset}: the dump tool and its credential are in the container`
    : r.problems.join('; ');
  store.applyCondition(status, {
    type: WorkloadConditions.DumpReady,
    status: r.ready ? 'True' : 'False',
    reason: r.ready ? 'ToolsFound' : 'DumpNotReady',
    message,
  });
  if (r.changed && !r.ready) {
    for (const p of r.problems) store.applyEvent(status, 'Warning', 'DumpNotReady', p);
  }
}
