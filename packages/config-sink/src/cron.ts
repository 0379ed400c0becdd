/**
 * Strict validator for the cron expressions Backrest accepts in `schedule.cron`.
 *
 * Backrest parses with github.com/gitploy-io/cronexpr (a gorhill/cronexpr fork) and then refuses an
 * expression whose next fire time is zero or before 2000 ("check for DOW=7 usage"). We accept the
 * subset that parser reads the same way and that a label author means:
 * - exactly 5 fields `minute hour day-of-month month day-of-week` (the 6/7-field year/seconds
 *   forms are refused: our PlanSpec contract is 5 fields), or one of the descriptors
 *   `@yearly @annually @monthly @weekly @daily @hourly`;
 * - per field: `*`, `?` (day fields), `N`, `N-M`, `*`/`N`/`N-M` followed by `/step`, lists with `,`;
 *   month names JAN-DEC and day names SUN-SAT (case-insensitive); day-of-month `L`, `NW`, `LW`;
 *   day-of-week `NL`, `N#K`;
 * - day-of-week is 0-6: 7 is refused (Backrest's own check rejects it);
 * - an expression that can never fire (e.g. `0 0 30 2 *`) is refused.
 */

const DESCRIPTORS = new Set(['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@hourly']);
const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];
/** Longest month length, Feb counted as 29: a cron on Feb 29 fires in leap years. */
const MONTH_DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

interface FieldDef {
  name: string;
  min: number;
  max: number;
  names?: string[];
  namesBase?: number;
}

const FIELDS: FieldDef[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day-of-month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: MONTHS, namesBase: 1 },
  { name: 'day-of-week', min: 0, max: 6, names: DAYS, namesBase: 0 },
];

function parseValue(token: string, def: FieldDef): number | string {
  const upper = token.toUpperCase();
  if (def.names) {
    const idx = def.names.indexOf(upper);
    if (idx >= 0) return idx + (def.namesBase ?? 0);
  }
  if (!/^\d+$/.test(token)) return `"${token}" is not a number${def.names ? ' or name' : ''}`;
  const n = Number(token);
  if (n < def.min || n > def.max) {
    const hint = def.name === 'day-of-week' && n === 7 ? ' (use 0 for Sunday)' : '';
    return `${n} is out of range ${def.min}-${def.max}${hint}`;
  }
  return n;
}

/** Returns the values the field selects, or an error message. `special` marks L/W/# terms. */
function parseField(
  text: string,
  def: FieldDef,
): { values: Set<number>; special: boolean } | string {
  const values = new Set<number>();
  let special = false;
  if (text === '') return 'empty field';
  for (const item of text.split(',')) {
    if (item === '') return `empty list item in "${text}"`;
    const dayField = def.name === 'day-of-month' || def.name === 'day-of-week';
    if (item === '*' || (item === '?' && dayField)) {
      for (let v = def.min; v <= def.max; v++) values.add(v);
      continue;
    }
    if (def.name === 'day-of-month' && /^(L|LW|\d{1,2}W)$/i.test(item)) {
      if (/^\d/.test(item)) {
        const n = parseValue(item.slice(0, -1), def);
        if (typeof n === 'string') return n;
      }
      special = true;
      continue;
    }
    if (def.name === 'day-of-week' && /^[0-9A-Za-z]+(L|#[1-5])$/i.test(item)) {
      const base = item.replace(/(L|#[1-5])$/i, '');
      const n = parseValue(base, def);
      if (typeof n === 'string') return n;
      special = true;
      continue;
    }
    const [rangePart, stepPart, extra] = item.split('/');
    if (extra !== undefined || rangePart === undefined) return `"${item}" has more than one "/"`;
    let step = 1;
    if (stepPart !== undefined) {
      if (!/^\d+$/.test(stepPart) || Number(stepPart) < 1)
        return `step "${stepPart}" is not a positive number`;
      step = Number(stepPart);
    }
    let lo: number;
    let hi: number;
    if (rangePart === '*') {
      lo = def.min;
      hi = def.max;
    } else {
      const bounds = rangePart.split('-');
      if (bounds.length > 2) return `"${rangePart}" is not a range`;
      const a = parseValue(bounds[0] ?? '', def);
      if (typeof a === 'string') return a;
      lo = a;
      if (bounds.length === 2) {
        const b = parseValue(bounds[1] ?? '', def);
        if (typeof b === 'string') return b;
        if (b < a) return `range "${rangePart}" runs backwards`;
        hi = b;
      } else {
        // `N/step` means "from N to the end", as in Vixie cron and cronexpr.
        hi = stepPart !== undefined ? def.max : a;
      }
    }
    for (let v = lo; v <= hi; v += step) values.add(v);
  }
  return { values, special };
}

/**
 * Which field counts to accept. 'five' (default) is our PlanSpec contract. 'backrest' also reads
 * cronexpr's 6-field (`... year`) and 7-field (`second ... year`) forms, for plans we did not
 * write: refusing a schedule Backrest runs would block every later commit of the file.
 */
export type CronDialect = 'five' | 'backrest';

const SECOND: FieldDef = { name: 'second', min: 0, max: 59 };
const YEAR: FieldDef = { name: 'year', min: 1970, max: 2099 };

/**
 * `undefined` when Backrest would accept `expr` as a plan's `schedule.cron` (within the subset
 * above), otherwise a one-line reason naming the bad field.
 */
export function checkCron(expr: string, dialect: CronDialect = 'five'): string | undefined {
  const trimmed = expr.trim();
  if (trimmed === '') return 'empty cron expression';
  if (trimmed.startsWith('@')) {
    return DESCRIPTORS.has(trimmed.toLowerCase())
      ? undefined
      : `unknown descriptor "${trimmed}" (known: ${[...DESCRIPTORS].join(' ')})`;
  }
  let parts = trimmed.split(/\s+/);
  if (dialect === 'backrest' && (parts.length === 6 || parts.length === 7)) {
    const extra: [string | undefined, FieldDef][] =
      parts.length === 7
        ? [
            [parts[0], SECOND],
            [parts[6], YEAR],
          ]
        : [[parts[5], YEAR]];
    for (const [text, def] of extra) {
      const r = parseField(text ?? '', def);
      if (typeof r === 'string') return `${def.name} field "${text}": ${r}`;
    }
    parts = parts.length === 7 ? parts.slice(1, 6) : parts.slice(0, 5);
  }
  if (parts.length !== 5) {
    return `expected 5 fields (minute hour day-of-month month day-of-week), got ${parts.length}`;
  }
  const parsed: { values: Set<number>; special: boolean }[] = [];
  for (const [i, def] of FIELDS.entries()) {
    const r = parseField(parts[i] ?? '', def);
    if (typeof r === 'string') return `${def.name} field "${parts[i]}": ${r}`;
    parsed.push(r);
  }
  const dom = parsed[2];
  const month = parsed[3];
  const dowText = parts[4] ?? '*';
  // A restricted day-of-week can always fire; with `*`/`?` there, the day-of-month must exist in
  // one of the selected months or the expression never fires.
  if (dom && month && !dom.special && (dowText === '*' || dowText === '?')) {
    const minDay = Math.min(...dom.values);
    const possible = [...month.values].some((m) => (MONTH_DAYS[m - 1] ?? 0) >= minDay);
    if (!possible) return `day-of-month "${parts[2]}" never occurs in month "${parts[3]}"`;
  }
  return undefined;
}

/** Same contract as validateKeepSpec: true, or the reason. */
export function validateCron(expr: string): true | string {
  return checkCron(expr) ?? true;
}
