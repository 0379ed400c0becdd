import { makeKey, type EventRecorder, type LogFields, type Logger } from '@dockop/runtime';
import { BACKUP_WORKLOAD_KIND } from './backup-workload.js';
import type { PathCollision } from './path-collisions.js';
import type { RefusedTarget } from './workload-target.js';

/** Where the one-shot modes report a refused workload. */
export interface WorkloadWarningSink {
  logger: Pick<Logger, 'warn' | 'error'>;
  recorder?: Pick<EventRecorder, 'event'> | undefined;
}

/**
 * The one way backup-once, the restic engine and forget report a workload they refuse: one log
 * line `<component>.<reason in snake_case>` (`PathCollision` → `backup.path_collision`) and one
 * Warning event (`reason`, `message`) on each container's BackupWorkload key.
 */
export function warnWorkloads(
  sink: WorkloadWarningSink,
  component: string,
  reason: string,
  containers: readonly string[],
  message: string,
  options: { level?: 'warn' | 'error'; fields?: LogFields } = {},
): void {
  const action = `${component}.${reason.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase()}`;
  sink.logger[options.level ?? 'warn'](action, {
    ...(containers.length === 1 ? { container: containers[0] } : { containers: [...containers] }),
    ...options.fields,
    error: message,
  });
  for (const c of containers) {
    sink.recorder?.event(makeKey(BACKUP_WORKLOAD_KIND, c), 'Warning', reason, message);
  }
}

/** `UnsafeName` for each workload `partitionSafeTargets` refused (its name can't be a path). */
export function warnUnsafeNames(
  sink: WorkloadWarningSink,
  component: string,
  refused: readonly RefusedTarget[],
): void {
  for (const { target, message } of refused) {
    warnWorkloads(sink, component, 'UnsafeName', [target.name], message);
  }
}

/**
 * `PathCollision` (logged as an error: both workloads lose their backups or retention) on every
 * container of `collision`, or only on `only` (the restic engine reports the one it skips).
 */
export function warnPathCollision(
  sink: WorkloadWarningSink,
  component: string,
  collision: PathCollision,
  only?: string,
): void {
  warnWorkloads(
    sink,
    component,
    'PathCollision',
    only !== undefined ? [only] : collision.containers,
    collision.message,
    { level: 'error', fields: { path: collision.path, containers: collision.containers } },
  );
}
