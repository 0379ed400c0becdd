import { validateCron, validateKeepSpec } from '@backrest-sidecar/config-sink';
import path from 'node:path';
import { ABSOLUTE_PATH_FORMAT, CRON_FORMAT, KEEP_SPEC_FORMAT } from './backup-workload-schema.js';

/**
 * String formats used by the BackupWorkload schema. Each validator returns `true`, or a sentence
 * saying what is wrong (the schema registry puts it in the error it reports for the label).
 */
export interface FormatValidator {
  readonly name: string;
  validate(value: string): boolean | string;
}

/**
 * An absolute POSIX path with no `..` segment and no NUL/control characters. A `..` segment is
 * refused rather than normalised away: `/data/../../etc` silently becoming `/etc` would hide a
 * traversal attempt in a label.
 */
export function validateAbsolutePath(value: string): true | string {
  if (value === '') return 'empty path';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(value))
    return `path "${JSON.stringify(value)}" contains a control character`;
  if (!value.startsWith('/')) return `path "${value}" is not absolute (must start with /)`;
  if (value.split('/').includes('..')) return `path "${value}" contains a ".." segment`;
  if (value.length > 4096) return `path is longer than 4096 characters`;
  return true;
}

/** Normalises an already valid absolute path: collapses `//` and `.`, drops a trailing `/`. */
export function normalizeAbsolutePath(value: string): string {
  const n = path.posix.normalize(value);
  return n.length > 1 && n.endsWith('/') ? n.slice(0, -1) : n;
}

/**
 * `cron`: what Backrest's parser accepts (5 fields or an `@daily`-style descriptor). The grammar
 * lives in config-sink, which checks the same schedule again before writing: one source of truth.
 */
export function cronFormat(): FormatValidator {
  return { name: CRON_FORMAT, validate: (v) => validateCron(v) };
}

export function absolutePathFormat(): FormatValidator {
  return { name: ABSOLUTE_PATH_FORMAT, validate: validateAbsolutePath };
}

/** `keep-spec`: the `backrest.keep` grammar, config-sink's `parseKeepSpec` rules. */
export function keepSpecFormat(): FormatValidator {
  return { name: KEEP_SPEC_FORMAT, validate: (v) => validateKeepSpec(v) };
}

/** Every format the BackupWorkload schema uses. */
export function backupWorkloadFormats(): FormatValidator[] {
  return [cronFormat(), absolutePathFormat(), keepSpecFormat()];
}
