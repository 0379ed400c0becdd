/**
 * The repository flags `snapshots`, `restore` and `verify` take: the very option definitions
 * backup-once uses (`--rcb-env-file`, `--restic-image`, `--restic-volume`, `--restic-host`,
 * `--plan-id-prefix`, and the one-shot flags with `--state-dir`), so the repository a backup was
 * written to is read back with the same command line.
 */
import type { RepositoryOptions } from '@backrest-sidecar/controller-backup';
import type { OneShotMount } from '@dockop/docker';
import type { Command } from 'commander';
import {
  addOneShotOptions,
  planIdPrefixOption,
  rcbEnvFileOption,
  resticHostOption,
  resticImageOption,
  resticVolumeOption,
  type OneShotFlags,
} from './one-shot.js';

export interface RepositoryFlags extends OneShotFlags {
  rcbEnvFile?: string;
  resticImage: string;
  resticVolume: OneShotMount[];
  resticHost?: string;
  planIdPrefix: string;
}

export function addRepositoryOptions(cmd: Command): Command {
  cmd
    .addOption(rcbEnvFileOption('Docker env file with RESTIC_* (the one backup-once used)'))
    .addOption(
      resticImageOption('restic image of the one-shots (needs a shell: busybox or alpine)'),
    )
    .addOption(
      resticVolumeOption(
        'extra mount of every restic one-shot, e.g. a local repository (repeatable)',
      ),
    )
    .addOption(resticHostOption())
    .addOption(planIdPrefixOption('plan id prefix, to find a workload by its plan id'));
  return addOneShotOptions(cmd);
}

/**
 * Flags → repository options. `--restic-host` (no default here) filters snapshots only when given
 * (flag or env): Backrest records its own instance as the host of the snapshots it makes.
 */
export function toRepositoryOptions(flags: RepositoryFlags): RepositoryOptions {
  return {
    ...(flags.rcbEnvFile ? { rcbEnvFile: flags.rcbEnvFile } : {}),
    resticImage: flags.resticImage,
    resticMounts: flags.resticVolume,
    ...(flags.resticHost ? { resticHost: flags.resticHost } : {}),
    planIdPrefix: flags.planIdPrefix,
    ...(flags.selector.length ? { selector: flags.selector } : {}),
  };
}
