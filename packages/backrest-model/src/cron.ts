/**
 * Cron expressions in Backrest's dialect: the one module the label schema (`backrest.schedule`),
 * `--default-schedule`, the config validator and `daemon --backup-schedule` all use.
 *
 * Backrest reads `schedule.cron` with github.com/gitploy-io/cronexpr (internal/protoutil/
 * schedule.go `ValidateSchedule`): exactly five whitespace-separated fields, per field a `,` list
 * of `*`, `N`, `N-M`, each optionally `/step`, month names JAN-DEC and day names SUN-SAT; no `?`,
 * `L`, `W`, `#`, no `@daily` descriptors, no seconds or years. Values are not range-checked: a
 * value the calendar never has (minute 61, day-of-week 7) selects nothing, and the expression is
 * refused only when it has no run within five years. When day-of-month and day-of-week are both
 * restricted BOTH must match (AND, unlike Vixie cron's OR). `*\/0` makes Backrest loop forever.
 *
 * Two dialects:
 * - `strict` (the default): what we write. Backrest's grammar plus range checks (minute 0-59,
 *   hour 0-23, day-of-month 1-31, month 1-12, day-of-week 0-7), no backwards ranges, steps from 1
 *   to the field's span, digits without sign. Backrest would accept `0,61 * * * *` and silently
 *   never use 61: a typo in a label must be a clear error, not a schedule that quietly differs
 *   from what was meant. Descriptors are translated to five fields (with a note the caller shows
 *   the user). Day-of-week 7 is accepted in a list or range, as Backrest does, with a note: it
 *   is not Sunday there (`5-7` runs on Friday and Saturday only).
 * - `backrest`: exactly what Backrest loads, for plans we did not write: refusing a schedule
 *   Backrest runs would block every later write of the file.
 */

export type CronDialect = 'strict' | 'backrest';

/** Which wall clock next-fire times are computed in. Backrest uses its process's local zone. */
export type CronClock = 'local' | 'utc';

/** Selected values per field, indexed by value (0..63, as cronexpr's 64-bit sets). */
export interface CronSchedule {
  readonly minute: readonly boolean[];
  readonly hour: readonly boolean[];
  readonly dayOfMonth: readonly boolean[];
  readonly month: readonly boolean[];
  readonly dayOfWeek: readonly boolean[];
}

export interface ParsedCron {
  /** The five fields Backrest gets: single-spaced, or a descriptor's translation. */
  expression: string;
  /** What the author should be told (a descriptor translated, day-of-week 7 ignored). */
  notes: string[];
  schedule: CronSchedule;
}

export class CronError extends Error {
  override readonly name = 'CronError';
}

/** Descriptors (robfig/Vixie names) and the five fields we write instead. */
export const CRON_DESCRIPTORS: Readonly<Record<string, string>> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

interface FieldDef {
  name: string;
  /** cronexpr's bounds: what `*` and `N/step` expand to. */
  min: number;
  max: number;
  /** Strict dialect: the largest value one may write (day-of-week 7 is accepted, see above). */
  strictMax: number;
  /** The values the calendar has (others never match). */
  real: [number, number];
  names?: readonly string[];
}

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

const FIELDS: readonly FieldDef[] = [
  { name: 'minute', min: 0, max: 59, strictMax: 59, real: [0, 59] },
  // cronexpr's hour bound is 0-24; hour 24 never matches, so `*` selects the same hours.
  { name: 'hour', min: 0, max: 24, strictMax: 23, real: [0, 23] },
  { name: 'day-of-month', min: 1, max: 31, strictMax: 31, real: [1, 31] },
  { name: 'month', min: 1, max: 12, strictMax: 12, real: [1, 12], names: MONTHS },
  { name: 'day-of-week', min: 0, max: 6, strictMax: 7, real: [0, 6], names: DAYS },
];

/** Go's unicode.IsSpace, which strings.Fields splits on. */
const GO_SPACE = /[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/u;

/** Backrest's parser loops once per value of a range: past this it is stuck for minutes. */
const MAX_RANGE_STEPS = 1e9;

const INT64_MAX = 9223372036854775807n;

/** Go's strconv.Atoi (optional sign, decimal digits, int64 range), or undefined. */
function goAtoi(s: string): bigint | undefined {
  if (!/^[+-]?\d+$/.test(s)) return undefined;
  const n = BigInt(s);
  return n > INT64_MAX || n < -INT64_MAX - 1n ? undefined : n;
}

function nameValue(def: FieldDef, s: string): number | undefined {
  const i = def.names?.indexOf(s.toUpperCase()) ?? -1;
  return i < 0 ? undefined : def.names === MONTHS ? i + 1 : i;
}

function describeField(def: FieldDef, text: string): string {
  return `${def.name} field "${text}"`;
}

/** Strict dialect: one value (digits or a name), range-checked. */
function strictValue(def: FieldDef, s: string, text: string): number {
  const named = nameValue(def, s);
  if (named !== undefined) return named;
  if (!/^\d+$/.test(s)) {
    const why =
      s === '?'
        ? '"?" is Quartz syntax, Backrest\'s parser does not know it (use *)'
        : /[LW#]/i.test(s)
          ? `"${s}": L, W and # are not supported by Backrest's parser`
          : `"${s}" is not a number${def.names ? ` or a name (${def.names[0]}-${def.names.at(-1)})` : ''}`;
    throw new CronError(`${describeField(def, text)}: ${why}`);
  }
  const n = Number(s);
  if (n < def.min || n > def.strictMax) {
    throw new CronError(
      `${describeField(def, text)}: ${n} is out of range ${def.min}-${def.strictMax}`,
    );
  }
  return n;
}

function strictField(def: FieldDef, text: string): boolean[] {
  const set: boolean[] = new Array<boolean>(64).fill(false);
  if (text === '') throw new CronError(`${def.name} field is empty`);
  for (const item of text.split(',')) {
    if (item === '') throw new CronError(`${describeField(def, text)}: empty list item`);
    const parts = item.split('/');
    if (parts.length > 2) throw new CronError(`${describeField(def, text)}: more than one "/"`);
    const [range = '', stepText] = parts;
    let step = 1;
    if (stepText !== undefined) {
      if (!/^\d+$/.test(stepText)) {
        throw new CronError(`${describeField(def, text)}: step "${stepText}" is not a number`);
      }
      step = Number(stepText);
      if (step === 0) {
        throw new CronError(
          `${describeField(def, text)}: step 0 is refused (Backrest's parser loops forever on it)`,
        );
      }
      if (step > def.real[1] - def.real[0]) {
        throw new CronError(
          `${describeField(def, text)}: step ${step} is larger than the field's range ${def.real[0]}-${def.real[1]}`,
        );
      }
    }
    let lo: number;
    let hi: number;
    if (range === '*') {
      lo = def.min;
      hi = def.max;
    } else {
      const bounds = range.split('-');
      if (bounds.length > 2 || bounds.includes('')) {
        throw new CronError(`${describeField(def, text)}: "${range}" is not a value or a range`);
      }
      lo = strictValue(def, bounds[0] ?? '', text);
      if (bounds.length === 2) {
        hi = strictValue(def, bounds[1] ?? '', text);
        if (hi < lo)
          throw new CronError(`${describeField(def, text)}: range "${range}" runs backwards`);
      } else {
        // `N/step` means N to the end, as in cronexpr and Vixie cron.
        hi = stepText !== undefined ? def.max : lo;
      }
    }
    for (let v = lo; v <= hi; v += step) set[v] = true;
  }
  return set;
}

/** Backrest dialect: cronexpr's parseFieldExpr, quirks included, minus its hang and panic. */
function backrestField(def: FieldDef, text: string): boolean[] {
  const set: boolean[] = new Array<boolean>(64).fill(false);
  for (const item of text.split(',')) {
    // cronexpr replaces the first `*` anywhere in the item by "min-max".
    const expr = item.replace('*', `${def.min}-${def.max}`);
    const parts = expr.split('/');
    if (parts.length > 2) throw new CronError(`${describeField(def, text)}: too many "/"`);
    const bounds = (parts[0] ?? '').split('-');
    if (bounds.length > 2) throw new CronError(`${describeField(def, text)}: too many "-"`);
    const value = (s: string): bigint => {
      const n = goAtoi(s) ?? nameValue(def, s);
      if (n === undefined)
        throw new CronError(`${describeField(def, text)}: "${s}" is not a value`);
      return BigInt(n);
    };
    const begin = value(bounds[0] ?? '');
    const end =
      bounds.length === 2 ? value(bounds[1] ?? '') : parts.length === 2 ? BigInt(def.max) : begin;
    let step = 1n;
    if (parts.length === 2) {
      const s = goAtoi(parts[1] ?? '');
      if (s === undefined) {
        throw new CronError(`${describeField(def, text)}: step "${parts[1]}" is not a number`);
      }
      step = s;
    }
    if (begin > end) continue; // cronexpr's loop runs zero times: nothing selected
    if (step <= 0n) {
      throw new CronError(
        `${describeField(def, text)}: step ${step} ${step === 0n ? 'makes Backrest loop forever' : 'makes Backrest panic'}`,
      );
    }
    if ((end - begin) / step > MAX_RANGE_STEPS) {
      throw new CronError(
        `${describeField(def, text)}: range too large (Backrest loops once per value)`,
      );
    }
    for (let v = begin; v <= end && v < 64n; v += step) set[Number(v)] = true;
  }
  return set;
}

function fieldsOf(text: string, dialect: CronDialect): string[] {
  if (dialect === 'backrest') return text.split(GO_SPACE).filter((f) => f !== '');
  return text.split(/[ \t]+/).filter((f) => f !== '');
}

function realOnly(set: readonly boolean[], def: FieldDef): boolean[] {
  return set.map((on, v) => on && v >= def.real[0] && v <= def.real[1]);
}

/**
 * Parses `expr` in `dialect` and checks it has a run within five years of `now` (Backrest's
 * rule). Throws CronError with a one-line reason naming the field.
 */
export function parseCron(
  expr: string,
  options: { dialect?: CronDialect; now?: Date } = {},
): ParsedCron {
  if (options.now !== undefined) return parseUncached(expr, options.dialect, options.now);
  // Every reconcile checks every plan's schedule two or three times, and most plans share one:
  // the answer for "now" is kept a few minutes (the five-year horizon barely moves meanwhile).
  // Keyed by the expression itself, one map per dialect: a key made by concatenation was a new
  // string to hash on every call (~6,000 calls in a 2,000-plan dry run).
  const dialect = options.dialect ?? 'strict';
  let cache = CACHE.get(dialect);
  if (cache === undefined) CACHE.set(dialect, (cache = new Map()));
  const now = Date.now();
  let hit = cache.get(expr);
  if (hit === undefined || now - hit.at > CACHE_TTL_MS) {
    if (cache.size >= CACHE_MAX) cache.clear();
    try {
      hit = { at: now, result: Object.freeze(parseUncached(expr, options.dialect, new Date(now))) };
    } catch (err) {
      if (!(err instanceof CronError)) throw err;
      hit = { at: now, result: err };
    }
    cache.set(expr, hit);
  }
  if (hit.result instanceof CronError) throw new CronError(hit.result.message);
  return hit.result;
}

const CACHE = new Map<CronDialect, Map<string, { at: number; result: ParsedCron | CronError }>>();
const CACHE_TTL_MS = 5 * 60_000;
const CACHE_MAX = 1000;

function parseUncached(expr: string, dialect: CronDialect | undefined, now: Date): ParsedCron {
  const parsed = parseCronFields(expr, dialect);
  if (nextCronFire(parsed.schedule, now, 'utc') === undefined) {
    const sets = Object.values(parsed.schedule) as boolean[][];
    const empty = sets.findIndex((set) => !set.some(Boolean));
    const def = FIELDS[empty];
    if (def) {
      const text = parsed.expression.trim().split(GO_SPACE)[empty] ?? '';
      throw new CronError(
        `${describeField(def, text)}: selects no ${def.name} the calendar has (${def.real[0]}-${def.real[1]}), so it never fires${def.name === 'day-of-week' ? ' (7 is not Sunday in Backrest: use 0)' : ''}`,
      );
    }
    const dow = parsed.expression.trim().split(/\s+/)[4];
    const hint = dow === '7' ? ' (day-of-week 7 is not Sunday in Backrest: use 0)' : '';
    throw new CronError(`"${parsed.expression}" never fires within five years${hint}`);
  }
  return parsed;
}

/** The grammar alone: parseCron without the "fires within five years" check. */
export function parseCronFields(expr: string, dialect: CronDialect = 'strict'): ParsedCron {
  const notes: string[] = [];
  let text = dialect === 'strict' ? expr.trim() : expr;
  if (text.trim() === '') throw new CronError('empty cron expression');
  if (dialect === 'strict' && text.startsWith('@')) {
    const key = text.toLowerCase();
    const translated = CRON_DESCRIPTORS[key];
    if (translated === undefined) {
      const why = key.startsWith('@every')
        ? '@every intervals are not cron: Backrest has maxFrequencyHours/Days for that, we write crons'
        : key === '@reboot'
          ? '@reboot has no meaning for a backup schedule'
          : 'unknown descriptor';
      throw new CronError(
        `"${text}": ${why} (Backrest accepts five fields only; we translate ${Object.keys(CRON_DESCRIPTORS).join(' ')})`,
      );
    }
    notes.push(
      `"${text}" is written as "${translated}": Backrest's parser takes five fields, not descriptors`,
    );
    text = translated;
  }
  const fields = fieldsOf(text, dialect);
  if (fields.length !== 5) {
    throw new CronError(
      `expected 5 fields (minute hour day-of-month month day-of-week), got ${fields.length}`,
    );
  }
  const sets = FIELDS.map((def, i) =>
    dialect === 'strict' ? strictField(def, fields[i] ?? '') : backrestField(def, fields[i] ?? ''),
  );
  const dow = fields[4] ?? '';
  if (dialect === 'strict' && sets[4]?.[7]) {
    notes.push(
      `day-of-week "${dow}": 7 never matches in Backrest's parser (it is not Sunday there; use 0)`,
    );
  }
  const real = sets.map((s, i) => realOnly(s, FIELDS[i] as FieldDef));
  const schedule: CronSchedule = {
    minute: real[0] ?? [],
    hour: real[1] ?? [],
    dayOfMonth: real[2] ?? [],
    month: real[3] ?? [],
    dayOfWeek: real[4] ?? [],
  };
  const expression = dialect === 'strict' ? fields.join(' ') : expr;
  return { expression, notes, schedule };
}

/** `undefined` when `expr` is valid in `dialect`, else the reason (one line). */
export function checkCron(
  expr: string,
  dialect: CronDialect = 'strict',
  now?: Date,
): string | undefined {
  try {
    parseCron(expr, { dialect, ...(now ? { now } : {}) });
    return undefined;
  } catch (err) {
    if (err instanceof CronError) return err.message;
    throw err;
  }
}

/** Same contract as validateKeepSpec: true, or the reason (strict dialect). */
export function validateCron(expr: string): true | string {
  return checkCron(expr) ?? true;
}

/** The five fields we write for `expr` (a descriptor translated), plus notes for the author. */
export function normalizeCron(expr: string, now?: Date): { expression: string; notes: string[] } {
  const { expression, notes } = parseCron(expr, now ? { now } : NO_OPTIONS);
  return { expression, notes };
}

/** `parseCron`'s options when there are none: not an object per plan of a render. */
const NO_OPTIONS: { now?: Date } = Object.freeze({});

interface Wall {
  y: number;
  mo: number; // 1-12
  d: number;
  h: number;
  mi: number;
  wd: number;
}

function wall(ms: number, clock: CronClock): Wall {
  const t = new Date(ms);
  return clock === 'utc'
    ? {
        y: t.getUTCFullYear(),
        mo: t.getUTCMonth() + 1,
        d: t.getUTCDate(),
        h: t.getUTCHours(),
        mi: t.getUTCMinutes(),
        wd: t.getUTCDay(),
      }
    : {
        y: t.getFullYear(),
        mo: t.getMonth() + 1,
        d: t.getDate(),
        h: t.getHours(),
        mi: t.getMinutes(),
        wd: t.getDay(),
      };
}

/** Go's time.Date: the wall time in `clock`, out-of-range parts normalised. */
function dateOf(clock: CronClock, y: number, mo: number, d: number, h = 0, mi = 0, s = 0): number {
  return clock === 'utc'
    ? Date.UTC(y, mo - 1, d, h, mi, s)
    : new Date(y, mo - 1, d, h, mi, s).getTime();
}

function secondsOf(ms: number, clock: CronClock): number {
  const t = new Date(ms);
  return clock === 'utc' ? t.getUTCSeconds() : t.getSeconds();
}

/**
 * The first run strictly after `after`, at a whole minute, or undefined when there is none before
 * the end of the year five years on. A port of cronexpr's `Schedule.Next` (the loop Backrest
 * runs), so the days and times are Backrest's: day-of-month AND day-of-week, a value the
 * calendar lacks never matches. `clock`: the wall clock the fields are read in (default local).
 */
export function nextCronFire(
  cron: CronSchedule | string,
  after: Date,
  clock: CronClock = 'local',
): Date | undefined {
  const s =
    typeof cron === 'string' ? parseCron(cron, { dialect: 'backrest', now: after }).schedule : cron;
  const has = (set: readonly boolean[]) => set.some(Boolean);
  if (![s.minute, s.hour, s.dayOfMonth, s.month, s.dayOfWeek].every(has)) return undefined;
  // t + 1 minute - the sub-second part (seconds are kept, truncated at the end).
  let t = after.getTime() - (((after.getTime() % 1000) + 1000) % 1000) + 60_000;
  const yearLimit = wall(t, clock).y + 5;
  let added = false;
  for (;;) {
    let w = wall(t, clock);
    if (w.y > yearLimit) return undefined;
    const year = w.y;
    let restart = false;
    while (!s.month[w.mo]) {
      if (!added) {
        added = true;
        t = dateOf(clock, w.y, w.mo, 1);
        w = wall(t, clock);
      }
      // Go's AddDate(0, 1, 0).
      t = dateOf(clock, w.y, w.mo + 1, w.d, w.h, w.mi, secondsOf(t, clock));
      w = wall(t, clock);
      if (w.y !== year) {
        restart = true;
        break;
      }
    }
    if (restart) continue;
    const month = w.mo;
    while (!(s.dayOfMonth[w.d] && s.dayOfWeek[w.wd])) {
      if (!added) {
        added = true;
        t = dateOf(clock, w.y, w.mo, w.d);
        w = wall(t, clock);
      }
      t = dateOf(clock, w.y, w.mo, w.d + 1, w.h, w.mi, secondsOf(t, clock));
      w = wall(t, clock);
      if (w.mo !== month) {
        restart = true;
        break;
      }
    }
    if (restart) continue;
    const day = w.d;
    while (!s.hour[w.h]) {
      if (!added) {
        added = true;
        t = dateOf(clock, w.y, w.mo, w.d, w.h);
      }
      t += 3_600_000;
      w = wall(t, clock);
      if (w.d !== day) {
        restart = true;
        break;
      }
    }
    if (restart) continue;
    const hour = w.h;
    while (!s.minute[w.mi]) {
      if (!added) {
        added = true;
        t -= ((t % 60_000) + 60_000) % 60_000;
      }
      t += 60_000;
      w = wall(t, clock);
      if (w.h !== hour) {
        restart = true;
        break;
      }
    }
    if (restart) continue;
    return new Date(t - (((t % 60_000) + 60_000) % 60_000));
  }
}

/**
 * What a plan's schedule becomes in the file: the strict dialect's five fields (a descriptor
 * translated), or `expr` unchanged when it does not parse (validation then refuses the write with
 * the reason, instead of a writer hiding it).
 */
export function writtenSchedule(expr: string): string {
  try {
    return parseCron(expr).expression;
  } catch (err) {
    if (err instanceof CronError) return expr;
    throw err;
  }
}
