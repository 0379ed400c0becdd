/**
 * JSON Schemas of the two file formats. These objects are the source of truth; the copies in
 * crd-like-schemas/ are checked against them by a test (UPDATE_GOLDEN=1 rewrites the copies), so
 * the package never reads files outside its own dist at run time.
 * Structure only: cross-field rules (unique ids, repo exists, cron parses...) are in
 * validate-config.ts, because JSON Schema can't express them.
 */

const stringArray = { type: 'array', items: { type: 'string' } } as const;

export const SIDECAR_CONFIG_SCHEMA_ID = 'https://dockop.dev/schemas/backrest/sidecar-config.json';
export const BACKREST_CONFIG_SCHEMA_ID = 'https://dockop.dev/schemas/backrest/backrest-config.json';

export const sidecarConfigSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: SIDECAR_CONFIG_SCHEMA_ID,
  title: 'backrest-sidecar config file (the seed file model)',
  description:
    'Repos are provisioned out of band and never edited; plans are upserted by id. Unknown fields are kept.',
  type: 'object',
  properties: {
    repos: {
      type: 'array',
      items: {
        type: 'object',
        required: ['id'],
        properties: {
          id: { type: 'string' },
          type: { type: 'string' },
          url: { type: 'string' },
          env: { type: 'object', additionalProperties: { type: 'string' } },
        },
      },
    },
    plans: {
      type: 'array',
      items: {
        type: 'object',
        required: ['id', 'repo', 'schedule', 'sources'],
        properties: {
          id: { type: 'string', description: 'unique, deterministic' },
          repo: { type: 'string' },
          schedule: { type: 'string', description: '5-field cron' },
          sources: stringArray,
          exclude: stringArray,
          hooks: {
            type: 'object',
            properties: {
              pre: stringArray,
              post: stringArray,
              dump: {
                ...stringArray,
                description:
                  'backrest.dump: commands writing a database dump before the snapshot; a failing one fails the backup',
              },
            },
          },
          retention: {
            type: 'object',
            properties: {
              spec: { type: 'string', description: 'raw backrest.keep, e.g. daily=7,weekly=4' },
            },
          },
        },
      },
    },
  },
} as const;

const int32 = { type: 'integer', minimum: -2147483648, maximum: 2147483647 } as const;

const scheduleSchema = {
  type: 'object',
  properties: {
    disabled: { type: 'boolean' },
    cron: { type: 'string' },
    maxFrequencyDays: int32,
    maxFrequencyHours: int32,
    clock: { enum: ['CLOCK_DEFAULT', 'CLOCK_LOCAL', 'CLOCK_UTC', 'CLOCK_LAST_RUN_TIME'] },
  },
} as const;

export const HOOK_CONDITIONS = [
  'CONDITION_UNKNOWN',
  'CONDITION_ANY_ERROR',
  'CONDITION_SNAPSHOT_START',
  'CONDITION_SNAPSHOT_END',
  'CONDITION_SNAPSHOT_ERROR',
  'CONDITION_SNAPSHOT_WARNING',
  'CONDITION_SNAPSHOT_SUCCESS',
  'CONDITION_SNAPSHOT_SKIPPED',
  'CONDITION_PRUNE_START',
  'CONDITION_PRUNE_ERROR',
  'CONDITION_PRUNE_SUCCESS',
  'CONDITION_CHECK_START',
  'CONDITION_CHECK_ERROR',
  'CONDITION_CHECK_SUCCESS',
  'CONDITION_FORGET_START',
  'CONDITION_FORGET_ERROR',
  'CONDITION_FORGET_SUCCESS',
] as const;

const hookSchema = {
  type: 'object',
  properties: {
    // protojson also accepts the enum's number.
    conditions: { type: 'array', items: { anyOf: [{ enum: HOOK_CONDITIONS }, int32] } },
    onError: { type: ['string', 'integer'] },
    actionCommand: { type: 'object', properties: { command: { type: 'string' } } },
  },
} as const;

export const backrestConfigSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: BACKREST_CONFIG_SCHEMA_ID,
  title: "Backrest's native config.json (proto v1.Config as protojson, camelCase)",
  description:
    'Only the fields backrest-sidecar reads or writes are constrained; anything else is kept as is.',
  type: 'object',
  properties: {
    modno: int32,
    version: int32,
    instance: { type: 'string' },
    repos: {
      type: 'array',
      items: {
        type: 'object',
        required: ['id'],
        properties: {
          id: { type: 'string' },
          uri: { type: 'string' },
          guid: { type: 'string' },
          password: { type: 'string' },
          env: stringArray,
          flags: stringArray,
          hooks: { type: 'array', items: hookSchema },
        },
      },
    },
    plans: {
      type: 'array',
      items: {
        type: 'object',
        required: ['id', 'repo'],
        properties: {
          id: { type: 'string' },
          repo: { type: 'string' },
          paths: stringArray,
          excludes: stringArray,
          iexcludes: stringArray,
          schedule: scheduleSchema,
          retention: {
            type: 'object',
            properties: {
              policyKeepLastN: int32,
              policyKeepAll: { type: 'boolean' },
              policyTimeBucketed: {
                type: 'object',
                properties: {
                  hourly: int32,
                  daily: int32,
                  weekly: int32,
                  monthly: int32,
                  yearly: int32,
                  keepLastN: int32,
                },
              },
            },
          },
          hooks: { type: 'array', items: hookSchema },
          backup_flags: stringArray,
          skipIfUnchanged: { type: 'boolean' },
        },
      },
    },
    auth: { type: 'object' },
    sync: { type: 'object' },
  },
} as const;
