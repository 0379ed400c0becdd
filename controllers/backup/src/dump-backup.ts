import { PassThrough } from 'node:stream';
import type { ExecOptions, ExecResult } from '@dockop/docker';
import {
  makeKey,
  showLabelValue,
  type EventRecorder,
  type Logger,
  type Redactor,
} from '@dockop/runtime';
import {
  BACKUP_WORKLOAD_KIND,
  checkArgv,
  describeUnmet,
  dumpFileName,
  dumpRequirements,
  presetArgv,
  unmetRequirements,
  type DumpSettings,
  type WorkloadLabelTrust,
  type WorkloadTarget,
} from '@backrest-sidecar/api';
import {
  parseBackupLine,
  type ResticBackupSummary,
  type ResticRunner,
} from '@backrest-sidecar/restic';
import { learnContainerSecrets } from './container-secrets.js';
import { dumpFromLabels } from './dump-labels.js';

/** `docker exec` as the dump step uses it (execInContainer bound to a client; a fake in unit tests). */
export type ExecFn = (target: string, argv: string[], opts: ExecOptions) => Promise<ExecResult>;

/** One workload's dump, streamed into its own restic snapshot (`/<workload>.<ext>`). */
export interface DumpOutcome {
  container: string;
  settings?: DumpSettings;
  /** `<workload>.<ext>`, the snapshot's only file. */
  file?: string;
  status: 'ok' | 'failed';
  snapshotId?: string;
  /** Bytes the dump tool wrote. */
  bytes?: number;
  durationMs: number;
  error?: string;
}

export interface DumpRunOptions {
  /** restic `--host`, the same as the file backups'. */
  host: string;
  /** Tags of each workload's snapshots (`workloadTags`), the same as the file backups'. */
  tagsFor: (target: WorkloadTarget) => string[];
  /** Labels on restic's one-shot containers. */
  labels: Record<string, string>;
  signal?: AbortSignal;
  /** Deadline of one dump's `docker exec`, ms. Default: execInContainer's (6 h). */
  timeoutMs?: number;
}

export interface DumpRunDeps {
  exec: ExecFn;
  /**
   * Which labels may steer the dump: `backrest.dump.args` and `.only` set by an image (not the
   * container) are dropped with a Warning unless trusted. Default: every label trusted.
   */
  trust?: WorkloadLabelTrust;
  runner: ResticRunner;
  logger: Logger;
  recorder?: EventRecorder;
  /**
   * Learns each database container's secrets (`learnContainerSecrets`, from `inspectEnv`) and
   * masks them in every message: a tool's stderr is quoted in errors. Default: messages as they are.
   */
  redactor?: Redactor;
  /** The container's environment (`docker inspect` Config.Env). Default: not read. */
  inspectEnv?: (container: string) => Promise<readonly string[] | undefined>;
}

/**
 * The dump presets of `backup-once --engine restic`, before any file backup (and before quiesce
 * stops anything: a dump needs its database running):
 *
 * 1. every dump-labelled target's labels are decoded and its requirements checked with
 *    `docker exec` (tool present, credential variable set); a bad label or an unmet requirement
 *    is a Warning naming container and label, and that workload's backup fails: none is taken
 *    silently without its dump;
 * 2. each ready dump is streamed into `restic backup --stdin --stdin-filename <workload>.<ext>`
 *    with the workload's tags and host (no temp file). restic's stdin is ended only after the
 *    dump exited 0 with some output; otherwise restic is killed first, so a cut-off dump never
 *    becomes a snapshot.
 */
export async function runDumps(
  targets: readonly WorkloadTarget[],
  options: DumpRunOptions,
  deps: DumpRunDeps,
): Promise<Map<string, DumpOutcome>> {
  const out = new Map<string, DumpOutcome>();
  const ready: { target: WorkloadTarget; settings: DumpSettings }[] = [];
  const clean = (s: string): string => deps.redactor?.redactString(s) ?? s;
  for (const target of targets) {
    if (!hasDumpLabel(target.labels)) continue;
    const key = makeKey(BACKUP_WORKLOAD_KIND, target.name);
    // What an image's LABEL must not decide alone: the tool's options, leaving the data out.
    const untrusted = deps.trust
      ? await deps.trust.untrusted(target, [...SENSITIVE_DUMP_LABELS])
      : [];
    let labels = target.labels;
    if (untrusted.length > 0) {
      labels = Object.fromEntries(
        Object.entries(target.labels).filter(([k]) => !untrusted.includes(k)),
      );
      const message = `container ${target.name}: ignoring ${untrusted.join(', ')} set by the image (not the container); pass --trust-image-labels to use it`;
      deps.logger.warn('dump.untrusted_labels', { container: target.name, labels: untrusted });
      deps.recorder?.event(key, 'Warning', 'UntrustedLabel', message);
    }
    const resolved = dumpFromLabels(labels, target.name);
    if (resolved.ok && resolved.settings === undefined) continue;
    if (!resolved.ok) {
      out.set(target.name, {
        container: target.name,
        status: 'failed',
        durationMs: 0,
        error: resolved.message,
      });
      deps.logger.warn('dump.invalid_labels', { container: target.name, error: resolved.message });
      deps.recorder?.event(key, 'Warning', 'InvalidDumpLabel', resolved.message);
      continue;
    }
    const settings = resolved.settings!;
    if (deps.redactor && deps.inspectEnv) {
      // Before any output of the container is read. A container that can't be inspected fails
      // the check below anyway.
      const env = await deps.inspectEnv(target.id).catch(() => undefined);
      learnContainerSecrets(deps.redactor, env, settings);
    }
    const problems = (await checkDump(target.name, settings, deps.exec, options.signal)).map(clean);
    if (problems.length > 0) {
      const error = problems.join('; ');
      out.set(target.name, {
        container: target.name,
        settings,
        status: 'failed',
        durationMs: 0,
        error,
      });
      deps.logger.warn('dump.not_ready', {
        container: target.name,
        preset: settings.preset,
        problems,
      });
      for (const p of problems) deps.recorder?.event(key, 'Warning', 'DumpNotReady', p);
      continue;
    }
    ready.push({ target, settings });
  }
  for (const { target, settings } of ready) {
    const outcome = await dumpToRestic(target, settings, options, deps);
    if (outcome.error !== undefined) outcome.error = clean(outcome.error);
    out.set(target.name, outcome);
    const key = makeKey(BACKUP_WORKLOAD_KIND, target.name);
    if (outcome.status === 'ok') {
      deps.logger.info('dump.backed_up', {
        container: target.name,
        preset: settings.preset,
        file: outcome.file,
        bytes: outcome.bytes,
        snapshot: outcome.snapshotId,
        durationMs: Math.round(outcome.durationMs),
      });
      deps.recorder?.event(
        key,
        'Normal',
        'DumpBackedUp',
        `snapshot ${outcome.snapshotId} of ${outcome.file} (${outcome.bytes} bytes, backrest.dump=${settings.preset})`,
      );
    } else {
      deps.logger.error('dump.failed', {
        container: target.name,
        preset: settings.preset,
        error: outcome.error,
      });
      deps.recorder?.event(key, 'Warning', 'DumpFailed', outcome.error ?? 'dump failed');
    }
  }
  return out;
}

/**
 * The requirement check (`docker exec … sh -c 'command -v …'`): one sentence per unmet
 * requirement, naming container and label; a container that can't be exec'd (stopped, gone)
 * is one problem too.
 */
export async function checkDump(
  container: string,
  settings: DumpSettings,
  exec: ExecFn,
  signal?: AbortSignal,
): Promise<string[]> {
  const requirements = dumpRequirements(settings);
  try {
    const r = await exec(container, checkArgv(requirements), {
      timeoutMs: 30_000,
      ...(signal ? { signal } : {}),
    });
    if (r.exitCode !== 0) {
      return [
        `container ${container}: backrest.dump=${settings.preset}: the requirement check exited with ${r.exitCode} (${lastLines(r.stderr)})`,
      ];
    }
    return unmetRequirements(requirements, r.stdout).map((u) => describeUnmet(container, u));
  } catch (err) {
    return [
      `container ${container}: backrest.dump=${settings.preset}: cannot run docker exec: ${(err as Error).message}`,
    ];
  }
}

async function dumpToRestic(
  target: WorkloadTarget,
  settings: DumpSettings,
  options: DumpRunOptions,
  deps: DumpRunDeps,
): Promise<DumpOutcome> {
  const started = performance.now();
  const file = dumpFileName(target.name, settings.preset);
  const base: Omit<DumpOutcome, 'status' | 'durationMs'> = {
    container: target.name,
    settings,
    file,
  };
  const label = `backrest.dump=${settings.preset}`;
  // Never ended unless the dump succeeded: restic reads EOF only for a complete dump.
  const toRestic = new PassThrough({ highWaterMark: 1024 * 1024 });
  const controller = new AbortController();
  const onAbort = (): void => controller.abort(options.signal?.reason);
  if (options.signal?.aborted) onAbort();
  else options.signal?.addEventListener('abort', onAbort, { once: true });
  let summary: ResticBackupSummary | undefined;
  let execDone = false;
  const args = [
    'backup',
    '--stdin',
    '--stdin-filename',
    file,
    '--json',
    '--host',
    options.host,
    ...options.tagsFor(target).flatMap((t) => ['--tag', t]),
  ];
  const restic = deps.runner
    .run(args, {
      stdin: toRestic,
      labels: options.labels,
      signal: controller.signal,
      onStdoutLine: (line) => {
        const m = parseBackupLine(line);
        if (m?.message_type === 'summary') summary = m;
      },
    })
    .then(
      (r) => {
        // restic gave up before the dump ended: stop feeding it.
        if (!execDone)
          controller.abort(new Error(`restic exited with ${r.exitCode} during the dump`));
        return r;
      },
      (err: unknown) => {
        if (!execDone) controller.abort(err);
        throw err;
      },
    );
  restic.catch(() => {});
  let dumpError: string | undefined;
  let bytes = 0;
  try {
    const r = await deps.exec(target.name, presetArgv('dump', settings), {
      stdout: toRestic,
      signal: controller.signal,
      ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
    });
    bytes = r.stdoutBytes;
    if (r.exitCode !== 0) {
      dumpError = `container ${target.name}: ${label}: the dump exited with ${r.exitCode}: ${lastLines(r.stderr)}`;
    } else if (r.stdoutBytes === 0) {
      dumpError = `container ${target.name}: ${label}: the dump exited 0 but wrote nothing`;
    }
  } catch (err) {
    dumpError = `container ${target.name}: ${label}: ${(err as Error).message}`;
  }
  execDone = true;
  if (dumpError === undefined && !controller.signal.aborted) toRestic.end();
  else controller.abort(new Error(dumpError ?? 'aborted'));
  options.signal?.removeEventListener('abort', onAbort);
  try {
    const res = await restic;
    const durationMs = performance.now() - started;
    if (dumpError !== undefined)
      return { ...base, status: 'failed', bytes, durationMs, error: dumpError };
    if (res.exitCode !== 0 || !summary) {
      return {
        ...base,
        status: 'failed',
        bytes,
        durationMs,
        error: `container ${target.name}: ${label}: restic backup --stdin exited with ${res.exitCode}: ${lastLines(res.stderr)}`,
      };
    }
    return { ...base, status: 'ok', bytes, durationMs, snapshotId: summary.snapshot_id };
  } catch (err) {
    return {
      ...base,
      status: 'failed',
      bytes,
      durationMs: performance.now() - started,
      error:
        dumpError ??
        `container ${target.name}: ${label}: restic backup --stdin failed: ${(err as Error).message}`,
    };
  }
}

/**
 * `--engine rcb`: restic-compose-backup runs no `backrest.dump` preset (it dumps only databases
 * carrying its own `restic-compose-backup.postgres|mysql|mariadb` labels), so each dump-labelled
 * workload is a Warning naming container and label every run: its volumes are backed up without
 * the dump, never silently. Returns the messages.
 */
export function warnDumpsNotRun(
  targets: readonly WorkloadTarget[],
  engine: string,
  deps: { logger: Logger; recorder?: EventRecorder },
): string[] {
  const out: string[] = [];
  for (const t of targets) {
    if (!Object.hasOwn(t.labels, 'backrest.dump')) continue;
    const preset = showLabelValue('backrest.dump', t.labels['backrest.dump'] ?? '');
    const message = `container ${t.name}: label backrest.dump=${preset} is not run by --engine ${engine} (restic-compose-backup dumps only containers with its own restic-compose-backup.postgres/mysql/mariadb labels): its volumes are backed up without the dump; use --engine restic, or Backrest plans with --dump-dir`;
    out.push(message);
    deps.logger.warn('dump.not_run', { container: t.name, engine, error: message });
    deps.recorder?.event(makeKey(BACKUP_WORKLOAD_KIND, t.name), 'Warning', 'DumpNotRun', message);
  }
  return out;
}

const SENSITIVE_DUMP_LABELS = ['backrest.dump.args', 'backrest.dump.only'] as const;

function hasDumpLabel(labels: Record<string, string>): boolean {
  return Object.keys(labels).some((k) => k === 'backrest.dump' || k.startsWith('backrest.dump.'));
}

function lastLines(text: string): string {
  const lines = text.trim().split('\n').slice(-3).join(' | ');
  return lines || '(no output)';
}
