import { makeKey } from '@dockop/runtime';
import { BACKUP_WORKLOAD_KIND, targetPath, type WorkloadForgetResult } from '@backrest-sidecar/api';
import {
  explainNoMatch,
  parseForgetOutput,
  runResticChecked,
  type ResticSnapshot,
} from '@backrest-sidecar/restic';
import { dumpSeries, forgetDumpSeries } from './forget-dump-snapshots.js';
import { result, signalOpt, type ForgetRun, type PathGroup } from './forget-run.js';

function samePaths(paths: string[] | null | undefined, path: string): boolean {
  return Array.isArray(paths) && paths.length === 1 && paths[0] === path;
}

/**
 * Brings one path (one workload, or replicas agreeing on one policy) to its keep flags, among
 * `snapshots` (the repository's, listed once per run). Only `run.host`'s snapshots whose path list
 * is exactly `[path]` are forgotten: when some also hold other paths, the policy is computed with
 * `--dry-run` and only the single-path ones it would remove are forgotten by id. The group's dump
 * snapshots (`/<container>.<ext>`, see forget-dump-snapshots.ts) get the same policy, each file
 * its own series. Never throws: a failed restic is the result's `failed` status.
 */
export async function forgetPathGroup(
  run: ForgetRun,
  g: PathGroup,
  snapshots: ResticSnapshot[],
): Promise<WorkloadForgetResult> {
  const { host, dryRun, includeProjectName } = run;
  const r = result(
    g.targets.map((t) => t.name),
    g.path,
    g.keep,
    g.flags,
    'forgotten',
  );
  if (run.options.signal?.aborted) {
    r.status = 'failed';
    r.error = 'aborted before this workload';
    return r;
  }
  try {
    const atPath = snapshots.filter((s) => (s.paths ?? []).includes(g.path));
    const matching = atPath.filter((s) => s.hostname === host);
    // A dump preset's snapshots (`/<container>.<ext>`) fall under the same policy.
    const dumps = dumpSeries(g, snapshots, host);
    if (matching.length === 0 && dumps.length === 0) {
      if (atPath.length > 0) {
        // Another host's snapshots (a repository shared by several Docker hosts): not ours.
        r.status = 'no-match';
        const hosts = [...new Set(atPath.map((s) => s.hostname))].sort();
        run.warn(
          r,
          'RetentionOtherHost',
          `the snapshots of ${g.path} were made by host(s) ${hosts.map((h) => JSON.stringify(h)).join(', ')}, ` +
            `none by ${JSON.stringify(host)}: left untouched (forget only touches --restic-host's snapshots)`,
        );
      } else if (snapshots.length === 0) {
        r.status = 'no-snapshots';
        run.logger.info('retention.no_snapshots', { path: g.path, containers: r.containers });
      } else {
        r.status = 'no-match';
        const t = g.targets[0]!;
        run.warn(
          r,
          'RetentionNoMatch',
          explainNoMatch(g.path, snapshots, targetPath(t, !includeProjectName)),
        );
      }
      return r;
    }
    if (matching.length > 0) await forgetFiles(run, g, matching, r);
    for (const series of dumps) await forgetDumpSeries(run, g, series, r);
    run.logger.info(dryRun ? 'retention.would_forget' : 'retention.forgotten', {
      path: g.path,
      containers: r.containers,
      keep: g.keep,
      kept: r.kept.length,
      removed: r.removed.length,
    });
    for (const c of r.containers) {
      run.deps.recorder?.event(
        makeKey(BACKUP_WORKLOAD_KIND, c),
        'Normal',
        dryRun ? 'RetentionDryRun' : 'RetentionApplied',
        `${g.path}: kept ${r.kept.length}, ${dryRun ? 'would remove' : 'removed'} ${r.removed.length} (${g.keep})`,
      );
    }
  } catch (err) {
    r.status = 'failed';
    r.error = (err as Error).message;
    run.logger.error('retention.failed', {
      path: g.path,
      containers: r.containers,
      error: r.error,
    });
    for (const c of r.containers) {
      run.deps.recorder?.event(
        makeKey(BACKUP_WORKLOAD_KIND, c),
        'Warning',
        'RetentionFailed',
        r.error,
      );
    }
  }
  return r;
}

/**
 * The workload's own file snapshots (`matching`: this host's, holding `g.path`). Only those whose
 * path list is exactly `[g.path]` are forgotten: when some also hold other paths, the policy is
 * computed with `--dry-run` and only the single-path ones it would remove are forgotten by id.
 */
async function forgetFiles(
  run: ForgetRun,
  g: PathGroup,
  matching: ResticSnapshot[],
  r: WorkloadForgetResult,
): Promise<void> {
  const { host, dryRun, prune } = run;
  const base = ['forget', '--host', host, '--group-by', 'host,paths', '--path', g.path, ...g.flags];
  const mixed = matching.filter((s) => !samePaths(s.paths, g.path));
  if (mixed.length === 0) {
    const args = [
      ...base,
      ...(dryRun ? ['--dry-run'] : prune === 'per-workload' ? ['--prune'] : []),
      '--json',
    ];
    const out = await runResticChecked(run.deps.restic, args, signalOpt(run.options));
    for (const group of parseForgetOutput(out.stdout)) {
      if (!samePaths(group.paths, g.path) || group.host !== host) {
        // Only possible if a multi-path snapshot appeared since `snapshots` ran.
        run.warn(
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
    run.warn(
      r,
      'RetentionSharedSnapshots',
      `${mixed.length} snapshot(s) hold ${g.path} together with other paths (${others.slice(0, 3).join(', ')}` +
        `${others.length > 3 ? ', ...' : ''}); they are left untouched, forgetting them would delete other workloads' data`,
    );
    const out = await runResticChecked(
      run.deps.restic,
      [...base, '--dry-run', '--json'],
      signalOpt(run.options),
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
        run.deps.restic,
        ['forget', ...(prune === 'per-workload' ? ['--prune'] : []), ...ids],
        signalOpt(run.options),
      );
    }
  }
}
