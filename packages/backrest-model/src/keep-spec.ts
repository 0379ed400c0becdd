/**
 * The `backrest.keep` grammar: comma-separated `key=value` terms, e.g.
 * `last=7,daily=7,weekly=4,monthly=12,within=90d`.
 *
 * Invariants (checked against restic 0.14's `forget`):
 * - counts are positive decimal integers (restic treats 0 as "no policy" and -1 as "unlimited";
 *   neither is what someone writing a keep rule means, so both are refused);
 * - durations use restic's `NyNmNdNh` grammar (m = months), units in that order, each at most once,
 *   not all zero. restic 0.14 refuses `w` ("invalid unit 'w'"), so we refuse it too rather than let
 *   the forget loop fail at 02:00;
 * - a key appears at most once (aliases count as the same key);
 * - an empty spec is refused: forget without a keep flag would remove everything.
 */

export type KeepCountKind = 'last' | 'hourly' | 'daily' | 'weekly' | 'monthly' | 'yearly';
export type KeepWithinKind =
  | 'within'
  | 'within-hourly'
  | 'within-daily'
  | 'within-weekly'
  | 'within-monthly'
  | 'within-yearly';

export type KeepRule =
  { kind: KeepCountKind; count: number } | { kind: KeepWithinKind; duration: string };

export interface KeepSpec {
  /** The spec exactly as written. */
  raw: string;
  /** One rule per key, in canonical order (see `KEEP_KINDS`), so flags are stable. */
  rules: KeepRule[];
}

export class KeepSpecError extends Error {
  override readonly name = 'KeepSpecError';
  /** The offending term as written (`''` when the whole spec is empty). */
  readonly term: string;

  constructor(message: string, term: string) {
    super(message);
    this.term = term;
  }
}

/** Every key in canonical (flag) order. */
export const KEEP_KINDS: readonly (KeepCountKind | KeepWithinKind)[] = [
  'last',
  'hourly',
  'daily',
  'weekly',
  'monthly',
  'yearly',
  'within',
  'within-hourly',
  'within-daily',
  'within-weekly',
  'within-monthly',
  'within-yearly',
];

const COUNT_KINDS = new Set<string>(['last', 'hourly', 'daily', 'weekly', 'monthly', 'yearly']);

/** The seed writes `within-d/w/m/y`; the short forms name the same restic flags. */
const ALIASES: Record<string, KeepCountKind | KeepWithinKind> = {
  'within-h': 'within-hourly',
  'within-d': 'within-daily',
  'within-w': 'within-weekly',
  'within-m': 'within-monthly',
  'within-y': 'within-yearly',
};

/** Largest count accepted: restic parses counts with Go's Atoi; keep far away from overflow. */
const MAX_COUNT = 1_000_000;
/** Largest number per duration unit (restic panics on numbers that overflow an int). */
const MAX_DURATION_PART = 1_000_000;

const DURATION_RE = /^(?:(\d+)y)?(?:(\d+)m)?(?:(\d+)d)?(?:(\d+)h)?$/;

/** Checks one `NyNmNdNh` duration; returns an error message, or undefined when valid. */
export function checkResticDuration(value: string): string | undefined {
  const m = value === '' ? null : DURATION_RE.exec(value);
  if (!m) {
    return `"${value}" is not a restic duration: use NyNmNdNh (years, months, days, hours, in that order, e.g. 90d or 1y6m); weeks ("w") are not supported by restic`;
  }
  const parts = m.slice(1).filter((p): p is string => p !== undefined);
  if (parts.some((p) => Number(p) > MAX_DURATION_PART)) {
    return `"${value}" has a number larger than ${MAX_DURATION_PART}`;
  }
  if (parts.every((p) => Number(p) === 0)) {
    return `"${value}" is a zero duration (restic would apply no policy)`;
  }
  return undefined;
}

export function parseKeepSpec(raw: string): KeepSpec {
  if (typeof raw !== 'string' || raw.trim() === '') {
    throw new KeepSpecError('empty keep spec: give at least one rule, e.g. "daily=7,weekly=4"', '');
  }
  const byKind = new Map<string, KeepRule>();
  const termOf = new Map<string, string>();
  for (const rawTerm of raw.split(',')) {
    const term = rawTerm.trim();
    if (term === '') {
      throw new KeepSpecError(`empty term in keep spec "${raw}" (stray comma?)`, rawTerm);
    }
    const eq = term.indexOf('=');
    if (eq < 0) {
      throw new KeepSpecError(`term "${term}" is not key=value`, term);
    }
    const key = term.slice(0, eq).trim().toLowerCase();
    const value = term.slice(eq + 1).trim();
    const kind = ALIASES[key] ?? key;
    if (!(KEEP_KINDS as readonly string[]).includes(kind)) {
      throw new KeepSpecError(
        `term "${term}": unknown key "${key}" (known: ${KEEP_KINDS.join(', ')})`,
        term,
      );
    }
    const previous = termOf.get(kind);
    if (previous !== undefined) {
      throw new KeepSpecError(`term "${term}" repeats "${previous}" (each key at most once)`, term);
    }
    let rule: KeepRule;
    if (COUNT_KINDS.has(kind)) {
      if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > MAX_COUNT) {
        throw new KeepSpecError(
          `term "${term}": "${value}" is not a count (a whole number from 1 to ${MAX_COUNT})`,
          term,
        );
      }
      rule = { kind: kind as KeepCountKind, count: Number(value) };
    } else {
      const problem = checkResticDuration(value);
      if (problem) throw new KeepSpecError(`term "${term}": ${problem}`, term);
      rule = { kind: kind as KeepWithinKind, duration: value };
    }
    byKind.set(kind, rule);
    termOf.set(kind, term);
  }
  const rules = KEEP_KINDS.flatMap((k) => {
    const r = byKind.get(k);
    return r ? [r] : [];
  });
  return { raw, rules };
}

/** `--keep-<kind> <value>` pairs in canonical order. Never empty for a parsed spec. */
export function keepSpecToResticFlags(spec: KeepSpec): string[] {
  if (spec.rules.length === 0) {
    // A hand-built spec with no rules would turn `forget` into "remove everything".
    throw new KeepSpecError('keep spec has no rules', spec.raw);
  }
  return spec.rules.flatMap((r) => [
    `--keep-${r.kind}`,
    'count' in r ? String(r.count) : r.duration,
  ]);
}

/** For schema/label validation: `true`, or the error message. */
export function validateKeepSpec(raw: string): true | string {
  try {
    parseKeepSpec(raw);
    return true;
  } catch (err) {
    if (err instanceof KeepSpecError) return err.message;
    throw err;
  }
}
