import type { Resource, ResourceDefinition } from '@dockop/runtime';

/** API group, version and kind of the one resource kind backrest-sidecar defines. */
export const BACKREST_GROUP = 'backrest.dockop.io';
export const BACKREST_VERSION = 'v1alpha1';
export const BACKUP_WORKLOAD_KIND = 'BackupWorkload';
export const BACKUP_WORKLOAD_PLURAL = 'backupworkloads';
export const BACKUP_WORKLOAD_SCHEMA_ID = 'https://dockop.dev/schemas/backrest/backup-workload.json';

/** The opt-in label: only containers with `backrest.enable=true` become BackupWorkloads. */
export const ENABLE_LABEL = 'backrest.enable';

/** Every label key of the seed's schema, by meaning. */
export const Labels = {
  enable: 'backrest.enable',
  repo: 'backrest.repo',
  schedule: 'backrest.schedule',
  pathsInclude: 'backrest.paths.include',
  pathsExclude: 'backrest.paths.exclude',
  pre: 'backrest.pre',
  post: 'backrest.post',
  keep: 'backrest.keep',
  rcbQuiesce: 'restic-compose-backup.quiesce',
  rcbVolumes: 'restic-compose-backup.volumes',
  rcbVolumesInclude: 'restic-compose-backup.volumes.include',
  rcbVolumesExclude: 'restic-compose-backup.volumes.exclude',
  dump: 'backrest.dump',
  dumpDatabase: 'backrest.dump.database',
  dumpUser: 'backrest.dump.user',
  dumpPasswordEnv: 'backrest.dump.password-env',
  dumpArgs: 'backrest.dump.args',
  dumpOnly: 'backrest.dump.only',
} as const;

/**
 * The decoded, schema-validated spec of a BackupWorkload (labels with their prefix stripped;
 * CSV values already split into arrays by the runtime's schema registry).
 */
export interface BackupWorkloadSpec {
  enable: boolean;
  /** Backrest repo id; default: `--default-repo`, else the config's first repo. */
  repo?: string;
  /** 5-field cron (or an `@daily`-style descriptor); default `--default-schedule`. */
  schedule?: string;
  paths?: {
    /** Container or host paths; container paths under a mount are rewritten to the host path. */
    include?: string[];
    exclude?: string[];
  };
  /** Commands Backrest runs before/after a snapshot; `$SELF` is the container name. */
  pre?: string[];
  post?: string[];
  /** `backrest.keep` grammar, e.g. `daily=7,weekly=4,within=90d`. */
  keep?: string;
  /** restic-compose-backup compatible keys. */
  rcb?: {
    quiesce?: boolean;
    volumes?: { enabled?: boolean; include?: string[]; exclude?: string[] };
  };
  /** `backrest.dump*`: a database dump taken in the container (see dump-preset.ts). */
  dump?: {
    preset?: string;
    database?: string;
    user?: string;
    passwordEnv?: string;
    args?: string[];
    only?: boolean;
  };
}

/**
 * Spec paths that make Backrest run commands (`pre`, `post`: hooks), read host paths
 * (`paths.include`) or delete snapshots (`keep`: an image's `keep=last=1` would shrink the
 * retention of every container started from it), in one place. A label decoding to one of them (under `backrest.` or
 * `restic-compose-backup.` alike) is dropped with a Warning when its value comes from the image
 * or the image can't be inspected, unless `--trust-image-labels`.
 */
export const SENSITIVE_SPEC_PATHS: readonly string[] = [
  'pre',
  'post',
  'paths.include',
  'keep',
  // The dump tool's options (`--exclude-table`...) and dump-only (the data directory left out):
  // an image's label could shrink what every container started from it has backed up.
  'dump.args',
  'dump.only',
];

export type BackupWorkload<Status = unknown> = Resource<BackupWorkloadSpec, Status>;

/**
 * The crd-like definition the Docker source uses to select and decode containers. The rcb keys are
 * mapped explicitly: `restic-compose-backup.volumes` is both a value and the parent of
 * `.include`/`.exclude`, which plain dot-nesting cannot express.
 */
export const backupWorkloadDefinition: ResourceDefinition = {
  group: BACKREST_GROUP,
  version: BACKREST_VERSION,
  kind: BACKUP_WORKLOAD_KIND,
  plural: BACKUP_WORKLOAD_PLURAL,
  description: 'A container opted into backups with backrest.* labels',
  selector: {
    prefixes: ['backrest.', 'restic-compose-backup.'],
    enableLabel: ENABLE_LABEL,
    paths: {
      [Labels.rcbQuiesce]: 'rcb.quiesce',
      [Labels.rcbVolumes]: 'rcb.volumes.enabled',
      [Labels.rcbVolumesInclude]: 'rcb.volumes.include',
      [Labels.rcbVolumesExclude]: 'rcb.volumes.exclude',
      // `backrest.dump` is both a value and the parent of `.database`...: mapped one by one.
      [Labels.dump]: 'dump.preset',
      [Labels.dumpDatabase]: 'dump.database',
      [Labels.dumpUser]: 'dump.user',
      [Labels.dumpPasswordEnv]: 'dump.passwordEnv',
      [Labels.dumpArgs]: 'dump.args',
      [Labels.dumpOnly]: 'dump.only',
    },
    sensitivePaths: [...SENSITIVE_SPEC_PATHS],
  },
  schemaId: BACKUP_WORKLOAD_SCHEMA_ID,
};
