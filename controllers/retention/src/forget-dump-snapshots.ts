import { DUMP_PRESET_NAMES, dumpFileName, type WorkloadForgetResult } from '@backrest-sidecar/api';
import { parseForgetOutput, runResticChecked, type ResticSnapshot } from '@backrest-sidecar/restic';
import { signalOpt, type ForgetRun, type PathGroup } from './forget-run.js';

/** One workload's dump snapshots at one file path (`/<workload>.<ext>`). */
export interface DumpSeries {
  container: string;
  /** `/<workload>.<ext>`, as restic records a `--stdin --stdin-filename` snapshot. */
  path: string;
  /** Both must be on a snapshot: ours (`backrest-sidecar`) and this container's. */
  tags: [string, string];
  snapshots: ResticSnapshot[];
}

/**
 * The dump snapshots (`backup-once` streams a dump preset into `restic backup --stdin
 * --stdin-filename <workload>.<ext>` with the workload's tags) of the group's containers among
 * `snapshots`: made by `host`, whose only path is `/<container>.<ext>` of some preset (a preset
 * changed since still counts), and tagged both `backrest-sidecar` and `container:<name>`.
 * Grouped by path: each file is its own series under the workload's policy.
 */
export function dumpSeries(g: PathGroup, snapshots: ResticSnapshot[], host: string): DumpSeries[] {
  const out: DumpSeries[] = [];
  for (const t of g.targets) {
    const tags: [string, string] = ['backrest-sidecar', `container:${t.name}`];
    const paths = new Set(DUMP_PRESET_NAMES.map((p) => `/${dumpFileName(t.name, p)}`));
    for (const path of [...paths].sort()) {
      const matching = snapshots.filter(
        (s) =>
          s.hostname === host &&
          Array.isArray(s.paths) &&
          s.paths.length === 1 &&
          s.paths[0] === path &&
          Array.isArray(s.tags) &&
          tags.every((tag) => s.tags!.includes(tag)),
      );
      if (matching.length > 0) out.push({ container: t.name, path, tags, snapshots: matching });
    }
  }
  return out;
}

/**
 * Brings one dump series to the group's keep flags: `restic forget --host <host> --tag
 * backrest-sidecar,container:<name> --group-by host,paths --path /<name>.<ext> <flags>`, so
 * only that container's dumps at that file can be removed. Adds to `r`'s kept and removed;
 * throws when restic fails (the caller marks the result failed).
 */
export async function forgetDumpSeries(
  run: ForgetRun,
  g: PathGroup,
  series: DumpSeries,
  r: WorkloadForgetResult,
): Promise<void> {
  const args = [
    'forget',
    '--host',
    run.host,
    '--tag',
    series.tags.join(','),
    '--group-by',
    'host,paths',
    '--path',
    series.path,
    ...g.flags,
    ...(run.dryRun ? ['--dry-run'] : run.prune === 'per-workload' ? ['--prune'] : []),
    '--json',
  ];
  const out = await runResticChecked(run.deps.restic, args, signalOpt(run.options));
  let kept = 0;
  let removed = 0;
  for (const group of parseForgetOutput(out.stdout)) {
    const paths = group.paths ?? [];
    if (paths.length !== 1 || paths[0] !== series.path || group.host !== run.host) {
      run.warn(
        r,
        'RetentionUnexpectedGroup',
        `restic grouped host ${JSON.stringify(group.host)} paths ${JSON.stringify(group.paths)} under --host ${run.host} --path ${series.path}`,
      );
    }
    kept += (group.keep ?? []).length;
    removed += (group.remove ?? []).length;
    r.kept.push(...(group.keep ?? []).map((s) => s.short_id));
    r.removed.push(...(group.remove ?? []).map((s) => s.short_id));
  }
  run.logger.info(run.dryRun ? 'retention.would_forget_dumps' : 'retention.forgotten_dumps', {
    container: series.container,
    path: series.path,
    keep: g.keep,
    kept,
    removed,
  });
}
