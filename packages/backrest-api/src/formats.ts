import { validateCron, validateKeepSpec } from '@backrest-sidecar/backrest-model';
import path from 'node:path';
import {
  ABSOLUTE_PATH_FORMAT,
  COMMAND_FORMAT,
  CRON_FORMAT,
  DUMP_ARG_FORMAT,
  DUMP_NAME_FORMAT,
  KEEP_SPEC_FORMAT,
} from './backup-workload-schema.js';

/**
 * String formats used by the BackupWorkload schema. Each validator returns `true`, or a sentence
 * saying what is wrong (the schema registry puts it in the error it reports for the label).
 */
export interface FormatValidator {
  readonly name: string;
  validate(value: string): boolean | string;
}

/**
 * Bidi controls (U+202A–U+202E, U+2066–U+2069) and zero-width characters (U+200B–U+200D, U+2060,
 * U+FEFF): they make a hook or path read differently from what runs ("Trojan Source").
 */
const INVISIBLE = /[\u202a-\u202e\u2066-\u2069\u200b-\u200d\u2060\ufeff]/u;

/** The first bidi or zero-width character of `value`, as `U+XXXX`, or undefined. */
export function invisibleCharacter(value: string): string | undefined {
  const m = INVISIBLE.exec(value);
  return m ? `U+${m[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}` : undefined;
}

/** A hook command: no control, bidi or zero-width character (the rest is the shell's business). */
export function validateCommand(value: string): true | string {
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f]/.test(value)) return 'command contains a control character';
  const invisible = invisibleCharacter(value);
  if (invisible) return `command contains the invisible or bidi character ${invisible}`;
  return true;
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
  const invisible = invisibleCharacter(value);
  if (invisible) return `path contains the invisible or bidi character ${invisible}`;
  if (!value.startsWith('/')) return `path "${value}" is not absolute (must start with /)`;
  if (value.split('/').includes('..')) return `path "${value}" contains a ".." segment`;
  if (value.length > 4096) return `path is longer than 4096 characters`;
  return true;
}

/** An empty, `.` or `..` segment: what path.normalize would change (besides a trailing `/`). */
const NOT_NORMAL = /\/\/|\/\.\.?(?:\/|$)/;

/** Normalises an already valid absolute path: collapses `//` and `.`, drops a trailing `/`. */
export function normalizeAbsolutePath(value: string): string {
  // Most paths are normal already: one native test instead of path.normalize's loop over every
  // character (a render normalises each mount's paths, thousands).
  if (
    value.startsWith('/') &&
    !NOT_NORMAL.test(value) &&
    (value.length === 1 || !value.endsWith('/'))
  )
    return value;
  const n = path.posix.normalize(value);
  return n.length > 1 && n.endsWith('/') ? n.slice(0, -1) : n;
}

/**
 * `cron`: what Backrest's parser accepts (5 fields or an `@daily`-style descriptor). The grammar
 * lives in @backrest-sidecar/backrest-model; the config sink checks the same schedule again before writing: one source of truth.
 */
export function cronFormat(): FormatValidator {
  return { name: CRON_FORMAT, validate: (v) => validateCron(v) };
}

export function absolutePathFormat(): FormatValidator {
  return { name: ABSOLUTE_PATH_FORMAT, validate: validateAbsolutePath };
}

/** `keep-spec`: the `backrest.keep` grammar, backrest-model's `parseKeepSpec` rules. */
export function keepSpecFormat(): FormatValidator {
  return { name: KEEP_SPEC_FORMAT, validate: (v) => validateKeepSpec(v) };
}

/** `command`: a hook; refuses control, bidi and zero-width characters. */
export function commandFormat(): FormatValidator {
  return { name: COMMAND_FORMAT, validate: validateCommand };
}

/**
 * `dump-arg`: one argv item of the dump tool. No control, bidi or zero-width character (it is
 * never shell text, but it is shown in logs and `ps`).
 */
export function validateDumpArg(value: string): true | string {
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f]/.test(value)) return 'argument contains a control character';
  const invisible = invisibleCharacter(value);
  if (invisible) return `argument contains the invisible or bidi character ${invisible}`;
  return true;
}

/**
 * `dump-name`: a database or user name (or sqlite file path). As `dump-arg`, and not starting
 * with `-` (a tool would read it as an option) and without `=` (pg_dump reads a name with `=`
 * as a connection string: another host).
 */
export function validateDumpName(value: string): true | string {
  const arg = validateDumpArg(value);
  if (arg !== true) return arg.replace('argument', 'name');
  if (value.startsWith('-')) return 'name starts with "-" (a dump tool would read it as an option)';
  if (value.includes('=')) return 'name contains "=" (pg_dump reads it as a connection string)';
  return true;
}

export function dumpArgFormat(): FormatValidator {
  return { name: DUMP_ARG_FORMAT, validate: validateDumpArg };
}

export function dumpNameFormat(): FormatValidator {
  return { name: DUMP_NAME_FORMAT, validate: validateDumpName };
}

/** Every format the BackupWorkload schema uses. */
export function backupWorkloadFormats(): FormatValidator[] {
  return [
    cronFormat(),
    absolutePathFormat(),
    keepSpecFormat(),
    commandFormat(),
    dumpArgFormat(),
    dumpNameFormat(),
  ];
}
