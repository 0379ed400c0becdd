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
  type WorkloadForgetStatus,
  type WorkloadLabelTrust,
  type WorkloadTarget,
} from '@backrest-sidecar/api';
import {
  KeepSpecError,
  keepSpecToResticFlags,
  parseKeepSpec,
} from '@backrest-sidecar/backrest-model';
import {
  explainNoMatch,
  parseForgetOutput,
  parseSnapshotsOutput,
  runResticChecked,
  type ResticRunner,
  type ResticSnapshot,
} from '@backrest-sidecar/restic';

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

interface PathGroup {
  path: string;
  targets: WorkloadTarget[];
  keep: string;
  flags: string[];
}

function samePaths(paths: string[] | null | undefined, path: string): boolean {
  return Array.isArray(paths) && paths.length === 1 && paths[0] === path;
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
  const includeProjectName = options.includeProjectName ?? false;
  const dryRun = options.dryRun ?? false;
  const prune = options.prune ?? 'per-workload';
  const host = options.host;
  const report: ForgetReport = { dryRun, workloads: [], exitCode: 0 };
  // Log action `retention.<reason in snake_case>` (`RetentionNoMatch` → `retention.no_match`).
  const warn = (r: WorkloadForgetResult, reason: string, message: string): void => {
    r.warnings.push(message);
    const event = reason
      .replace(/^Retention/, '')
      .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
      .toLowerCase();
    logger.warn(`retention.${event}`, { containers: r.containers, path: r.path, message });
    for (const c of r.containers)
      deps.recorder?.event(makeKey(BACKUP_WORKLOAD_KIND, c), 'Warning', reason, message);
  };
  if (typeof host !== 'string' || host === '') {
    return fatal(report, 'no restic host to scope forget to (--restic-host)', logger);
  }

  let targets: WorkloadTarget[];
  // Every workload a backup engine writes under /volumes (any state, within the selector, which
  // delimits what this sidecar manages): a path one of them shares with a keep-labeled workload is
  // refused.
  let universe: WorkloadTarget[];
  try {
    const selector = options.selector ?? [];
    const [keepLabeled, optedIn] = await Promise.all([
      deps.containers.list({ label: [Labels.keep, ...selector] }),
      listOptedInWorkloads(deps.containers, selector),
    ]);
    targets = keepLabeled.map(workloadFromContainerInfo);
    universe = optedIn;
  } catch (err) {
    return fatal(report, `cannot list containers: ${(err as Error).message}`, logger);
  }
  if (options.only) {
    const only = new Set(options.only);
    targets = targets.filter((t) => only.has(t.name));
  }
  targets.sort((a, b) => a.name.localeCompare(b.name));

  // A compose name that can't be a path (`../usr`) is refused before any path is derived.
  const unsafe: WorkloadForgetResult[] = [];
  const split = partitionSafeTargets(targets);
  targets = split.safe;
  universe = partitionSafeTargets(universe).safe;
  // Not opted in: ignored below anyway, not worth a Warning.
  const refusedOptedIn = split.refused.filter(({ target }) => isOptedIn(target));
  warnUnsafeNames({ logger, recorder: deps.recorder }, 'retention', refusedOptedIn);
  for (const { target, message } of refusedOptedIn) {
    const r = result([target.name], '', target.labels[Labels.keep] ?? '', [], 'invalid');
    r.error = message;
    unsafe.push(r);
  }

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
      warn(
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

  // Parse every label first: a bad one is reported and skipped, the rest go on.
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

  let snapshots: ResticSnapshot[] = [];
  if (groups.size > 0) {
    try {
      const out = await runResticChecked(deps.restic, ['snapshots', '--json'], signalOpt(options));
      snapshots = parseSnapshotsOutput(out.stdout);
    } catch (err) {
      report.workloads.push(...invalid, ...conflicts, ...collided, ...untrusted, ...unsafe);
      return fatal(
        report,
        `cannot list the repository's snapshots: ${(err as Error).message}`,
        logger,
      );
    }
  }

  let removedAny = false;
  for (const g of [...groups.values()].sort((a, b) => a.path.localeCompare(b.path))) {
    const r = result(
      g.targets.map((t) => t.name),
      g.path,
      g.keep,
      g.flags,
      'forgotten',
    );
    report.workloads.push(r);
    if (options.signal?.aborted) {
      r.status = 'failed';
      r.error = 'aborted before this workload';
      continue;
    }
    try {
      const atPath = snapshots.filter((s) => (s.paths ?? []).includes(g.path));
      const matching = atPath.filter((s) => s.hostname === host);
      if (matching.length === 0) {
        if (atPath.length > 0) {
          // Another host's snapshots (a repository shared by several Docker hosts): not ours.
          r.status = 'no-match';
          const hosts = [...new Set(atPath.map((s) => s.hostname))].sort();
          warn(
            r,
            'RetentionOtherHost',
            `the snapshots of ${g.path} were made by host(s) ${hosts.map((h) => JSON.stringify(h)).join(', ')}, ` +
              `none by ${JSON.stringify(host)}: left untouched (forget only touches --restic-host's snapshots)`,
          );
        } else if (snapshots.length === 0) {
          r.status = 'no-snapshots';
          logger.info('retention.no_snapshots', { path: g.path, containers: r.containers });
        } else {
          r.status = 'no-match';
          const t = g.targets[0]!;
          warn(
            r,
            'RetentionNoMatch',
            explainNoMatch(g.path, snapshots, targetPath(t, !includeProjectName)),
          );
        }
        continue;
      }
      const base = [
        'forget',
        '--host',
        host,
        '--group-by',
        'host,paths',
        '--path',
        g.path,
        ...g.flags,
      ];
      const mixed = matching.filter((s) => !samePaths(s.paths, g.path));
      if (mixed.length === 0) {
        const args = [
          ...base,
          ...(dryRun ? ['--dry-run'] : prune === 'per-workload' ? ['--prune'] : []),
          '--json',
        ];
        const out = await runResticChecked(deps.restic, args, signalOpt(options));
        for (const group of parseForgetOutput(out.stdout)) {
          if (!samePaths(group.paths, g.path) || group.host !== host) {
            // Only possible if a multi-path snapshot appeared since `snapshots` ran.
            warn(
              r,
              'RetentionUnexpectedGroup',
              `restic grouped host ${JSON.stringify(group.host)} paths ${JSON.stringify(group.paths)} under --host ${host} --path ${g.path}`,
            );
          }
          r.kept.push(...(group.keep ?? []).map((s) => s.short_id));
          r.removed.push(...(group.remove ?? []).map((s) => s.short_id));
        }
      } else {
        const others = [...new Set(mixed.flatMap((s) => s.paths.filter((p) => p !== g.path)))];
        warn(
          r,
          'RetentionSharedSnapshots',
          `${mixed.length} snapshot(s) hold ${g.path} together with other paths (${others.slice(0, 3).join(', ')}` +
            `${others.length > 3 ? ', ...' : ''}); they are left untouched, forgetting them would delete other workloads' data`,
        );
        const out = await runResticChecked(
          deps.restic,
          [...base, '--dry-run', '--json'],
          signalOpt(options),
        );
        const ids: string[] = [];
        for (const group of parseForgetOutput(out.stdout)) {
          if (!samePaths(group.paths, g.path) || group.host !== host) continue;
          r.kept.push(...(group.keep ?? []).map((s) => s.short_id));
          r.removed.push(...(group.remove ?? []).map((s) => s.short_id));
          ids.push(...(group.remove ?? []).map((s) => s.id));
        }
        if (!dryRun && ids.length > 0) {
          await runResticChecked(
            deps.restic,
            ['forget', ...(prune === 'per-workload' ? ['--prune'] : []), ...ids],
            signalOpt(options),
          );
        }
      }
      if (r.removed.length > 0) removedAny = true;
      logger.info(dryRun ? 'retention.would_forget' : 'retention.forgotten', {
        path: g.path,
        containers: r.containers,
        keep: g.keep,
        kept: r.kept.length,
        removed: r.removed.length,
      });
      for (const c of r.containers) {
        deps.recorder?.event(
          makeKey(BACKUP_WORKLOAD_KIND, c),
          'Normal',
          dryRun ? 'RetentionDryRun' : 'RetentionApplied',
          `${g.path}: kept ${r.kept.length}, ${dryRun ? 'would remove' : 'removed'} ${r.removed.length} (${g.keep})`,
        );
      }
    } catch (err) {
      r.status = 'failed';
      r.error = (err as Error).message;
      logger.error('retention.failed', { path: g.path, containers: r.containers, error: r.error });
      for (const c of r.containers) {
        deps.recorder?.event(
          makeKey(BACKUP_WORKLOAD_KIND, c),
          'Warning',
          'RetentionFailed',
          r.error,
        );
      }
    }
  }
  report.workloads.push(...invalid, ...conflicts, ...collided, ...untrusted, ...unsafe);

  if (prune === 'once' && removedAny && !dryRun) {
    try {
      await runResticChecked(deps.restic, ['prune'], signalOpt(options));
      logger.info('retention.pruned', {});
    } catch (err) {
      report.fatal = `prune failed: ${(err as Error).message}`;
      logger.error('retention.prune_failed', { error: report.fatal });
    }
  }
  report.exitCode = report.fatal
    ? 1
    : report.workloads.some((w) => w.status === 'invalid' || w.status === 'failed')
      ? 3
      : 0;
  return report;
}

function result(
  containers: string[],
  path: string,
  keep: string,
  flags: string[],
  status: WorkloadForgetStatus,
): WorkloadForgetResult {
  return { containers, path, keep, flags, status, kept: [], removed: [], warnings: [] };
}

function signalOpt(options: ForgetOptions): { signal?: AbortSignal } {
  return options.signal ? { signal: options.signal } : {};
}

function fatal(report: ForgetReport, message: string, logger: Logger): ForgetReport {
  report.fatal = message;
  report.exitCode = 1;
  logger.error('retention.fatal', { error: message });
  return report;
}
