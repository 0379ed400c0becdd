import { DockerVolumeActions, type ContainerActions, type DockerClient } from '@dockop/docker';
import {
  createNullLogger,
  makeKey,
  SecretRedactor,
  type EventRecorder,
  type Logger,
  type Redactor,
} from '@dockop/runtime';
import {
  BACKUP_WORKLOAD_KIND,
  DEFAULT_PLAN_ID_PREFIX,
  dumpPreset,
  partitionSafeTargets,
  type DumpSettings,
  type WorkloadStatusStore,
} from '@backrest-sidecar/api';
import {
  DEFAULT_RESTIC_IMAGE,
  readEnvFile,
  resticRedactor,
  runResticChecked,
  type ResticRunner,
} from '@backrest-sidecar/restic';
import { BACKUP_DEFAULTS, checkRunId, newRunId } from './backup-options.js';
import { listBackupWorkloads } from './backup-workloads.js';
import { nextReadDataSubset } from './read-data-subset.js';
import {
  RESTORE_ROOT,
  ScratchVolumes,
  removeStaleScratch,
  repositoryRunner,
  resticRestore,
  runLabels,
  snapshotPathIsFile,
} from './restore-steps.js';
import {
  LIST_TREE_SCRIPT,
  compareTrees,
  describeDifference,
  parseListing,
  parseLsOutput,
  type Tree,
} from './tree-compare.js';
import {
  VERIFY_DEFAULTS,
  type VerifyCheck,
  type VerifyOptions,
  type VerifyReport,
  type WorkloadVerifyResult,
} from './verify-options.js';
import type { VerifyMetrics } from './verify-metrics.js';
import { recordVerifyResult } from './verify-status.js';
import { resolveWorkload, workloadRef, type WorkloadRef } from './workload-ref.js';
import { listWorkloadSnapshots, type WorkloadSnapshot } from './workload-snapshots.js';
import { learnContainerSecrets } from './container-secrets.js';
import { dumpFromLabels } from './dump-labels.js';
import { dumpPathIn, isDumpSnapshot, probeDumpInThrowaway } from './dump-restore.js';

export interface VerifyDeps {
  actions: ContainerActions;
  client: DockerClient;
  logger?: Logger;
  recorder?: EventRecorder;
  redactor?: Redactor;
  env?: NodeJS.ProcessEnv;
  /** Where each result becomes the workload's `Verified` condition. Default: not recorded. */
  status?: WorkloadStatusStore;
  metrics?: VerifyMetrics;
}

/**
 * `verify`: a restore drill per workload. The repository is checked first, once per run
 * (`restic check --read-data-subset n/t`, a rotating slice); when the check fails every drill
 * fails at once without restoring (see {@link notAttempted}). Else the latest snapshot is
 * restored into a scratch volume (restic authenticates every blob it reads, `--verify` re-reads
 * the restored files) and the restored tree is compared with the snapshot's own listing
 * (`restic ls --json`: every path, type and file size). Everything it creates is removed, also on
 * failure or abort. Each result becomes the workload's `Verified` condition, an event and the
 * last-verified metric. Never throws: the report's `exitCode` says 0, 3 or 1.
 */
export async function runVerify(options: VerifyOptions, deps: VerifyDeps): Promise<VerifyReport> {
  const logger = (deps.logger ?? createNullLogger()).child({ component: 'verify' });
  const redactor = deps.redactor ?? new SecretRedactor();
  const started = performance.now();
  const report: VerifyReport = {
    startedAt: new Date().toISOString(),
    durationMs: 0,
    workloads: [],
    exitCode: 0,
  };
  try {
    const runId = checkRunId(options.runId ?? newRunId());
    const labels = runLabels(options, runId);
    const env = options.rcbEnvFile
      ? await readEnvFile(options.rcbEnvFile, deps.env ?? process.env)
      : {};
    resticRedactor(env, redactor);
    const runner = await repositoryRunner(options, deps.actions, labels, redactor, deps.env);
    await removeStaleScratch(
      new DockerVolumeActions(deps.client),
      logger,
      Date.now(),
      deps.actions,
    );
    const refs = await workloadsToVerify(options, deps.actions, logger);
    if (refs.length === 0) throw new Error('no workload to verify');
    const checkStarted = performance.now();
    report.repository = await checkRepository(runner, options, logger, redactor, runId);
    const checkMs = performance.now() - checkStarted;
    for (const ref of refs) {
      if (options.signal?.aborted) break;
      const result = report.repository.ok
        ? await drill(ref, runner, options, deps, labels, runId, logger, redactor)
        : notAttempted(ref, checkMs);
      result.checks.push(report.repository);
      if (!report.repository.ok) result.passed = false;
      report.workloads.push(result);
      logger[result.passed ? 'info' : 'error'](result.passed ? 'verify.passed' : 'verify.failed', {
        workload: result.workload,
        ...(result.snapshot ? { snapshot: result.snapshot.shortId } : {}),
        durationMs: Math.round(result.durationMs),
        checks: result.checks.map((c) => `${c.name}: ${c.ok ? 'ok' : 'FAILED'}: ${c.detail}`),
        ...(result.error ? { error: result.error } : {}),
        ...(result.notAttempted ? { notAttempted: result.notAttempted } : {}),
      });
      await publish(result, ref, deps, logger);
    }
  } catch (err) {
    report.fatal = redactor.redactString(
      options.signal?.aborted ? `aborted: ${(err as Error).message}` : (err as Error).message,
    );
    logger.error('verify.fatal', { error: report.fatal });
  }
  report.durationMs = performance.now() - started;
  const failed = report.workloads.filter((w) => !w.passed).length;
  report.exitCode =
    report.fatal !== undefined && report.workloads.length === 0
      ? 1
      : failed > 0 || report.fatal !== undefined
        ? 3
        : 0;
  return report;
}

async function workloadsToVerify(
  options: VerifyOptions,
  actions: ContainerActions,
  logger: Logger,
): Promise<WorkloadRef[]> {
  const prefix = options.planIdPrefix ?? DEFAULT_PLAN_ID_PREFIX;
  if (options.all) {
    const { safe, refused } = partitionSafeTargets(
      await listBackupWorkloads(actions, options.selector),
    );
    for (const r of refused)
      logger.warn('verify.unsafe_name', { container: r.target.name, error: r.message });
    return safe.map((t) => workloadRef(t.name, t, prefix));
  }
  const out: WorkloadRef[] = [];
  for (const w of options.workloads ?? []) {
    out.push(
      await resolveWorkload(actions, w, {
        planIdPrefix: prefix,
        ...(options.selector ? { selector: options.selector } : {}),
      }),
    );
  }
  return out;
}

/**
 * `restic check [--read-data-subset n/t]`, once per run and before any restore: the repository's
 * structure and a slice of its packs. Its detail quotes restic's output: redacted here.
 */
async function checkRepository(
  runner: ResticRunner,
  options: VerifyOptions,
  logger: Logger,
  redactor: Redactor,
  runId: string,
): Promise<VerifyCheck> {
  const parts = options.readDataParts ?? VERIFY_DEFAULTS.readDataParts;
  const subset =
    parts > 0
      ? await nextReadDataSubset(options.stateDir ?? BACKUP_DEFAULTS.stateDir, parts)
      : undefined;
  const args = ['check', ...(subset ? ['--read-data-subset', subset] : [])];
  // runId: the value of RUN_LABEL on the check's one-shot (a drill may never start).
  logger.info('verify.check', { subset: subset ?? 'none', runId });
  const res = await runner.run(args, options.signal ? { signal: options.signal } : {});
  const what = subset ? `restic check --read-data-subset ${subset}` : 'restic check';
  if (res.exitCode === 0) return { name: 'repository', ok: true, detail: `${what}: no errors` };
  const lines = `${res.stdout}\n${res.stderr}`
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => /error|not|missing|fatal/i.test(l));
  return {
    name: 'repository',
    ok: false,
    detail: redactor.redactString(
      `${what} exited with ${res.exitCode}: ${lines.slice(0, 3).join(' | ') || 'no message'}`,
    ),
  };
}

/** Why a drill is not attempted after the repository check failed (the condition's message). */
export const NOT_ATTEMPTED_CHECK_FAILED =
  'restore not attempted because the repository check failed';

/**
 * The failed result of a workload whose drill is not attempted: the repository check failed, so
 * the repository is damaged. A restore could not pass (the verdict is FAILED anyway), and on a
 * missing pack restic 0.14 retries every read of it for minutes before it gives up (its retries
 * cannot be bounded by an option): the check's verdict comes in seconds instead.
 */
function notAttempted(ref: WorkloadRef, checkMs: number): WorkloadVerifyResult {
  return {
    workload: ref.name,
    passed: false,
    checks: [],
    time: new Date().toISOString(),
    durationMs: checkMs,
    notAttempted: NOT_ATTEMPTED_CHECK_FAILED,
  };
}

async function drill(
  ref: WorkloadRef,
  runner: ResticRunner,
  options: VerifyOptions,
  deps: VerifyDeps,
  labels: Record<string, string>,
  runId: string,
  logger: Logger,
  redactor: Redactor,
): Promise<WorkloadVerifyResult> {
  const started = performance.now();
  const result: WorkloadVerifyResult = {
    workload: ref.name,
    passed: false,
    checks: [],
    time: '',
    durationMs: 0,
  };
  const scratch = new ScratchVolumes(new DockerVolumeActions(deps.client), runId, labels, logger);
  const signal = options.signal;
  try {
    const snaps = await listWorkloadSnapshots(runner, ref, {
      ...(options.resticHost ? { host: options.resticHost } : {}),
      ...(signal ? { signal } : {}),
    });
    // A dump preset's workload has dump snapshots (`/<name>.<ext>`) next to its files ones.
    const dumpLabels = ref.target ? dumpFromLabels(ref.target.labels, ref.target.name) : undefined;
    const dump = dumpLabels?.ok ? dumpLabels.settings : undefined;
    const isDump = (s: { paths: string[] }): boolean =>
      dump !== undefined && isDumpSnapshot(s, ref.name, dump.preset);
    // The newest snapshot holding the dump: ours, or Backrest's with its hook's dump directory.
    const dumpSnap = snaps
      .filter((s) => dump !== undefined && dumpPathIn(s, ref.name, ref.planId, dump.preset))
      .at(-1);
    const snap = snaps.filter((s) => !isDump(s)).at(-1) ?? dumpSnap;
    if (!snap) throw new Error(`no snapshot of workload "${ref.name}" in the repository`);
    result.snapshot = { id: snap.id, shortId: snap.shortId, time: snap.time };
    logger.info('verify.starting', {
      workload: ref.name,
      snapshot: snap.shortId,
      time: snap.time,
      // The value of RUN_LABEL on everything the drill creates (to find leftovers after kill -9).
      runId,
    });

    const volume = await scratch.create('verify');
    const restoreStarted = performance.now();
    try {
      await resticRestore(
        withVerify(runner),
        snap.id,
        [{ type: 'volume', source: volume, target: RESTORE_ROOT, readOnly: false }],
        [],
        signal,
      );
      result.checks.push({
        name: 'restore',
        ok: true,
        detail: `restic restore --verify of ${snap.shortId} (${snap.time}) into a scratch volume in ${seconds(performance.now() - restoreStarted)}`,
      });
    } catch (err) {
      result.checks.push({ name: 'restore', ok: false, detail: (err as Error).message });
      return result;
    }

    const ls = await runResticChecked(runner, ['ls', '--json', snap.id], signal ? { signal } : {});
    const expected = parseLsOutput(ls.stdout);
    const listing = await listRestoredTree(deps.actions, options, volume, labels, signal);
    const diff = compareTrees(expected, listing);
    const problems = describeDifference(diff);
    result.checks.push({
      name: 'tree',
      ok: problems === '',
      detail:
        problems === ''
          ? `${diff.files} files (${diff.bytes} B) and ${expected.size - diff.files} other entries match restic ls`
          : `restored tree differs from restic ls: ${problems}`,
    });
    if (dumpLabels && !dumpLabels.ok) {
      result.checks.push({ name: 'dump', ok: false, detail: dumpLabels.message });
    } else if (dump && ref.target) {
      result.checks.push(
        await drillDump(ref, dump, dumpSnap, snap === dumpSnap ? volume : undefined, {
          runner,
          options,
          deps,
          labels,
          scratch,
          redactor,
        }),
      );
    }
  } catch (err) {
    result.error = (err as Error).message;
  } finally {
    await scratch.removeAll();
    // Details quote tools' output (restic, the throwaway's probe): masked before anyone sees them.
    for (const c of result.checks) c.detail = redactor.redactString(c.detail);
    if (result.error !== undefined) result.error = redactor.redactString(result.error);
    result.durationMs = performance.now() - started;
    result.time = new Date().toISOString();
    result.passed =
      result.error === undefined && result.checks.length > 0 && result.checks.every((c) => c.ok);
  }
  return result;
}

/**
 * The dump part of a drill: the newest dump snapshot restored (into `staged`, or a scratch volume
 * of its own), loaded into a throwaway server from the workload's image, probed.
 */
async function drillDump(
  ref: WorkloadRef,
  dump: DumpSettings,
  dumpSnap: WorkloadSnapshot | undefined,
  staged: string | undefined,
  ctx: {
    runner: ResticRunner;
    options: VerifyOptions;
    deps: VerifyDeps;
    labels: Record<string, string>;
    scratch: ScratchVolumes;
    redactor: Redactor;
  },
): Promise<VerifyCheck> {
  const label = `backrest.dump=${dump.preset}`;
  if (!dumpSnap) {
    return { name: 'dump', ok: false, detail: `${label}: no dump snapshot in the repository` };
  }
  const dumpPath = dumpPathIn(dumpSnap, ref.name, ref.planId, dump.preset)!;
  try {
    if (
      !isDumpSnapshot(dumpSnap, ref.name, dump.preset) &&
      !(await snapshotPathIsFile(ctx.runner, dumpSnap.id, dumpPath, ctx.options.signal))
    ) {
      return {
        name: 'dump',
        ok: false,
        detail: `${label}: snapshot ${dumpSnap.shortId} (Backrest's) has no ${dumpPath}`,
      };
    }
    let volume = staged;
    if (volume === undefined) {
      volume = await ctx.scratch.create('dump');
      await resticRestore(
        withVerify(ctx.runner),
        dumpSnap.id,
        [{ type: 'volume', source: volume, target: RESTORE_ROOT, readOnly: false }],
        [dumpPath],
        ctx.options.signal,
      );
    }
    const info = await ctx.deps.actions.inspect(ref.target!.id);
    // The throwaway gets the workload's environment: its secrets are masked in what it prints.
    learnContainerSecrets(ctx.redactor, info.Config.Env ?? undefined, dump);
    const r = await probeDumpInThrowaway(ctx.deps.client, {
      workload: ref.name,
      image: info.Image,
      env: info.Config.Env ?? [],
      scratch: volume,
      snapshotPath: dumpPath,
      settings: dump,
      labels: ctx.labels,
      ...(info.Config.Entrypoint ? { entrypoint: toArgv(info.Config.Entrypoint) } : {}),
      ...(info.Config.Cmd ? { cmd: toArgv(info.Config.Cmd) } : {}),
      ...(info.Config.User ? { user: info.Config.User } : {}),
      probeTimeoutMs: ctx.options.probeTimeoutMs ?? VERIFY_DEFAULTS.probeTimeoutMs,
      ...(ctx.options.signal ? { signal: ctx.options.signal } : {}),
    });
    const how = dumpPreset(dump.preset).restoreNeedsStopped
      ? 'loaded before a throwaway server started on it (no network)'
      : `loaded into a throwaway server (no network) in ${seconds(r.loadMs)}`;
    return {
      name: 'dump',
      ok: true,
      detail: `${label}: dump ${dumpSnap.shortId} ${how}; probe: ${r.count} ${r.meaning}`,
    };
  } catch (err) {
    return { name: 'dump', ok: false, detail: `${label}: ${(err as Error).message}` };
  }
}

/** Docker's Entrypoint/Cmd: an array, or (old API, a string) a shell form. */
function toArgv(v: string[] | string): string[] {
  return Array.isArray(v) ? v : ['/bin/sh', '-c', v];
}

/** The same runner, `restore` with `--verify` (restic re-reads the restored files). */
function withVerify(runner: ResticRunner): ResticRunner {
  return {
    description: runner.description,
    run: (args, opts) => runner.run(args[0] === 'restore' ? [...args, '--verify'] : args, opts),
  };
}

async function listRestoredTree(
  actions: ContainerActions,
  options: VerifyOptions,
  volume: string,
  labels: Record<string, string>,
  signal?: AbortSignal,
): Promise<Tree> {
  const out: string[] = [];
  const err: string[] = [];
  const res = await actions.runOneShot(
    {
      image: options.resticImage ?? DEFAULT_RESTIC_IMAGE,
      entrypoint: ['sh'],
      cmd: ['-c', LIST_TREE_SCRIPT, 'list-tree', RESTORE_ROOT],
      mounts: [{ type: 'volume', source: volume, target: RESTORE_ROOT, readOnly: true }],
      labels,
    },
    {
      ...(signal ? { signal } : {}),
      onLog: (line, stream) => (stream === 'stdout' ? out : err).push(line),
    },
  );
  if (res.exitCode !== 0) {
    throw new Error(
      `listing the restored tree exited with ${res.exitCode}: ${err.slice(-3).join(' | ')}`,
    );
  }
  return parseListing(out.join('\n'));
}

async function publish(
  result: WorkloadVerifyResult,
  ref: WorkloadRef,
  deps: VerifyDeps,
  logger: Logger,
): Promise<void> {
  const key = makeKey(BACKUP_WORKLOAD_KIND, ref.name);
  const summary = summarize(result);
  deps.recorder?.event(
    key,
    result.passed ? 'Normal' : 'Warning',
    result.passed ? 'Verified' : 'VerifyFailed',
    summary,
  );
  if (result.passed) deps.metrics?.verified(ref.name, Date.parse(result.time) / 1000);
  if (deps.status) {
    try {
      await recordVerifyResult(deps.status, result, summary);
    } catch (err) {
      logger.warn('verify.status_failed', { workload: ref.name, error: (err as Error).message });
    }
  }
}

/** The condition's and event's message: snapshot, what was checked, duration. */
export function summarize(r: WorkloadVerifyResult): string {
  const snap = r.snapshot
    ? `snapshot ${r.snapshot.shortId} of ${r.snapshot.time}`
    : (r.notAttempted ?? 'no snapshot');
  const checks = r.checks
    .map((c) => `${c.name} ${c.ok ? 'ok' : 'FAILED'} (${c.detail})`)
    .join('; ');
  // Not "passed: …": a `pass…: value` reads as a secret to the redactor.
  return `restore drill ${r.passed ? 'OK' : 'FAILED'}, ${snap}${checks ? `; ${checks}` : ''}${r.error ? `; error: ${r.error}` : ''}; took ${seconds(r.durationMs)}`;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
