import type { EventRecorder, Logger } from '@dockop/runtime';
import { makeKey } from '@dockop/runtime';
import { BACKUP_WORKLOAD_KIND, groupReplicas } from '@backrest-sidecar/api';
import {
  parseBackupLine,
  type ResticBackupSummary,
  type ResticRunner,
} from '@backrest-sidecar/restic';
import { warnPathCollision, type PathCollision, type WorkloadTarget } from '@backrest-sidecar/api';
import { planServiceBackup, workloadTags } from './backup-workloads.js';
import type { WorkloadBackupResult } from './backup-result.js';
import type { ProgressReporter } from './progress.js';
import type { DumpOutcome } from './dump-backup.js';

export interface ResticEngineOptions {
  includeProjectName: boolean;
  excludeBindMounts: boolean;
  host: string;
  /** Paths two workloads map to (`findPathCollisions`): their workloads are refused. Default none. */
  collisions?: Map<string, PathCollision>;
  tags: string[];
  labels: Record<string, string>;
  /**
   * Dumps already taken (`runDumps`), by workload (a replicated service's first replica):
   * merged into the workloads' results.
   */
  dumps?: Map<string, DumpOutcome>;
  signal?: AbortSignal;
}

/**
 * One snapshot per workload (the replicas of one Compose or Swarm service are one workload, named
 * after its first replica: `groupReplicas`, `planServiceBackup`): a one-shot restic container with the workload's mounts read-only at
 * `/volumes[/<project>]/<service>/<destination>` runs `restic backup /volumes[/<project>]/<service>`,
 * so each snapshot's only path is exactly the one the retention loop passes to `forget --path`.
 * Workloads run one after another; one failing does not stop the others.
 */
export async function runResticEngine(
  targets: WorkloadTarget[],
  runner: ResticRunner,
  options: ResticEngineOptions,
  deps: {
    logger: Logger;
    recorder?: EventRecorder;
    progress: ProgressReporter;
    now?: () => number;
  },
): Promise<WorkloadBackupResult[]> {
  const now = deps.now ?? (() => performance.now());
  const results: WorkloadBackupResult[] = [];
  for (const group of groupReplicas(targets)) {
    const plan = planServiceBackup(group.members, options);
    const target = plan.target;
    const replicas = plan.replicas ?? [];
    const key = makeKey(BACKUP_WORKLOAD_KIND, target.name);
    const r: WorkloadBackupResult = {
      container: target.name,
      ...(replicas.length > 1 ? { replicas: replicas.map((t) => t.name) } : {}),
      path: plan.path,
      status: 'ok',
      durationMs: 0,
      warnings: [],
    };
    results.push(r);
    const started = now();
    const dump = options.dumps?.get(target.name);
    if (dump) {
      r.dump = {
        status: dump.status,
        ...(dump.file ? { file: dump.file } : {}),
        ...(dump.snapshotId ? { snapshotId: dump.snapshotId } : {}),
        ...(dump.bytes !== undefined ? { bytes: dump.bytes } : {}),
        ...(dump.error ? { error: dump.error } : {}),
      };
    }
    // `backrest.dump.only=true`, or a database without mounts: the dump is the whole backup.
    if (dump && (dump.settings?.only === true || plan.mounts.length === 0)) {
      r.path = dump.file ? `/${dump.file}` : plan.path;
      r.durationMs = dump.durationMs;
      if (dump.status === 'ok') {
        r.status = 'ok';
        r.snapshotId = dump.snapshotId!;
      } else {
        r.status = 'failed';
        r.error = dump.error ?? 'dump failed';
      }
      continue;
    }
    if (options.signal?.aborted) {
      r.status = 'failed';
      r.error = 'aborted before this workload';
      continue;
    }
    const collision = options.collisions?.get(plan.path);
    if (collision) {
      r.status = 'failed';
      r.error = collision.message;
      warnPathCollision(deps, 'backup', collision, target.name);
      continue;
    }
    if (plan.mounts.length === 0) {
      r.status = 'skipped';
      r.warnings.push('no volume or bind mount left to back up after the filters');
      deps.logger.warn('backup.skipped', { container: target.name, reason: r.warnings[0] });
      deps.recorder?.event(key, 'Warning', 'BackupSkipped', `${target.name}: ${r.warnings[0]}`);
      continue;
    }
    const args = [
      'backup',
      plan.path,
      '--json',
      '--host',
      options.host,
      ...workloadTags(target, options.tags, replicas).flatMap((t) => ['--tag', t]),
    ];
    let summary: ResticBackupSummary | undefined;
    const errors: string[] = [];
    deps.logger.info('backup.starting', {
      container: target.name,
      ...(r.replicas ? { replicas: r.replicas } : {}),
      path: plan.path,
      mounts: plan.mounts.map((m) => m.target),
    });
    deps.progress.start(target.name);
    try {
      const res = await runner.run(args, {
        mounts: plan.mounts,
        labels: options.labels,
        ...(options.signal ? { signal: options.signal } : {}),
        onStdoutLine: (line) => {
          const m = parseBackupLine(line);
          if (m?.message_type === 'status') deps.progress.status(target.name, m);
          else if (m?.message_type === 'summary') summary = m;
          else if (m?.message_type === 'error')
            errors.push(JSON.stringify(m.error ?? m).slice(0, 300));
        },
      });
      r.oneShotMs = res.durationMs;
      if (res.exitCode === 0 && summary) r.status = 'ok';
      else if (res.exitCode === 3 && summary) {
        r.status = 'partial';
        r.warnings.push(`some files could not be read: ${errors.slice(0, 3).join('; ')}`);
      } else {
        r.status = 'failed';
        r.error = `restic backup exited with ${res.exitCode}: ${res.stderr.trim().split('\n').slice(-3).join(' | ')}`;
      }
    } catch (err) {
      r.status = 'failed';
      r.error = (err as Error).message;
    }
    deps.progress.finish(target.name, r.status === 'failed' ? undefined : summary);
    r.durationMs = now() - started;

    if (summary && r.status !== 'failed') {
      r.snapshotId = summary.snapshot_id;
      r.filesNew = summary.files_new;
      r.filesChanged = summary.files_changed;
      r.filesTotal = summary.total_files_processed;
      r.bytesAdded = summary.data_added;
      r.bytesTotal = summary.total_bytes_processed;
      deps.logger.info('backup.summary', {
        container: target.name,
        path: plan.path,
        snapshot: r.snapshotId,
        files: r.filesTotal,
        filesNew: r.filesNew,
        bytesAdded: r.bytesAdded,
        durationMs: Math.round(r.durationMs),
      });
      deps.recorder?.event(key, 'Normal', 'BackedUp', `snapshot ${r.snapshotId} of ${plan.path}`);
    } else {
      deps.logger.error('backup.failed', {
        container: target.name,
        path: plan.path,
        error: r.error,
      });
      deps.recorder?.event(key, 'Warning', 'BackupFailed', `${plan.path}: ${r.error ?? 'failed'}`);
    }
    // The files are backed up, but without the dump the workload's backup is not whole.
    if (dump?.status === 'failed' && r.status !== 'failed') {
      r.status = 'failed';
      r.error = dump.error ?? 'dump failed';
    }
  }
  return results;
}
