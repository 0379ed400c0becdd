/**
 * The string rules of `SecretRedactor.redactString` (see its doc for what they mask), each behind
 * a cheap test of what it needs in the text: most texts hold a secret word or a URL somewhere,
 * but a rule only pays its regex pass over a large text (a 600 kB dry-run diff) when its own
 * trigger is there. Internal: not exported from the package.
 */
import { REDACTED, redactUrl, redactUrlInText } from './redact-url.js';

/** Field names whose values are secrets (`apiKey`, `secret_key`, `RESTIC_PASSWORD_FILE`, ...). */
export const SECRET_KEY_PATTERN = /PASS|PWD|SECRET|KEY|TOKEN|AUTH|CREDENTIAL|COOKIE/i;

/** Field names that match the pattern but are not secrets: `key` is a resource key. */
const EXEMPT_KEYS = new Set(['key']);

/** Field names whose values are webhook URLs: shown as scheme + host only. */
export const URL_KEY_PATTERN =
  /^(url|uri|webhook)$|(webhook|hook|notify|shoutrrr|callback).*(url|uri)$/i;

const SECRET_WORD = '(?:PASSWORD|PASSWD|PASS|PWD|SECRET|TOKEN|KEY|AUTH|CREDENTIALS?)';

/** `scheme://…` up to whitespace, a quote, a bracket or a backslash (a JSON escape). */
const URL_IN_TEXT = /\b([A-Za-z][A-Za-z0-9+.-]*):\/\/([^\s"'<>`\\]+)/g;

/** restic backends written without `//`: `sftp:user:pass@host:/srv`. Up to the last `@`. */
const BACKEND_USERINFO =
  /\b(sftp|rest|s3|b2|azure|gs|swift|rclone|ssh):(?!\/\/|[A-Za-z][A-Za-z0-9+.-]*:\/\/)[^\s"'<>]*@/gi;

/** `Authorization: …` (also Proxy-Authorization, X-Api-Key…) up to the end of the line or quote. */
const AUTH_HEADER =
  /\b((?:proxy-)?authorization|x-api-key|x-auth-token|api-key|private-token)(["']?\s*[:=]\s*)((?:[^\r\n"'\\]|\\(?!["']))+)/gi;

/** `Bearer x`, `Basic x`, `Digest x` anywhere (curl -H, error messages). */
const AUTH_SCHEME = /\b(Bearer|Basic|Digest)(\s+)((?:[^\s"'\\]|\\(?!["']))+)/g;

/** A quoted value: `"x"`, `'x'`, or `\\"x\\"` (quoted inside a JSON string). */
const QUOTED = `(?:"[^"]*"|'[^']*'|\\\\"(?:[^"\\\\]|\\\\(?!"))*\\\\")`;

/** An unquoted value: up to whitespace or a quote; a `\\` before a quote is the JSON escape. */
const UNQUOTED = `(?:[^\\s"'\\\\]|\\\\(?!["']))+`;

/**
 * `--password=x`, `--password x`, `-password x`, `--s3-secret-key=x`. After a space, a value
 * starting with `--` is the next flag, not the secret (`--password-file --verbose`).
 */
const FLAG = new RegExp(
  `(^|[\\s"'=])(--?[A-Za-z0-9-]*${SECRET_WORD}[A-Za-z0-9-]*)(=(${QUOTED}|${UNQUOTED})|\\s+(${QUOTED}|(?!--)${UNQUOTED}))`,
  'gi',
);

/** JSON `"name": "value"` with a secret-looking or URL name (value up to the closing quote). */
export const JSON_PAIR = /"([^"\\]{1,200})"(\s*:\s*)"((?:[^"\\]|\\.)*)"/g;

/** The same pair in JSON inside a JSON string: `\\"name\\": \\"value\\"`. */
export const JSON_PAIR_ESCAPED = /\\"([^"\\]{1,200})\\"(\s*:\s*)\\"((?:[^"\\]|\\(?!"))*)\\"/g;

/** `NAME=value` or `NAME: value` with a secret-looking env-style name. */
const ENV_PAIR = new RegExp(
  `(^|[^A-Za-z0-9_.-])((?:[A-Za-z_][A-Za-z0-9_]*)?${SECRET_WORD}[A-Za-z0-9_]*)(=|:[ \\t]+)`,
  'gi',
);

/**
 * Every rule of `redactString` needs one of these in the string: `://` (URLs), an `@` right after
 * a character `BACKEND_USERINFO` allows before it (its first `@` follows the scheme's `:` or a
 * non-`@` character of its class), or a secret word (flags, env pairs, secret JSON keys, auth
 * headers, `Bearer`…). Not any `@`: the `@@` hunk headers of a 600 kB dry-run diff ran every rule.
 * A superset of the rules' triggers, checked in one pass; keep it in step with the rules above.
 */
const SECRET_TRIGGER =
  /:\/\/|[^\s"'<>@]@|PASS|PWD|SECRET|TOKEN|KEY|AUTH|CREDENTIAL|COOKIE|BEARER|BASIC|DIGEST/i;

export function mayHoldSecret(s: string): boolean {
  return SECRET_TRIGGER.test(s);
}

/** `SECRET_TRIGGER`, global: `applyRulesByLine` walks a text's triggers with it. */
const SECRET_TRIGGER_ALL = new RegExp(SECRET_TRIGGER.source, 'gi');

/**
 * `applyRules` on each line (split at `\n`) that holds a trigger; every other line as it is. What
 * `applyRules` does to a one-line text; on a longer one it differs where a rule's match would cross
 * a line break (`Bearer\nx`, `--password\n x`, a quoted value or a JSON pair over lines), so only
 * for text whose secrets cannot span a line (`Redactor.redactLines`). No trigger match holds a
 * `\n` (none of its alternatives can), so the lines with one are exactly the lines it finds.
 * Cost: one scan, then the rules over the triggered lines only; no split into lines.
 */
export function applyRulesByLine(s: string): string {
  const trigger = SECRET_TRIGGER_ALL;
  // A line repeats in a diff of 2,000 plans (the same webhook or hook in each): its rules run
  // once (~15 µs a URL line). Bounded: a text of distinct lines keeps at most this many.
  const seen = new Map<string, string>();
  let out = '';
  let last = 0;
  trigger.lastIndex = 0;
  for (let m = trigger.exec(s); m !== null; m = trigger.exec(s)) {
    const start = s.lastIndexOf('\n', m.index) + 1;
    const nl = s.indexOf('\n', m.index);
    const end = nl < 0 ? s.length : nl;
    const line = s.slice(start, end);
    let masked = seen.get(line);
    if (masked === undefined) {
      masked = applyRules(line);
      if (seen.size < 4096) seen.set(line, masked);
    }
    if (masked !== line) {
      out += s.slice(last, start) + masked;
      last = end;
    }
    if (nl < 0) break;
    trigger.lastIndex = nl + 1;
  }
  // A changed line is never empty (it held a trigger), so `last` moved past 0.
  return last === 0 ? s : out + s.slice(last);
}

export function isSecretKeyName(name: string): boolean {
  return !EXEMPT_KEYS.has(name) && SECRET_KEY_PATTERN.test(name);
}

/** Some word every rule but the URL ones needs (flags, env pairs, secret JSON keys, headers). */
const SECRET_WORDS = /PASS|PWD|SECRET|TOKEN|KEY|AUTH|CREDENTIAL|COOKIE/i;

/**
 * Every word any rule but the URL and userinfo ones needs, case-insensitively: `SECRET_WORDS`
 * and the auth schemes. `applyRules` tests it once and hands the answer to each rule's `needs`.
 */
const ANY_WORD = /PASS|PWD|SECRET|TOKEN|KEY|AUTH|CREDENTIAL|COOKIE|BEARER|BASIC|DIGEST/i;

/** Whether `s` holds a word of `ANY_WORD`: the `words` argument of `Rule.needs`. */
export function hasAnyWord(s: string): boolean {
  return ANY_WORD.test(s);
}

interface Rule {
  /**
   * False only when `apply` would return the text unchanged: a necessary condition to match.
   * `words` is `hasAnyWord(s)`: a word rule says false without its own pass over the text.
   */
  needs(s: string, words: boolean): boolean;
  apply(s: string): string;
}

/** In order: a later rule sees what the earlier ones left. */
export const RULES: readonly Rule[] = [
  {
    needs: (s) => s.includes('://'),
    apply: (s) =>
      replaceInLines(s, '://', URL_IN_TEXT, (_m, scheme: string, rest: string) =>
        redactUrlInText(scheme, rest),
      ),
  },
  {
    needs: (s) => s.includes('@'),
    apply: (s) =>
      replaceInLines(s, '@', BACKEND_USERINFO, (_m, scheme: string) => `${scheme}:${REDACTED}@`),
  },
  {
    needs: (s, words) => words && /AUTH|KEY|TOKEN/i.test(s),
    apply: (s) =>
      s.replace(AUTH_HEADER, (_m, name: string, sep: string) => `${name}${sep}${REDACTED}`),
  },
  {
    needs: (s, words) => words && /Bearer|Basic|Digest/.test(s),
    apply: (s) =>
      s.replace(AUTH_SCHEME, (m, scheme: string, sep: string, value: string) =>
        value === REDACTED ? m : `${scheme}${sep}${REDACTED}`,
      ),
  },
  {
    needs: (s, words) => words && SECRET_WORDS.test(s),
    apply: (s) =>
      s.replace(FLAG, (m, lead: string, flag: string, rest: string) => {
        const sep = rest.startsWith('=') ? '=' : (/^\s+/.exec(rest)?.[0] ?? ' ');
        return `${lead}${flag}${sep}${REDACTED}`;
      }),
  },
  // A JSON pair is masked for a secret name, or for a URL name whose value is a `scheme://` URL.
  {
    needs: (s, words) =>
      s.includes('"') && (s.includes('://') || (words && SECRET_KEY_PATTERN.test(s))),
    apply: (s) => replaceJsonPairs(replaceJsonPairs(s, JSON_PAIR, '"'), JSON_PAIR_ESCAPED, '\\"'),
  },
  { needs: (s, words) => words && SECRET_WORDS.test(s), apply: redactEnvPairs },
];

/** Every rule in order; `gated: false` runs each whatever its `needs` says (specs compare both). */
export function applyRules(s: string, gated = true): string {
  let out = s;
  // One pass for the secret words of all the word rules, not one per rule: a 600 kB dry-run diff
  // reaches here for its `@@` headers and holds none (five passes were ~10 ms of a dry run).
  // Tested again only when a rule changed the text.
  let words = gated && hasAnyWord(out);
  for (const rule of RULES) {
    if (gated && !rule.needs(out, words)) continue;
    const next = rule.apply(out);
    if (next !== out) {
      out = next;
      words = gated && hasAnyWord(out);
    }
  }
  return out;
}

export function replaceJsonPairs(s: string, pattern: RegExp, q: string): string {
  // Names repeat (a dry-run diff of 2,000 plans: 32,000 pairs, a dozen names): test each once.
  const kinds = new Map<string, 'secret' | 'url' | 'plain'>();
  let out = '';
  let last = 0;
  pattern.lastIndex = 0;
  for (let m = pattern.exec(s); m !== null; m = pattern.exec(s)) {
    const [whole, name = '', sep = '', value = ''] = m;
    let kind = kinds.get(name);
    if (kind === undefined) {
      kind = isSecretKeyName(name) ? 'secret' : URL_KEY_PATTERN.test(name) ? 'url' : 'plain';
      kinds.set(name, kind);
    }
    let masked: string;
    if (kind === 'secret') masked = REDACTED;
    else if (kind === 'url' && /^[a-z][a-z0-9+.-]*:\/\//i.test(value)) masked = redactUrl(value);
    else continue;
    out += `${s.slice(last, m.index)}${q}${name}${q}${sep}${q}${masked}${q}`;
    last = m.index + whole.length;
  }
  return last === 0 ? s : out + s.slice(last);
}

/**
 * `s.replace(pattern, fn)` over only the lines holding `needle`: the same result for a pattern
 * that cannot match across a line break nor without `needle` (a dry-run diff of 2,000 plans has
 * 32,000 lines and often no URL at all).
 */
function replaceInLines(
  s: string,
  needle: string,
  pattern: RegExp,
  fn: (m: string, ...groups: string[]) => string,
): string {
  let out = '';
  let last = 0;
  let changed = false;
  for (let at = s.indexOf(needle); at >= 0; at = s.indexOf(needle, last)) {
    const start = s.lastIndexOf('\n', at) + 1;
    const nl = s.indexOf('\n', at);
    const end = nl < 0 ? s.length : nl;
    const line = s.slice(start, end);
    const masked = line.replace(pattern, fn);
    changed ||= masked !== line;
    out += s.slice(last, start) + masked;
    last = end;
  }
  // Unchanged (the `@@` lines of a diff): `s` itself, not a copy to flatten and compare again.
  return changed ? out + s.slice(last) : s;
}

/**
 * `NAME=value`: inside a JSON string (`"RESTIC_PASSWORD=x y"`) the value runs to the closing
 * quote; in a query string to the next `&`; otherwise it is one quoted string or runs to
 * whitespace.
 */
function redactEnvPairs(s: string): string {
  let out = '';
  let last = 0;
  ENV_PAIR.lastIndex = 0;
  for (let m = ENV_PAIR.exec(s); m !== null; m = ENV_PAIR.exec(s)) {
    const [whole, lead = '', name = '', sep = ''] = m;
    if (EXEMPT_KEYS.has(name)) continue;
    const valueStart = m.index + whole.length;
    let valueEnd: number;
    if (lead === '"' && s[m.index - 1] !== '\\') {
      valueEnd = valueStart;
      while (valueEnd < s.length && s[valueEnd] !== '"') {
        valueEnd += s[valueEnd] === '\\' ? 2 : 1;
      }
      valueEnd = Math.min(valueEnd, s.length);
    } else if (lead === '"') {
      // `\"NAME=a b\"`: a JSON string inside a JSON string, up to its escaped closing quote.
      const close = s.indexOf('\\"', valueStart);
      valueEnd = close < 0 ? s.length : close;
    } else if (s.startsWith('\\"', valueStart)) {
      // `NAME=\"a b\"` inside a JSON string: up to the escaped closing quote.
      const close = s.indexOf('\\"', valueStart + 2);
      valueEnd = close < 0 ? s.length : close + 2;
    } else if (s[valueStart] === '"' || s[valueStart] === "'") {
      const close = s.indexOf(s[valueStart]!, valueStart + 1);
      valueEnd = close < 0 ? s.length : close + 1;
    } else {
      // In a query string (`?token=x&p=5`) the value ends at the next parameter.
      const end = lead === '?' || lead === '&' ? /[\s"'&#]/ : /[\s"']/;
      const ws = s.slice(valueStart).search(end);
      valueEnd = ws < 0 ? s.length : valueStart + ws;
      // `\"` ends a JSON string: the backslash is its escape, not part of the value.
      if (valueEnd > valueStart && s[valueEnd - 1] === '\\' && /["']/.test(s[valueEnd] ?? '')) {
        valueEnd--;
      }
    }
    if (valueEnd === valueStart) continue;
    out += `${s.slice(last, m.index)}${lead}${name}${sep}${REDACTED}`;
    last = valueEnd;
    ENV_PAIR.lastIndex = Math.max(valueEnd, ENV_PAIR.lastIndex);
  }
  return out + s.slice(last);
}
