import { backupModule } from '@backrest-sidecar/controller-backup';
import type { ContainerModule } from 'inversify';
import type { Settings } from './options.js';

export interface ScheduledBackupFlags {
  rcbImage?: string;
  rcbEnvFile?: string;
}

/**
 * `daemon --backup-schedule <cron>`: the backup controller's scheduler (a LifecycleHook) runs
 * backup-once on that schedule with the daemon's own naming flags, so plans, snapshots and the
 * retention loop agree on ids and paths.
 */
export function backupSchedulerModule(
  settings: Settings,
  schedule: string,
  flags: ScheduledBackupFlags = {},
): ContainerModule {
  return backupModule({
    schedule,
    backup: {
      planIdPrefix: settings.planIdPrefix,
      excludeBindMounts: settings.excludeBindMounts,
      includeProjectName: settings.includeProjectName,
      ...(settings.docker.socketPath ? { dockerSocket: settings.docker.socketPath } : {}),
      ...(flags.rcbImage ? { rcbImage: flags.rcbImage } : {}),
      ...(flags.rcbEnvFile ? { rcbEnvFile: flags.rcbEnvFile } : {}),
    },
  });
}
