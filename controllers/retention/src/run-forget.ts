import type { ContainerActions } from '@dockop/docker';
import { createNullLogger, makeKey, type EventRecorder, type Logger } from '@dockop/runtime';
import {
  BACKUP_WORKLOAD_KIND,
  Labels,
  findPathCollisions,
  warnPathCollision,
  warnUnsafeNames,
  isOptedIn,
  listOptedInWorkloads,
  partitionSafeTargets,
  targetPath,
  workloadFromContainerInfo,
  type ForgetReport,
  type PruneMode,
  type WorkloadForgetResult,
  type PathCollision,
  type WorkloadLabelTrust,
  type WorkloadTarget,
} from '@backrest-sidecar/api';
import {
  KeepSpecError,
  keepSpecToResticFlags,
  parseKeepSpec,
} from '@backrest-sidecar/backrest-model';
import {
  parseSnapshotsOutput,
  runResticChecked,
  type ResticRunner,
  type ResticSnapshot,
} from '@backrest-sidecar/restic';
import { forgetPathGroup } from './forget-path-group.js';
import { result, signalOpt, type ForgetRun, type PathGroup } from './forget-run.js';

// The report shapes live in the API package; re-exported so this package's API is unchanged.
export type {
  ForgetReport,
  PruneMode,
  WorkloadForgetResult,
  WorkloadForgetStatus,
} from '@backrest-sidecar/api';

export interface ForgetOptions {
  /** `/volumes/<project>/<service>` instead of `/volumes/<service>` (rcb's INCLUDE_PROJECT_NAME). Default false. */
  includeProjectName?: boolean;
  /** Pass `--dry-run` to restic: report what would go, remove nothing, no prune. Default false. */
  dryRun?: boolean;
  /**
   * `per-workload` (default): `--prune` on each workload's forget, as the seed writes it.
   * `once`: one `restic prune` after all forgets (far cheaper with many workloads).
   * `never`: leave pruning to someone else.
   */
  prune?: PruneMode;
  /** Only these container names. Default: all. */
  only?: string[];
  /** Only containers carrying all these labels (`key` or `key=value`). Default: no restriction. */
  selector?: string[];
  /**
   * restic `--host` whose snapshots are forgotten (`resolveResticHost`: `--restic-host`, else the
   * Docker engine's name). Snapshots of every other host in the repository are never touched.
   */
  host: string;
  signal?: AbortSignal;
}

export interface ForgetDeps {
  containers: Pick<ContainerActions, 'list'>;
  restic: ResticRunner;
  /** Which labels may steer forget: an image-sourced `backrest.keep` is refused. */
  trust: WorkloadLabelTrust;
  logger?: Logger;
  recorder?: EventRecorder;
}

/** Docker states of a container whose retention runs (a stopped one may be a stale leftover). */
const ACTIVE_STATES = ['running', 'restarting', 'paused'];

/**
 * The per-workload retention loop. For every running container opted in (`backrest.enable=true`,
 * or restic-compose-backup's `restic-compose-backup.volumes=true`) with a `backrest.keep` the
 * container itself sets: `restic forget --host <host> --group-by host,paths
 * --path /volumes[/<project>]/<service> <keep flags> [--prune] --json`.
 *
 * Safety invariants:
 * - forget never runs without at least one `--keep-*` flag (the keep spec must parse; an empty
 *   rule set throws before restic runs);
 * - only this host's snapshots (`--host`) whose path list is exactly `[path]` are forgotten: when
 *   some snapshot holds the workload's path together with others, the policy is computed with
 *   `--dry-run` and only the single-path snapshots it would remove are forgotten by id;
 * - a `backrest.keep` that comes from the image (not trusted) selects nothing;
 * - a path two different workloads map to (any state, keep or not: both are backed up there;
 *   within the selector) is refused for both, with a Warning naming them;
 * - when nothing matches although the repository has snapshots, a Warning says why;
 * - one workload's bad label or failed forget never stops the others;
 * - no RESTIC_* value is ever logged (runners redact their output).
 */
export async function runForget(options: ForgetOptions, deps: ForgetDeps): Promise<ForgetReport> {
  const logger = (deps.logger ?? createNullLogger()).child({ component: 'retention' });
  const report: ForgetReport = { dryRun: options.dryRun ?? false, workloads: [], exitCode: 0 };
  if (typeof options.host !== 'string' || options.host === '') {
    return fatal(report, 'no restic host to scope forget to (--restic-host)', logger);
  }
  const run: ForgetRun = {
    options,
    deps,
    logger,
    includeProjectName: options.includeProjectName ?? false,
    dryRun: options.dryRun ?? false,
    prune: options.prune ?? 'per-workload',
    host: options.host,
    report,
    warn: warnFor(logger, deps.recorder),
  };

  let listed: { targets: WorkloadTarget[]; universe: WorkloadTarget[] };
  try {
    listed = await listCandidates(run);
  } catch (err) {
    return fatal(report, `cannot list containers: ${(err as Error).message}`, logger);
  }
  const { targets, universe, unsafe } = refuseUnsafeNames(run, listed.targets, listed.universe);
  const { selected, untrusted } = await selectTrusted(run, targets);
  const { collisions, collided } = refuseCollisions(run, universe, selected);
  const { groups, invalid } = groupByPath(run, selected, collisions);
  const conflicts = refuseConflictingPolicies(run, groups);
  const refused = [...invalid, ...conflicts, ...collided, ...untrusted, ...unsafe];

  let snapshots: ResticSnapshot[] = [];
  if (groups.size > 0) {
    try {
      const out = await runResticChecked(deps.restic, ['snapshots', '--json'], signalOpt(options));
      snapshots = parseSnapshotsOutput(out.stdout);
    } catch (err) {
      report.workloads.push(...refused);
      return fatal(
        report,
        `cannot list the repository's snapshots: ${(err as Error).message}`,
        logger,
      );
    }
  }

  let removedAny = false;
  for (const g of [...groups.values()].sort((a, b) => a.path.localeCompare(b.path))) {
    const r = await forgetPathGroup(run, g, snapshots);
    report.workloads.push(r);
    if (r.removed.length > 0) removedAny = true;
  }
  report.workloads.push(...refused);
  if (run.prune === 'once' && removedAny && !run.dryRun) await pruneOnce(run);
  report.exitCode = report.fatal
    ? 1
    : report.workloads.some((w) => w.status === 'invalid' || w.status === 'failed')
      ? 3
      : 0;
  return report;
}

/** Log action `retention.<reason in snake_case>` (`RetentionNoMatch` → `retention.no_match`). */
function warnFor(logger: Logger, recorder: EventRecorder | undefined): ForgetRun['warn'] {
  return (r, reason, message) => {
    r.warnings.push(message);
    const event = reason
      .replace(/^Retention/, '')
      .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
      .toLowerCase();
    logger.warn(`retention.${event}`, { containers: r.containers, path: r.path, message });
    for (const c of r.containers)
      recorder?.event(makeKey(BACKUP_WORKLOAD_KIND, c), 'Warning', reason, message);
  };
}

/**
 * The keep-labeled containers (sorted, `only` applied), and the universe: every workload a backup
 * engine writes under /volumes (any state, within the selector, which delimits what this sidecar
 * manages); a path one of them shares with a keep-labeled workload is refused.
 */
async function listCandidates(
  run: ForgetRun,
): Promise<{ targets: WorkloadTarget[]; universe: WorkloadTarget[] }> {
  const selector = run.options.selector ?? [];
  const [keepLabeled, universe] = await Promise.all([
    run.deps.containers.list({ label: [Labels.keep, ...selector] }),
    listOptedInWorkloads(run.deps.containers, selector),
  ]);
  let targets = keepLabeled.map(workloadFromContainerInfo);
  if (run.options.only) {
    const only = new Set(run.options.only);
    targets = targets.filter((t) => only.has(t.name));
  }
  targets.sort((a, b) => a.name.localeCompare(b.name));
  return { targets, universe };
}

/** A compose name that can't be a path (`../usr`) is refused before any path is derived. */
function refuseUnsafeNames(
  run: ForgetRun,
  candidates: WorkloadTarget[],
  allOptedIn: WorkloadTarget[],
): { targets: WorkloadTarget[]; universe: WorkloadTarget[]; unsafe: WorkloadForgetResult[] } {
  const split = partitionSafeTargets(candidates);
  // Not opted in: ignored below anyway, not worth a Warning.
  const refusedOptedIn = split.refused.filter(({ target }) => isOptedIn(target));
  warnUnsafeNames({ logger: run.logger, recorder: run.deps.recorder }, 'retention', refusedOptedIn);
  const unsafe = refusedOptedIn.map(({ target, message }) => {
    const r = result([target.name], '', target.labels[Labels.keep] ?? '', [], 'invalid');
    r.error = message;
    return r;
  });
  return { targets: split.safe, universe: partitionSafeTargets(allOptedIn).safe, unsafe };
}

/** Opted in, active, and a `backrest.keep` the container itself sets (image labels: untrusted). */
async function selectTrusted(
  run: ForgetRun,
  targets: WorkloadTarget[],
): Promise<{ selected: WorkloadTarget[]; untrusted: WorkloadForgetResult[] }> {
  const { logger, deps, includeProjectName } = run;
  const untrusted: WorkloadForgetResult[] = [];
  const selected: WorkloadTarget[] = [];
  for (const t of targets) {
    // The same opt-in as the backup engines: backrest.enable=true or rcb's volumes=true.
    if (!isOptedIn(t)) {
      logger.info('retention.not_enabled', {
        container: t.name,
        reason: `${Labels.keep} without ${Labels.enable}=true (or ${Labels.rcbVolumes}=true) is ignored`,
      });
      continue;
    }
    if (!ACTIVE_STATES.includes(t.state)) {
      logger.info('retention.not_running', { container: t.name, state: t.state });
      continue;
    }
    let refused: string[];
    try {
      refused = await deps.trust.untrusted(t, [Labels.keep]);
    } catch (err) {
      // Cannot tell where the label comes from: fail closed.
      refused = [Labels.keep];
      logger.warn('retention.trust_unknown', { container: t.name, error: (err as Error).message });
    }
    if (refused.length > 0) {
      const raw = t.labels[Labels.keep] ?? '';
      const r = result([t.name], targetPath(t, includeProjectName), raw, [], 'untrusted');
      run.warn(
        r,
        'UntrustedKeep',
        `container "${t.name}": label ${Labels.keep}="${raw}" comes from its image, not the container; ` +
          `ignored (set it on the container, or trust image labels with --trust-image-labels)`,
      );
      untrusted.push(r);
      continue;
    }
    selected.push(t);
  }

  return { selected, untrusted };
}

/** A path two different workloads map to is refused for both (one's policy would delete the other's). */
function refuseCollisions(
  run: ForgetRun,
  universe: WorkloadTarget[],
  selected: WorkloadTarget[],
): { collisions: Map<string, PathCollision>; collided: WorkloadForgetResult[] } {
  const { logger, deps, includeProjectName } = run;
  const collisions = findPathCollisions(
    [...universe.filter((u) => !selected.some((t) => t.id === u.id)), ...selected],
    includeProjectName,
  );
  const collided: WorkloadForgetResult[] = [];
  for (const c of collisions.values()) {
    if (!selected.some((t) => targetPath(t, includeProjectName) === c.path)) continue;
    const r = result(c.containers, c.path, '', [], 'invalid');
    r.error = c.message;
    warnPathCollision({ logger, recorder: deps.recorder }, 'retention', c);
    collided.push(r);
  }

  return { collisions, collided };
}

/** Parses every label first: a bad one is reported and skipped, the rest go on. */
function groupByPath(
  run: ForgetRun,
  selected: WorkloadTarget[],
  collisions: Map<string, PathCollision>,
): { groups: Map<string, PathGroup>; invalid: WorkloadForgetResult[] } {
  const { logger, deps, includeProjectName } = run;
  const groups = new Map<string, PathGroup>();
  const invalid: WorkloadForgetResult[] = [];
  for (const t of selected) {
    const path = targetPath(t, includeProjectName);
    if (collisions.has(path)) continue;
    const raw = t.labels[Labels.keep] ?? '';
    let flags: string[];
    try {
      flags = keepSpecToResticFlags(parseKeepSpec(raw));
    } catch (err) {
      if (!(err instanceof KeepSpecError)) throw err;
      const message = `container "${t.name}": label ${Labels.keep}="${raw}" is invalid: ${err.message}`;
      const r = result([t.name], path, raw, [], 'invalid');
      r.error = message;
      invalid.push(r);
      logger.error('retention.invalid_keep_spec', {
        container: t.name,
        label: Labels.keep,
        value: raw,
        error: err.message,
      });
      deps.recorder?.event(
        makeKey(BACKUP_WORKLOAD_KIND, t.name),
        'Warning',
        'InvalidKeepSpec',
        message,
      );
      continue;
    }
    const g = groups.get(path);
    if (!g) groups.set(path, { path, targets: [t], keep: raw, flags });
    else g.targets.push(t);
    if (g && g.flags.join(' ') !== flags.join(' ')) {
      // Replicas of one service share one path; two different policies for it is ambiguous.
      g.flags = [];
    }
  }

  return { groups, invalid };
}

/** Replicas of one service share one path; two different policies for it is ambiguous: refused. */
function refuseConflictingPolicies(
  run: ForgetRun,
  groups: Map<string, PathGroup>,
): WorkloadForgetResult[] {
  const { logger, deps } = run;
  const conflicts: WorkloadForgetResult[] = [];
  for (const [path, g] of groups) {
    if (g.flags.length > 0) continue;
    groups.delete(path);
    const values = g.targets.map(
      (t) => `${t.name}: ${Labels.keep}="${t.labels[Labels.keep] ?? ''}"`,
    );
    const r = result(
      g.targets.map((t) => t.name),
      path,
      g.keep,
      [],
      'invalid',
    );
    r.error = `containers share the path ${path} but disagree on ${Labels.keep} (${values.join('; ')})`;
    logger.error('retention.conflicting_keep_specs', {
      path,
      containers: r.containers,
      error: r.error,
    });
    for (const t of g.targets) {
      deps.recorder?.event(
        makeKey(BACKUP_WORKLOAD_KIND, t.name),
        'Warning',
        'ConflictingKeepSpecs',
        r.error,
      );
    }
    conflicts.push(r);
  }

  return conflicts;
}

async function pruneOnce(run: ForgetRun): Promise<void> {
  try {
    await runResticChecked(run.deps.restic, ['prune'], signalOpt(run.options));
    run.logger.info('retention.pruned', {});
  } catch (err) {
    run.report.fatal = `prune failed: ${(err as Error).message}`;
    run.logger.error('retention.prune_failed', { error: run.report.fatal });
  }
}

function fatal(report: ForgetReport, message: string, logger: Logger): ForgetReport {
  report.fatal = message;
  report.exitCode = 1;
  logger.error('retention.fatal', { error: message });
  return report;
}
