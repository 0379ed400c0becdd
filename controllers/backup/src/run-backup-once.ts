import {
  ImageLabelTrust,
  execInContainer,
  type ContainerActions,
  type DockerClient,
} from '@dockop/docker';
import {
  createNullLogger,
  SecretRedactor,
  type EventRecorder,
  type Logger,
  type Redactor,
} from '@dockop/runtime';
import {
  ImageWorkloadLabelTrust,
  backupExitCodeOf,
  findPathCollisions,
  groupReplicas,
  partitionSafeTargets,
  warnUnsafeNames,
  type BackupRetention,
  type ForgetReport,
  type WorkloadScheduleRecord,
  type WorkloadStatusStore,
} from '@backrest-sidecar/api';
import {
  ContainerResticRunner,
  readEnvFile,
  resolveResticHost,
  resticRedactor,
} from '@backrest-sidecar/restic';
import {
  BACKUP_DEFAULTS,
  ONE_SHOT_LABEL,
  RUN_LABEL,
  checkRunId,
  newRunId,
  type BackupOnceOptions,
} from './backup-options.js';
import type { BackupOnceReport, WorkloadBackupResult } from './backup-result.js';
import { listBackupWorkloads, workloadTags } from './backup-workloads.js';
import { runDumps, warnDumpsNotRun, type DumpOutcome } from './dump-backup.js';
import { backrestTargets, runBackrestEngine } from './backrest-engine.js';
import {
  RCB_STEP,
  readBackupDurations,
  writeBackupDurations,
  type BackupDurations,
} from './backup-durations.js';
import { Notifiers } from './notify.js';
import { LogProgress, TtyProgress, noProgress, type ProgressReporter } from './progress.js';
import { QuiesceBusyError, repairQuiesceJournal } from './quiesce-journal.js';
import { withQuiesce, type QuiesceOutcome } from './quiesce.js';
import { runRcbEngine } from './rcb-engine.js';
import { runResticEngine } from './restic-engine.js';
import { recordBackupReport } from './backup-status.js';

export interface BackupOnceDeps {
  actions: ContainerActions;
  /** For `docker info` (this host's name, restic `--host`) and image labels (trust). */
  client: DockerClient;
  logger?: Logger;
  recorder?: EventRecorder;
  /** Where a TTY progress bar is drawn. Default process.stderr. */
  progressStream?: NodeJS.WriteStream;
  /** Webhook transport and backoff sleep, injectable for tests. */
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
  /** Process env used for a bare `KEY` in the env file. Default process.env. */
  env?: NodeJS.ProcessEnv;
  /**
   * The logger's redactor: it learns the env file's secret values and masks restic and rcb
   * output, the fatal error and the webhook payload. Default: a new one.
   */
  redactor?: Redactor;
  /**
   * Where each workload's outcome is recorded (its status subresource: last backup or failure,
   * retention, conditions). Default: nowhere.
   */
  status?: WorkloadStatusStore;
  /** Who schedules these runs (Stale window). Default: Backrest owns the schedule (26 h). */
  statusSchedule?: WorkloadScheduleRecord;
  /** Each workload's `metadata.generation` (the daemon's cache): the status' observedGeneration. */
  statusGenerations?: ReadonlyMap<string, number>;
  /**
   * Runs retention after a successful backup (unless `noForget`): the retention controller's
   * BackupRetention. Missing: the report's `forget` says retention is not loaded (exit 3).
   */
  retention?: BackupRetention;
}

/**
 * backup-once: repair a dead run's quiesce journal, stop the quiesce set (journaled), back up
 * with the chosen engine, start the quiesce set again (always), apply retention, notify.
 * Never throws for a failed backup: the report's `exitCode` says 0 ok, 3 partial, 1 fatal.
 */
export async function runBackupOnce(
  options: BackupOnceOptions,
  deps: BackupOnceDeps,
): Promise<BackupOnceReport> {
  const o = { ...BACKUP_DEFAULTS, ...stripUndefined(options) };
  const logger = (deps.logger ?? createNullLogger()).child({ component: 'backup' });
  const redactor = deps.redactor ?? new SecretRedactor();
  const startedAtMs = Date.now();
  const started = performance.now();
  const quiesce: QuiesceOutcome = { stopped: [], stopFailed: [], started: [], startFailed: [] };
  const report: BackupOnceReport = {
    engine: o.engine,
    startedAt: new Date(startedAtMs).toISOString(),
    finishedAt: '',
    durationMs: 0,
    workloads: [],
    quiesce,
    exitCode: 0,
  };
  // Every one-shot of this run (backup and retention) carries the run id the journal records.
  let labels: Record<string, string> = { ...o.oneShotLabels, [ONE_SHOT_LABEL]: 'true' };
  // restic `--host` of the snapshots and of forget: the same stable name for both.
  let host: string | undefined;
  let notifiers: Notifiers | undefined;
  let progress: ProgressReporter = noProgress;
  let durations: BackupDurations | undefined;

  try {
    const runId = checkRunId(o.runId ?? newRunId());
    report.runId = runId;
    labels = { ...labels, [RUN_LABEL]: runId };
    // Parsing registers the URLs' credentials with the redactor before anything is logged.
    notifiers = new Notifiers([...(o.notifyUrl ? [o.notifyUrl] : []), ...(o.notifyUrls ?? [])], {
      attempts: o.notifyAttempts,
      logger,
      redactor,
      ...(deps.fetch ? { fetch: deps.fetch } : {}),
      ...(deps.sleep ? { sleep: deps.sleep } : {}),
    });
    if (notifiers.size > 0) await notifiers.start(runId);
    await repairQuiesceJournal({ stateDir: o.stateDir, actions: deps.actions, logger });
    if (o.engine === 'restic' || !o.noForget) {
      host = await resolveResticHost(deps.client, o.resticHost, deps.env ?? process.env);
      report.resticHost = host;
    }
    const env = o.rcbEnvFile ? await readEnvFile(o.rcbEnvFile, deps.env ?? process.env) : {};
    resticRedactor(env, redactor);
    progress = makeProgress(o, logger, deps.progressStream ?? process.stderr);
    const history = (durations = await readBackupDurations(o.stateDir))[o.engine] ?? {};
    const stepsOf = (names: string[]) =>
      names.map((name) => ({
        name,
        ...(Object.hasOwn(history, name) ? { expectedMs: history[name] } : {}),
      }));
    const bar = progress;
    const makeRunner = (): ContainerResticRunner =>
      new ContainerResticRunner(deps.actions, {
        image: o.resticImage,
        env,
        ...(o.resticMounts ? { mounts: o.resticMounts } : {}),
        labels,
        ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {}),
        redactor,
      });

    // rcb picks its containers itself and reports none: what it covered is the opted-in set
    // running now (listed before quiesce stops some of them), recorded as one run.
    let rcbCovered: string[] = [];
    if (o.engine === 'rcb') {
      const { safe } = partitionSafeTargets(await listBackupWorkloads(deps.actions, o.selector));
      rcbCovered = safe.filter((t) => t.state === 'running').map((t) => t.name);
      warnDumpsNotRun(safe, 'rcb', {
        logger,
        ...(deps.recorder ? { recorder: deps.recorder } : {}),
      });
    }

    // Dumps first: a dump needs its database running, and quiesce may stop it for the files.
    // A replicated service is one workload with one dump, taken from its first replica (the
    // replicas serve one database; the workload, its dump file and its tags bear that name).
    let dumps = new Map<string, DumpOutcome>();
    if (o.engine === 'restic') {
      const { safe } = partitionSafeTargets(await listBackupWorkloads(deps.actions, o.selector));
      dumps = await runDumps(
        groupReplicas(safe).map((g) => g.members[0]!),
        {
          host: host!,
          tagsFor: (t) => workloadTags(t, o.tags ?? []),
          labels,
          ...(o.signal ? { signal: o.signal } : {}),
        },
        {
          exec: (target, argv, opts) => execInContainer(deps.client, target, argv, opts),
          trust: new ImageWorkloadLabelTrust(
            new ImageLabelTrust(deps.client, logger),
            o.trustImageLabels === true,
          ),
          runner: makeRunner(),
          logger,
          ...(deps.recorder ? { recorder: deps.recorder } : {}),
          redactor,
          inspectEnv: async (id) => (await deps.actions.inspect(id)).Config.Env ?? undefined,
        },
      );
    }

    const { value } = await withQuiesce(
      deps.actions,
      {
        label: o.quiesceLabel,
        ...(o.selector ? { selector: o.selector } : {}),
        stopTimeoutSec: o.stopTimeoutSec,
        stateDir: o.stateDir,
        runId,
        exclude: { backrestContainer: o.backrestContainer },
        logger,
        outcome: quiesce,
        ...(o.signal ? { signal: o.signal } : {}),
      },
      async () => {
        if (o.engine === 'rcb') {
          // rcb backs up every workload in one container: one step, timed against last time.
          bar.plan(stepsOf([RCB_STEP]));
          bar.start(RCB_STEP);
          let rcbOk = false;
          try {
            const rcb = await runRcbEngine(
              deps.actions,
              {
                image: o.rcbImage,
                env,
                dockerSocket: o.dockerSocket,
                ...(o.resticMounts ? { mounts: o.resticMounts } : {}),
                excludeBindMounts: o.excludeBindMounts ?? false,
                includeProjectName: o.includeProjectName ?? false,
                labels,
                ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {}),
                ...(o.signal ? { signal: o.signal } : {}),
                redactor,
              },
              logger,
            );
            report.rcb = { ...rcb, workloads: rcbCovered };
            rcbOk = rcb.exitCode === 0;
          } finally {
            bar.finish(RCB_STEP, undefined, rcbOk);
          }
          return [] as WorkloadBackupResult[];
        }
        const listed = await listBackupWorkloads(deps.actions, o.selector);
        // A compose name that can't be a path (`../usr`) is refused before any mount is planned.
        const { safe: targets, refused } = partitionSafeTargets(listed);
        warnUnsafeNames({ logger, recorder: deps.recorder }, 'backup', refused);
        const refusedResults = refused.map(({ target, message }): WorkloadBackupResult => ({
          container: target.name,
          path: '',
          status: 'failed',
          durationMs: 0,
          warnings: [],
          error: message,
        }));
        logger.info('backup.workloads', {
          engine: o.engine,
          containers: targets.map((t) => t.name),
        });
        if (o.engine === 'backrest') {
          if (!o.backrestUrl) throw new Error('--engine backrest needs --backrest-url');
          bar.plan(stepsOf(backrestTargets(targets).map((t) => t.name)));
          const results = await runBackrestEngine(
            targets,
            {
              url: o.backrestUrl,
              includeProjectName: o.includeProjectName ?? false,
              ...(o.backrestAuthorization ? { authorization: o.backrestAuthorization } : {}),
              ...(o.planIdPrefix !== undefined ? { planIdPrefix: o.planIdPrefix } : {}),
              ...(o.signal ? { signal: o.signal } : {}),
              ...(deps.fetch ? { fetch: deps.fetch } : {}),
            },
            { logger, progress: bar, ...(deps.recorder ? { recorder: deps.recorder } : {}) },
          );
          return [...refusedResults, ...results];
        }
        const runner = makeRunner();
        // Within the selector (what this sidecar manages), as the retention loop checks them.
        const collisions = findPathCollisions(targets, o.includeProjectName ?? false);
        bar.plan(stepsOf(groupReplicas(targets).map((g) => g.name)));
        const results = await runResticEngine(
          targets,
          runner,
          {
            includeProjectName: o.includeProjectName ?? false,
            excludeBindMounts: o.excludeBindMounts ?? false,
            host: host!,
            collisions,
            tags: o.tags ?? [],
            labels,
            dumps,
            ...(o.signal ? { signal: o.signal } : {}),
          },
          { logger, progress, ...(deps.recorder ? { recorder: deps.recorder } : {}) },
        );
        return [...refusedResults, ...results];
      },
    );
    report.workloads = value;
  } catch (err) {
    const e = err as Error;
    report.fatal = redactor.redactString(
      err instanceof QuiesceBusyError
        ? e.message
        : o.signal?.aborted
          ? `aborted: ${e.message}`
          : e.message,
    );
    logger.error('backup.fatal', { error: report.fatal });
  } finally {
    progress.close();
  }

  const backupOk =
    !report.fatal &&
    (report.rcb ? report.rcb.exitCode === 0 : true) &&
    !(report.workloads.length > 0 && report.workloads.every((w) => w.status === 'failed'));

  if (!o.noForget && backupOk && !o.signal?.aborted && host !== undefined) {
    report.forget = await runRetention(o, deps, labels, host, redactor);
  }

  report.exitCode = exitCodeOf(report);
  report.finishedAt = new Date().toISOString();
  report.durationMs = performance.now() - started;
  if (durations !== undefined && !report.fatal) {
    // The next run's ETA; a read-only state dir only costs that.
    await writeBackupDurations(o.stateDir, report, durations).catch((err: unknown) =>
      logger.debug('backup.durations_not_recorded', { error: (err as Error).message }),
    );
  }
  logger[report.exitCode === 0 ? 'info' : 'error']('backup.done', {
    engine: o.engine,
    ...(report.runId ? { runId: report.runId } : {}),
    exitCode: report.exitCode,
    durationMs: Math.round(report.durationMs),
    workloads: report.workloads.length,
    failed: report.workloads.filter((w) => w.status === 'failed').map((w) => w.container),
    quiesced: quiesce.stopped,
    ...(report.fatal ? { error: report.fatal } : {}),
  });

  if (deps.status) {
    try {
      await recordBackupReport(deps.status, report, {
        ...(deps.statusSchedule ? { schedule: deps.statusSchedule } : {}),
        ...(deps.statusGenerations ? { generations: deps.statusGenerations } : {}),
      });
    } catch (err) {
      logger.warn('backup.status_not_recorded', {
        stateDir: o.stateDir,
        error: redactor.redactString((err as Error).message),
      });
    }
  }

  if (notifiers && notifiers.size > 0) report.notify = await notifiers.finish(report);
  return report;
}

async function runRetention(
  o: BackupOnceOptions & typeof BACKUP_DEFAULTS,
  deps: BackupOnceDeps,
  labels: Record<string, string>,
  host: string,
  redactor: Redactor,
): Promise<ForgetReport> {
  if (!deps.retention) {
    return {
      dryRun: false,
      workloads: [],
      fatal:
        'retention is not loaded (no BackupRetention: load @backrest-sidecar/controller-retention, or pass --no-forget)',
      exitCode: 1,
    };
  }
  return deps.retention.run({
    restic: {
      kind: o.forgetRunner ?? 'container',
      image: o.resticImage,
      ...(o.rcbEnvFile ? { envFile: o.rcbEnvFile } : {}),
      ...(o.resticMounts ? { mounts: o.resticMounts } : {}),
      labels,
      redactor,
    },
    host,
    includeProjectName: o.includeProjectName ?? false,
    prune: o.prune,
    ...(o.selector ? { selector: o.selector } : {}),
    trustImageLabels: o.trustImageLabels ?? false,
    ...(o.signal ? { signal: o.signal } : {}),
  });
}

/** The seed's exit codes of a run (`backupExitCodeOf` in the API package, where the CLI reads it). */
export function exitCodeOf(report: BackupOnceReport): 0 | 1 | 3 {
  return backupExitCodeOf(report);
}

function makeProgress(
  o: BackupOnceOptions & typeof BACKUP_DEFAULTS,
  logger: Logger,
  stream: NodeJS.WriteStream,
): ProgressReporter {
  const mode = o.progress ?? (stream.isTTY ? 'tty' : 'log');
  if (mode === 'none') return noProgress;
  if (mode === 'tty') return new TtyProgress(stream);
  return new LogProgress(logger, o.progressIntervalMs);
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
