import { BACKUP_WORKLOAD_SCHEMA_ID } from './backup-workload.js';
import { DUMP_PRESET_NAMES } from './dump-preset.js';

/** Format names this package contributes to the schema registry (see formats.ts). */
export const CRON_FORMAT = 'cron';
export const ABSOLUTE_PATH_FORMAT = 'absolute-path';
export const KEEP_SPEC_FORMAT = 'keep-spec';
export const COMMAND_FORMAT = 'command';
export const DUMP_NAME_FORMAT = 'dump-name';
export const DUMP_ARG_FORMAT = 'dump-arg';

const absolutePaths = {
  type: 'array',
  items: { type: 'string', format: ABSOLUTE_PATH_FORMAT },
} as const;

const commands = {
  type: 'array',
  items: { type: 'string', minLength: 1, format: COMMAND_FORMAT },
} as const;

const names = {
  type: 'array',
  items: { type: 'string', minLength: 1 },
} as const;

/**
 * JSON Schema of the BackupWorkload spec (labels decoded: prefixes stripped, dots nested, the rcb
 * keys mapped by the definition's `selector.paths`). The same document is published as
 * crd-like-schemas/backup-workload.schema.json; a unit test keeps the two identical.
 */
export const backupWorkloadSchema = {
  $id: BACKUP_WORKLOAD_SCHEMA_ID,
  $schema: 'http://json-schema.org/draft-07/schema#',
  title: 'BackupWorkload spec (backrest.dockop.io/v1alpha1)',
  description:
    'Labels of a container opted into backups: backrest.* and restic-compose-backup.* keys.',
  type: 'object',
  required: ['enable'],
  additionalProperties: false,
  properties: {
    enable: { type: 'boolean', description: 'backrest.enable: opt-in.' },
    repo: {
      type: 'string',
      minLength: 1,
      maxLength: 256,
      description: 'backrest.repo: Backrest repo id (default: --default-repo, else first repo).',
    },
    schedule: {
      type: 'string',
      format: CRON_FORMAT,
      description: 'backrest.schedule: 5-field cron or @hourly/@daily/@weekly/@monthly/@yearly.',
    },
    paths: {
      type: 'object',
      additionalProperties: false,
      properties: {
        include: {
          ...absolutePaths,
          description: 'backrest.paths.include: CSV of paths; overrides mount derivation.',
        },
        exclude: { ...absolutePaths, description: 'backrest.paths.exclude: CSV of paths.' },
      },
    },
    pre: {
      ...commands,
      description: 'backrest.pre: list (CSV or JSON array) of commands run before a snapshot.',
    },
    post: {
      ...commands,
      description: 'backrest.post: list (CSV or JSON array) of commands run after a snapshot.',
    },
    keep: {
      type: 'string',
      format: KEEP_SPEC_FORMAT,
      description: 'backrest.keep: e.g. last=7,daily=7,weekly=4,monthly=12,within=90d.',
    },
    rcb: {
      type: 'object',
      additionalProperties: false,
      properties: {
        quiesce: { type: 'boolean', description: 'restic-compose-backup.quiesce.' },
        volumes: {
          type: 'object',
          additionalProperties: false,
          properties: {
            enabled: { type: 'boolean', description: 'restic-compose-backup.volumes.' },
            include: { ...names, description: 'restic-compose-backup.volumes.include (CSV).' },
            exclude: { ...names, description: 'restic-compose-backup.volumes.exclude (CSV).' },
          },
        },
      },
    },
    dump: {
      type: 'object',
      additionalProperties: false,
      properties: {
        preset: {
          type: 'string',
          enum: [...DUMP_PRESET_NAMES],
          description: `backrest.dump: dump the database with docker exec (${DUMP_PRESET_NAMES.join('|')}).`,
        },
        database: {
          type: 'string',
          minLength: 1,
          maxLength: 4096,
          format: DUMP_NAME_FORMAT,
          description:
            'backrest.dump.database: database name (sqlite: the file inside the container).',
        },
        user: {
          type: 'string',
          minLength: 1,
          maxLength: 256,
          format: DUMP_NAME_FORMAT,
          description: 'backrest.dump.user: database user.',
        },
        passwordEnv: {
          type: 'string',
          pattern: '^[A-Za-z_][A-Za-z0-9_]{0,127}$',
          description:
            "backrest.dump.password-env: NAME of the container's variable holding the password.",
        },
        args: {
          type: 'array',
          maxItems: 64,
          items: { type: 'string', minLength: 1, maxLength: 4096, format: DUMP_ARG_FORMAT },
          description: 'backrest.dump.args: list of extra arguments of the dump tool (argv).',
        },
        only: {
          type: 'boolean',
          description: 'backrest.dump.only: back up the dump instead of the data directory.',
        },
      },
    },
  },
} as const;
