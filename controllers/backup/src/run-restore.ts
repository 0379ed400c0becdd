import { mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';
import { DockerVolumeActions, type ContainerActions, type DockerClient } from '@dockop/docker';
import {
  createNullLogger,
  makeKey,
  SecretRedactor,
  type EventRecorder,
  type Logger,
  type Redactor,
} from '@dockop/runtime';
import { BACKUP_WORKLOAD_KIND, dumpPreset, type WorkloadStatusStore } from '@backrest-sidecar/api';
import { learnContainerSecrets } from './container-secrets.js';
import { dumpFromLabels } from './dump-labels.js';
import { dumpPathIn, isDumpSnapshot, loadDumpLive, loadDumpStopped } from './dump-restore.js';
import { readEnvFile, resticRedactor } from '@backrest-sidecar/restic';
import { DEFAULT_RESTIC_IMAGE } from '@backrest-sidecar/restic';
import { BACKUP_DEFAULTS, checkRunId, newRunId } from './backup-options.js';
import { QuiesceBusyError } from './quiesce-journal.js';
import { quiesceExclusion } from './quiesce-exclusions.js';
import { withQuiesce, type QuiesceOutcome } from './quiesce.js';
import type { RestoreOptions, RestoreReport } from './restore-options.js';
import { planDirectoryRestore, planInPlaceRestore, type RestorePlan } from './restore-plan.js';
import {
  RESTORE_ROOT,
  ScratchVolumes,
  copyFromScratch,
  removeStaleScratch,
  repositoryRunner,
  resticRestore,
  restoreStopSet,
  runLabels,
  snapshotPathIsFile,
} from './restore-steps.js';
import { resolveWorkload } from './workload-ref.js';
import {
  listWorkloadSnapshots,
  pickSnapshot,
  type WorkloadSnapshot,
} from './workload-snapshots.js';
import { stopOrder } from './quiesce-order.js';

export interface RestoreDeps {
  actions: ContainerActions;
  client: DockerClient;
  logger?: Logger;
  recorder?: EventRecorder;
  redactor?: Redactor;
  env?: NodeJS.ProcessEnv;
  /** Where the Restored / RestoreFailed event is kept for `describe workload`. Default: not kept. */
  status?: WorkloadStatusStore;
}

/**
 * `restore WORKLOAD`: one snapshot of the workload back into a directory (`to`) or into its own
 * volumes (`inPlace`). In place, the snapshot is first restored into a scratch volume while the
 * workload keeps running (a broken repository fails here, before anything was touched), then the
 * workload and its dependents are stopped (journaled like a backup-once quiesce, so a crash or
 * SIGTERM still starts them again), the staged data replaces the volumes' contents, and they are
 * started again. Never throws: the report's `exitCode` says 0, 2 (dry run), 3, 1.
 */
export async function runRestore(
  options: RestoreOptions,
  deps: RestoreDeps,
): Promise<RestoreReport> {
  const logger = (deps.logger ?? createNullLogger()).child({ component: 'restore' });
  const redactor = deps.redactor ?? new SecretRedactor();
  const started = performance.now();
  const report: RestoreReport = {
    workload: options.workload,
    mode: options.inPlace ? 'in-place' : 'directory',
    dryRun: options.dryRun === true,
    items: [],
    unmatched: [],
    startedAt: new Date().toISOString(),
    durationMs: 0,
    exitCode: 0,
  };
  const runId = checkRunId(options.runId ?? newRunId());
  const labels = runLabels(options, runId);
  const volumes = new DockerVolumeActions(deps.client);
  const scratch = new ScratchVolumes(volumes, runId, labels, logger);
  let key = makeKey(BACKUP_WORKLOAD_KIND, options.workload);
  // Set once the workload resolved to a container: only then is its status file written.
  let workloadName: string | undefined;
  try {
    if (!options.dryRun) await removeStaleScratch(volumes, logger, Date.now(), deps.actions);
    if (options.inPlace === (options.to !== undefined)) {
      throw new Error('restore needs exactly one of --to DIR and --in-place');
    }
    if (options.to !== undefined && !path.isAbsolute(options.to)) {
      throw new Error(`--to "${options.to}" must be an absolute path on the Docker host`);
    }
    const env = options.rcbEnvFile
      ? await readEnvFile(options.rcbEnvFile, deps.env ?? process.env)
      : {};
    resticRedactor(env, redactor);
    const runner = await repositoryRunner(options, deps.actions, labels, redactor, deps.env);
    const ref = await resolveWorkload(deps.actions, options.workload, {
      ...(options.planIdPrefix ? { planIdPrefix: options.planIdPrefix } : {}),
      ...(options.selector ? { selector: options.selector } : {}),
    });
    if (ref.target) {
      key = makeKey(BACKUP_WORKLOAD_KIND, ref.target.name);
      workloadName = ref.target.name;
    }
    if (options.inPlace && !ref.target) {
      throw new Error(
        `--in-place: no container named "${options.workload}" or with plan id "${options.workload}" (restore --to DIR works without one)`,
      );
    }
    const snaps = await listWorkloadSnapshots(runner, ref, {
      ...(options.resticHost ? { host: options.resticHost } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    // A dump preset: `--in-place` loads the newest dump (or the dump snapshot named) into the
    // database; files snapshots go back as files.
    const dumpLabels = ref.target ? dumpFromLabels(ref.target.labels, ref.target.name) : undefined;
    if (dumpLabels && !dumpLabels.ok) throw new Error(dumpLabels.message);
    const dump = dumpLabels?.ok ? dumpLabels.settings : undefined;
    // Before the restore script's output can be quoted: the database container's secrets.
    if (dump && ref.target) {
      const info = await deps.actions.inspect(ref.target.id).catch(() => undefined);
      learnContainerSecrets(redactor, info?.Config.Env ?? undefined, dump);
    }
    // Ours (`/<name>.<ext>`) or the one Backrest's hook wrote into the plan's dump directory.
    const dumpPath = (s: WorkloadSnapshot): string | undefined =>
      dump === undefined ? undefined : dumpPathIn(s, ref.name, ref.planId, dump.preset);
    const wanted = options.snapshot ?? 'latest';
    const snap = pickSnapshot(
      options.inPlace && dump && wanted === 'latest' && snaps.some((s) => dumpPath(s))
        ? snaps.filter((s) => dumpPath(s))
        : snaps,
      wanted,
      options.workload,
    );
    const loadPath = options.inPlace === true ? dumpPath(snap) : undefined;
    if (loadPath !== undefined && !isDumpSnapshot(snap, ref.name, dump!.preset)) {
      if (!(await snapshotPathIsFile(runner, snap.id, loadPath, options.signal))) {
        throw new Error(
          `snapshot ${snap.shortId} (Backrest's, plan ${ref.planId}) has no ${loadPath}: its dump hook wrote nothing there`,
        );
      }
    }
    const loadDump = loadPath !== undefined ? dump : undefined;
    report.snapshot = {
      id: snap.id,
      shortId: snap.shortId,
      time: snap.time,
      host: snap.host,
      paths: snap.paths,
      tags: snap.tags,
    };
    let plan: RestorePlan;
    if (loadDump) {
      plan = { items: [], unmatched: [] };
      report.dump = {
        preset: loadDump.preset,
        file: loadPath!,
        into: dumpPreset(loadDump.preset).restoreNeedsStopped ? 'stopped' : 'running',
      };
    } else if (options.inPlace) {
      plan = planInPlaceRestore(snap, ref.target!);
      if (plan.items.length === 0) {
        throw new Error(
          `snapshot ${snap.shortId} (${snap.paths.join(', ')}) holds nothing container "${ref.target!.name}" mounts (${ref.target!.mounts.map((m) => m.destination).join(', ') || 'no mounts'})`,
        );
      }
    } else {
      const singleIsFile =
        snap.paths.length === 1 &&
        (await snapshotPathIsFile(runner, snap.id, snap.paths[0]!, options.signal));
      plan = planDirectoryRestore(snap, options.to!, singleIsFile);
    }
    report.items = plan.items;
    report.unmatched = plan.unmatched;
    for (const p of plan.unmatched) {
      logger.warn('restore.unmatched_path', {
        workload: ref.name,
        path: p,
        reason: 'the workload mounts nothing at this snapshot path: it is not restored',
      });
    }

    let stopSet: ReturnType<typeof stopOrder> = [];
    if (options.inPlace) {
      const target = ref.target!;
      const self = quiesceExclusion(target, { backrestContainer: '' });
      if (self?.startsWith('it is the container this sidecar runs in')) {
        throw new Error(
          `container "${target.name}" is the one this sidecar runs in: cannot restore it in place`,
        );
      }
      stopSet = stopOrder(
        (await restoreStopSet(deps.actions, target)).filter(
          (t) =>
            // A dump loads into the running server: only its dependents stop.
            (t.id === target.id && report.dump?.into !== 'running') ||
            (t.id !== target.id &&
              quiesceExclusion(t, {
                backrestContainer: options.backrestContainer ?? BACKUP_DEFAULTS.backrestContainer,
              }) === undefined),
        ),
      );
      report.stopSet = stopSet.filter((t) => t.state === 'running').map((t) => t.name);
    }
    logger.info(options.dryRun ? 'restore.would_restore' : 'restore.starting', {
      workload: ref.name,
      runId,
      snapshot: snap.shortId,
      time: snap.time,
      mode: report.mode,
      items: plan.items.map((i) => ({
        from: i.snapshotPath,
        to: `${i.destination.type} ${i.destination.source}${i.subPath ? `/${i.subPath}` : ''}`,
        ...(i.containerPath ? { containerPath: i.containerPath } : {}),
      })),
      ...(report.stopSet ? { stop: report.stopSet } : {}),
      ...(report.dump ? { dump: report.dump } : {}),
    });
    if (options.dryRun) {
      report.exitCode = 2;
      return report;
    }

    if (!options.inPlace) {
      await prepareDirectory(options.to!);
      const root = plan.root ?? '/';
      await resticRestore(
        runner,
        snap.id,
        [
          {
            type: 'bind',
            source: options.to!,
            target: `${RESTORE_ROOT}${root === '/' ? '' : root}`,
            readOnly: false,
          },
        ],
        [],
        options.signal,
      );
    } else {
      const staged = await scratch.create('restore');
      // Download first, with the workload still running: a damaged repository fails here.
      await resticRestore(
        runner,
        snap.id,
        [{ type: 'volume', source: staged, target: RESTORE_ROOT, readOnly: false }],
        loadDump ? [loadPath!] : plan.items.map((i) => i.snapshotPath),
        options.signal,
      );
      logger.info('restore.staged', { workload: ref.name, snapshot: snap.shortId, volume: staged });
      const outcome: QuiesceOutcome = { stopped: [], stopFailed: [], started: [], startFailed: [] };
      report.quiesce = outcome;
      await withQuiesce(
        deps.actions,
        {
          label: '',
          targets: stopSet,
          stopTimeoutSec: options.stopTimeoutSec ?? BACKUP_DEFAULTS.stopTimeoutSec,
          stateDir: options.stateDir ?? BACKUP_DEFAULTS.stateDir,
          runId,
          logger,
          outcome,
          ...(options.signal ? { signal: options.signal } : {}),
        },
        async () => {
          if (outcome.stopFailed.length > 0) {
            throw new Error(
              `not restored: ${outcome.stopFailed.map((f) => `${f.name} (${f.error})`).join(', ')} did not stop`,
            );
          }
          if (loadDump) {
            const common = {
              scratch: staged,
              snapshotPath: loadPath!,
              settings: loadDump,
              labels,
              ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
            };
            if (report.dump?.into === 'running') {
              await loadDumpLive(deps.client, {
                ...common,
                image: options.resticImage ?? DEFAULT_RESTIC_IMAGE,
                container: ref.target!.id,
              });
            } else {
              await loadDumpStopped(deps.actions, { ...common, target: ref.target! });
            }
            return;
          }
          const copy = await copyFromScratch(
            deps.actions,
            options.resticImage ?? DEFAULT_RESTIC_IMAGE,
            staged,
            plan.items,
            labels,
            options.timeoutMs,
          );
          if (copy.exitCode !== 0) {
            throw new Error(
              `copying the restored data into place exited with ${copy.exitCode}: ${copy.output}`,
            );
          }
        },
      );
    }
    report.exitCode = report.quiesce && report.quiesce.startFailed.length > 0 ? 3 : 0;
    logger.info('restore.done', {
      workload: ref.name,
      snapshot: snap.shortId,
      mode: report.mode,
      ...(report.quiesce
        ? { stopped: report.quiesce.stopped, started: report.quiesce.started }
        : {}),
      exitCode: report.exitCode,
    });
    await recordEvent(
      deps,
      key,
      workloadName,
      report.exitCode === 0 ? 'Normal' : 'Warning',
      'Restored',
      `snapshot ${snap.shortId} of ${snap.time} restored ${options.inPlace ? 'in place' : `into ${options.to}`}${report.exitCode === 3 ? `; not started again: ${report.quiesce!.startFailed.map((f) => f.name).join(', ')}` : ''}`,
      logger,
    );
  } catch (err) {
    const e = err as Error;
    report.fatal = redactor.redactString(
      err instanceof QuiesceBusyError
        ? e.message
        : options.signal?.aborted
          ? `aborted: ${e.message}`
          : e.message,
    );
    report.exitCode = 1;
    logger.error('restore.failed', { workload: options.workload, error: report.fatal });
    await recordEvent(deps, key, workloadName, 'Warning', 'RestoreFailed', report.fatal, logger);
  } finally {
    await scratch.removeAll();
    report.durationMs = performance.now() - started;
  }
  return report;
}

/** The event, on the recorder and in the workload's status file (`describe workload` shows it). */
async function recordEvent(
  deps: RestoreDeps,
  key: string,
  name: string | undefined,
  type: 'Normal' | 'Warning',
  reason: string,
  message: string,
  logger: Logger,
): Promise<void> {
  deps.recorder?.event(key, type, reason, message);
  const store = deps.status;
  if (!store || name === undefined) return;
  try {
    store.fileOf(name);
    await store.update(name, (s) => store.applyEvent(s, type, reason, message));
  } catch (err) {
    logger.debug('restore.status_not_recorded', { workload: name, error: (err as Error).message });
  }
}

/** `--to DIR`: created when missing; refused when it already holds files (nothing is merged). */
async function prepareDirectory(dir: string): Promise<void> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      await mkdir(dir, { recursive: true });
      return;
    }
    if (code === 'EACCES' || code === 'EPERM') return; // not ours to see: the engine decides
    throw err;
  }
  if (entries.length > 0) {
    throw new Error(
      `--to ${dir} is not empty (${entries.length} entries): restore into an empty or new directory`,
    );
  }
}
