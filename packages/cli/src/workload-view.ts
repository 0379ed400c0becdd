/**
 * What `get workloads` and `describe workload` show: every opted-in workload on the host (and
 * every workload with a status file whose container is gone), its status from `--state-dir` as
 * the daemon or backup-once left it, brought up to date with the repository's snapshot list
 * (`restic snapshots --json` with the backup-once flags) and `Stale` on the current clock. Runs
 * without a daemon; writes nothing.
 */
import {
  WorkloadConditions,
  WorkloadStatusStore,
  checkWorkloadLabels,
  groupReplicas,
  planIdFor,
  repoEnvFromBackrestConfig,
  type WorkloadStatus,
} from '@backrest-sidecar/api';
import {
  BACKUP_DEFAULTS,
  ONE_SHOT_LABEL,
  applyStale,
  listSnapshots,
  recordSnapshotInventory,
  snapshotsByWorkload,
} from '@backrest-sidecar/controller-backup';
import {
  Labels,
  isOptedIn,
  partitionSafeTargets,
  workloadFromContainerInfo,
  type WorkloadTarget,
} from '@backrest-sidecar/api';
import {
  ContainerResticRunner,
  createResticRunner,
  resolveResticHost,
} from '@backrest-sidecar/restic';
import type { OneShotMount } from '@dockop/docker';
import type { Logger, Redactor } from '@dockop/runtime';
import { setUpOneShot, type OneShotFlags, type OneShotSetup } from './one-shot.js';

/** The flags `get workloads` and `describe workload` share with `backup-once`. */
export interface WorkloadFlags extends OneShotFlags {
  rcbEnvFile?: string;
  resticImage: string;
  resticVolume: OneShotMount[];
  resticHost?: string;
  planIdPrefix: string;
  /** commander's `--no-repository`: false when given. */
  repository: boolean;
  /** `--backrest-config`: read the repository's credentials from Backrest's config instead. */
  backrestConfig?: string;
  /** `--backrest-repo`: which repo of that config. Default: its first. */
  backrestRepo?: string;
}

/** The one-word summary of the STATUS column. */
export type WorkloadState =
  /**
   * Its labels are refused (the daemon's reason and message: container, label, value, rule):
   * nothing of it is planned or backed up as labeled until they are fixed.
   */
  | 'Invalid'
  /** Backed up within its window. */
  | 'Ok'
  /** Backed up within its window, but some files could not be read. */
  | 'Partial'
  /** The last backup failed (not Stale yet). */
  | 'Failing'
  /** No successful backup within its window: the condition operators fear to miss. */
  | 'Stale'
  /** No backup recorded yet, still within its first window. */
  | 'NeverBackedUp'
  /** A status file whose container is gone. */
  | 'Gone';

export interface WorkloadView {
  name: string;
  /** The plan id Backrest knows it by ('' when its name can't make one). */
  planId: string;
  /** Docker state of the container; undefined when it is gone. */
  containerState?: string;
  /** `backrest.keep` ('-' when none). */
  keep: string;
  /**
   * A replicated service (Compose `--scale`, Swarm): every replica's container name, sorted; the
   * workload is named after the first. Absent for a lone container.
   */
  replicas?: string[];
  state: WorkloadState;
  /** Why its labels are refused (state Invalid); also its `InvalidSpec` condition. */
  invalid?: { reason: string; message: string };
  status: WorkloadStatus;
}

/**
 * Condition type of a workload whose labels are refused: the cache's name for it, shown by
 * `describe workload` (computed from the labels of now, never written to the status file).
 */
export const INVALID_SPEC_CONDITION = 'InvalidSpec';

export interface WorkloadCollection {
  views: WorkloadView[];
  /** `listed` (snapshot counts are fresh), `skipped` (no repository flags) or `failed`. */
  repository: 'listed' | 'skipped' | 'failed';
  setup: OneShotSetup;
}

export function stateOf(status: WorkloadStatus, gone: boolean, invalid = false): WorkloadState {
  if (gone) return 'Gone';
  // Before Stale: fixing the label is what brings the backups back.
  if (invalid) return 'Invalid';
  const cond = (t: string) => status.conditions.find((c) => c.type === t)?.status;
  if (cond(WorkloadConditions.Stale) === 'True') return 'Stale';
  if (cond(WorkloadConditions.BackedUp) === 'False') return 'Failing';
  if (status.lastBackup?.partial) return 'Partial';
  if (status.lastBackup) return 'Ok';
  return 'NeverBackedUp';
}

/** Opted-in containers (the backup engines' rule), with their creation time. */
async function listTargets(
  setup: OneShotSetup,
  selector: string[],
): Promise<{ target: WorkloadTarget; created: number }[]> {
  const [a, b] = await Promise.all([
    // By presence, then isOptedIn: `TRUE` or ` true ` count as the label schema counts them.
    setup.actions.list({ label: [Labels.enable, ...selector] }),
    setup.actions.list({ label: [Labels.rcbVolumes, ...selector] }),
  ]);
  const byId = new Map<string, { target: WorkloadTarget; created: number }>();
  for (const info of [...a, ...b]) {
    const target = workloadFromContainerInfo(info);
    if (target.labels[ONE_SHOT_LABEL] !== undefined || !isOptedIn(target)) continue;
    byId.set(target.id, { target, created: (info.Created ?? 0) * 1000 });
  }
  const all = [...byId.values()];
  const safe = new Set(partitionSafeTargets(all.map((t) => t.target)).safe);
  return all
    .filter((t) => safe.has(t.target))
    .sort((x, y) => x.target.name.localeCompare(y.target.name));
}

/** Whether the repository can be listed: an env file, or RESTIC_REPOSITORY in the environment. */
function hasRepository(flags: WorkloadFlags, env: NodeJS.ProcessEnv): boolean {
  return (
    flags.rcbEnvFile !== undefined ||
    flags.backrestConfig !== undefined ||
    Object.hasOwn(env, 'RESTIC_REPOSITORY')
  );
}

async function readRepository(
  flags: WorkloadFlags,
  setup: OneShotSetup,
  store: WorkloadStatusStore,
  targets: WorkloadTarget[],
  logger: Logger,
  redactor: Redactor,
): Promise<'listed' | 'failed'> {
  try {
    const common = {
      image: flags.resticImage,
      mounts: flags.resticVolume,
      labels: { [ONE_SHOT_LABEL]: 'true' },
      redactor,
    };
    // The env file wins (as backup-once reads it); else Backrest's own repo entry.
    const runner =
      !flags.rcbEnvFile && flags.backrestConfig
        ? new ContainerResticRunner(setup.actions, {
            ...common,
            env: (await repoEnvFromBackrestConfig(flags.backrestConfig, flags.backrestRepo)).env,
          })
        : await createResticRunner(
            {
              kind: 'container',
              ...common,
              ...(flags.rcbEnvFile ? { envFile: flags.rcbEnvFile } : {}),
            },
            setup.actions,
          );
    const host = await resolveResticHost(setup.client, flags.resticHost);
    const snapshots = await listSnapshots(runner);
    await recordSnapshotInventory(
      store,
      snapshotsByWorkload(snapshots, targets, { host, planIdPrefix: flags.planIdPrefix }),
    );
    return 'listed';
  } catch (err) {
    logger.warn('workloads.repository_unreadable', {
      error: redactor.redactString((err as Error).message),
      note: 'snapshot counts are the ones last recorded in --state-dir',
    });
    return 'failed';
  }
}

/** Gathers the views (every workload when `names` is empty). Writes nothing. */
export async function collectWorkloads(
  flags: WorkloadFlags,
  names: string[] = [],
  env: NodeJS.ProcessEnv = process.env,
): Promise<WorkloadCollection> {
  const setup = await setUpOneShot(flags, flags.rcbEnvFile);
  const { logger, redactor } = setup;
  const store = new WorkloadStatusStore({
    stateDir: flags.stateDir ?? BACKUP_DEFAULTS.stateDir,
    logger,
    redactor,
    readOnly: true,
  });
  const wanted = (n: string) => names.length === 0 || names.includes(n);
  // The replicas of one service are one workload, named after the first (`groupReplicas`).
  const all = await listTargets(setup, flags.selector);
  const groups = groupReplicas(all.map((t) => t.target));
  const replicasOf = new Map(groups.map((g) => [g.name, g.members.map((m) => m.name)]));
  const secondary = new Set(groups.flatMap((g) => g.members.slice(1).map((m) => m.name)));
  const listed = all.filter((t) => wanted(t.target.name) && !secondary.has(t.target.name));
  // A workload nobody recorded yet: its window starts when its container was created.
  for (const { target, created } of listed) {
    if (await store.get(target.name)) continue;
    await store.update(target.name, (s) => {
      if (created > 0) s.firstSeen = new Date(created).toISOString();
    });
  }
  const targets = listed.map((t) => t.target);
  let repository: WorkloadCollection['repository'] = 'skipped';
  if (flags.repository && hasRepository(flags, env) && targets.length > 0) {
    repository = await readRepository(flags, setup, store, targets, logger, redactor);
  }
  const views: WorkloadView[] = [];
  const byName = new Map(targets.map((t) => [t.name, t]));
  for (const known of await store.list()) {
    // A status left under another replica's name (written before it was one of several).
    if (!wanted(known.name) || secondary.has(known.name)) continue;
    const target = byName.get(known.name);
    // With --selector, a status without a selected container may be another selection's.
    if (!target && flags.selector.length > 0) continue;
    // The labels as the daemon's cache would judge them (same decoder, schema and message).
    const check = target ? checkWorkloadLabels(target.labels, target.name) : undefined;
    const invalid =
      check && !check.ok ? { reason: check.reason, message: check.message } : undefined;
    // Stale on the clock of now, with the window the writer recorded (26 h under Backrest).
    // The store is read-only: the InvalidSpec condition is shown, never written.
    const status = target
      ? await store.update(known.name, (s) => {
          applyStale(store, s);
          if (invalid) {
            store.applyCondition(s, {
              type: INVALID_SPEC_CONDITION,
              status: 'True',
              reason: invalid.reason,
              message: invalid.message,
            });
          }
        })
      : known;
    let planId = '';
    try {
      planId = planIdFor(
        { name: known.name, ...(target?.compose ? { compose: target.compose } : {}) },
        { prefix: flags.planIdPrefix },
      );
    } catch {
      // No plan id for this name: shown as '-'.
    }
    views.push({
      name: known.name,
      planId,
      ...(target ? { containerState: target.state } : {}),
      keep: target?.labels[Labels.keep] ?? '-',
      ...((replicasOf.get(known.name)?.length ?? 0) > 1
        ? { replicas: replicasOf.get(known.name)! }
        : {}),
      state: stateOf(status, target === undefined, invalid !== undefined),
      ...(invalid ? { invalid } : {}),
      status,
    });
  }
  return { views, repository, setup };
}
