import { REDACTED, redactUrl, redactUrlInText } from './redact-url.js';

export { REDACTED, redactUrl, looksLikeToken, WEBHOOK_HOSTS } from './redact-url.js';

/**
 * The project's one redactor: the logger, the dry-run diff, events, error messages and stacks,
 * restic and one-shot output and notifications all go through it. It masks
 * - every value registered at run time (`addSecretValue`, `addSecretEnv`: env files, repo env);
 * - values of secret-looking field names (`password`, `apiKey`, `RESTIC_PASSWORD`, ...) and
 *   webhook URL fields;
 * - in strings: URL userinfo (`s3:https://KEY:SECRET@host`, `rest:https://u:p@`,
 *   `sftp:user:pass@host`), token-looking URL paths and query values, everything after the host
 *   of known webhook hosts, `Authorization: …`, `Bearer …`/`Basic …`, `--password=…` /
 *   `--password …`, `*_PASSWORD=…` / `*_PWD=…` / `*_SECRET=…` / `*_TOKEN=…` / `*_KEY=…`
 *   (env style, `NAME: value` and JSON `"NAME": "value"`).
 */
export const Redactor = Symbol.for('dockop.Redactor');

/** Field names whose values are secrets (`apiKey`, `secret_key`, `RESTIC_PASSWORD_FILE`, ...). */
export const SECRET_KEY_PATTERN = /PASS|PWD|SECRET|KEY|TOKEN|AUTH|CREDENTIAL|COOKIE/i;

/** Field names that match the pattern but are not secrets: `key` is a resource key. */
const EXEMPT_KEYS = new Set(['key']);

/** Field names whose values are webhook URLs: shown as scheme + host only. */
const URL_KEY_PATTERN = /^(url|uri|webhook)$|(webhook|hook|notify|shoutrrr|callback).*(url|uri)$/i;

/** Env variable names whose values are secrets, for `addSecretEnv`. */
export const SECRET_ENV_NAME_PATTERN = /PASS|PWD|SECRET|TOKEN|KEY|AUTH|CREDENTIAL/i;

export interface RedactorOptions {
  /** Registered values shorter than this are ignored (they would blank out ordinary words). Default 4. */
  minSecretLength?: number;
}

export interface Redactor {
  /** Registers a value (a repository password, an env value) to be blanked anywhere in a line. */
  addSecretValue(value: string | undefined | null): void;
  /**
   * Registers the values of `env` whose names look secret (`SECRET_ENV_NAME_PATTERN`, or
   * `names` when given: e.g. every `RESTIC_*`, since a repository location embeds credentials).
   */
  addSecretEnv(env: Readonly<Record<string, string | undefined>>, names?: RegExp): void;
  /** True for field names whose values are secrets. */
  isSecretKey(name: string): boolean;
  /** Blanks registered values and every secret shape listed above in a string. */
  redactString(s: string): string;
  /** Blanks registered values only (safe on serialised JSON). */
  redactValues(s: string): string;
  /** A deep copy of `value` with secrets replaced; Errors become `{ name, message, stack }`. */
  redact(value: unknown): unknown;
}

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
const JSON_PAIR = /"([^"\\]{1,200})"(\s*:\s*)"((?:[^"\\]|\\.)*)"/g;

/** The same pair in JSON inside a JSON string: `\\"name\\": \\"value\\"`. */
const JSON_PAIR_ESCAPED = /\\"([^"\\]{1,200})\\"(\s*:\s*)\\"((?:[^"\\]|\\(?!"))*)\\"/g;

/** `NAME=value` or `NAME: value` with a secret-looking env-style name. */
const ENV_PAIR = new RegExp(
  `(^|[^A-Za-z0-9_.-])((?:[A-Za-z_][A-Za-z0-9_]*)?${SECRET_WORD}[A-Za-z0-9_]*)(=|:[ \\t]+)`,
  'gi',
);

/**
 * Every rule of `redactString` needs one of these in the string: `://` or `@` (URLs, backend
 * userinfo), or a secret word (flags, env pairs, secret JSON keys, auth headers, `Bearer`…).
 * A superset of the rules' triggers, checked in one pass; keep it in step with the rules above.
 */
const SECRET_TRIGGER =
  /:\/\/|@|PASS|PWD|SECRET|TOKEN|KEY|AUTH|CREDENTIAL|COOKIE|BEARER|BASIC|DIGEST/i;

function mayHoldSecret(s: string): boolean {
  return SECRET_TRIGGER.test(s);
}

export class SecretRedactor implements Redactor {
  readonly #secrets = new Set<string>();
  #sorted: string[] = [];
  readonly #minLength: number;

  constructor(options: RedactorOptions = {}) {
    this.#minLength = options.minSecretLength ?? 4;
  }

  addSecretValue(value: string | undefined | null): void {
    if (typeof value !== 'string' || value.length < this.#minLength || this.#secrets.has(value)) {
      return;
    }
    this.#secrets.add(value);
    // Longest first, so a secret containing another is replaced whole.
    this.#sorted = [...this.#secrets].sort((a, b) => b.length - a.length);
  }

  addSecretEnv(env: Readonly<Record<string, string | undefined>>, names?: RegExp): void {
    for (const [name, value] of Object.entries(env)) {
      if ((names ?? SECRET_ENV_NAME_PATTERN).test(name) || SECRET_ENV_NAME_PATTERN.test(name)) {
        this.addSecretValue(value);
      }
    }
  }

  /** Number of registered values. */
  get size(): number {
    return this.#secrets.size;
  }

  isSecretKey(name: string): boolean {
    return !EXEMPT_KEYS.has(name) && SECRET_KEY_PATTERN.test(name);
  }

  redactString(s: string): string {
    // Registered values first: a rule below could otherwise cut one in two and leave a piece.
    let out = this.redactValues(s);
    // Most strings (names, paths, schedules) can match no rule: skip the dozen regex passes.
    if (!mayHoldSecret(out)) return out;
    out = out.replace(URL_IN_TEXT, (_m, scheme: string, rest: string) =>
      redactUrlInText(scheme, rest),
    );
    out = out.replace(BACKEND_USERINFO, (_m, scheme: string) => `${scheme}:${REDACTED}@`);
    out = out.replace(AUTH_HEADER, (_m, name: string, sep: string) => `${name}${sep}${REDACTED}`);
    out = out.replace(AUTH_SCHEME, (m, scheme: string, sep: string, value: string) =>
      value === REDACTED ? m : `${scheme}${sep}${REDACTED}`,
    );
    out = out.replace(FLAG, (m, lead: string, flag: string, rest: string) => {
      const sep = rest.startsWith('=') ? '=' : (/^\s+/.exec(rest)?.[0] ?? ' ');
      return `${lead}${flag}${sep}${REDACTED}`;
    });
    for (const [pattern, q] of [
      [JSON_PAIR, '"'],
      [JSON_PAIR_ESCAPED, '\\"'],
    ] as const) {
      out = out.replace(pattern, (m, name: string, sep: string, value: string) => {
        if (this.isSecretKey(name)) return `${q}${name}${q}${sep}${q}${REDACTED}${q}`;
        if (URL_KEY_PATTERN.test(name) && /^[a-z][a-z0-9+.-]*:\/\//i.test(value)) {
          return `${q}${name}${q}${sep}${q}${redactUrl(value)}${q}`;
        }
        return m;
      });
    }
    return this.#redactEnvPairs(out);
  }

  redactValues(s: string): string {
    let out = s;
    for (const secret of this.#sorted) {
      if (out.includes(secret)) out = out.split(secret).join(REDACTED);
    }
    return out;
  }

  /** A deep copy of `value` with secrets replaced; Errors become `{ name, message, stack }`. */
  redact(value: unknown): unknown {
    return this.#redact(value, new WeakSet());
  }

  /**
   * True when `redact(value)` would serialise exactly as `value` does, so a caller about to
   * serialise may skip the copy: plain data only (plain objects and arrays, strings, numbers,
   * booleans, null), no secret-named field with a value, and no string holding a registered value
   * or anything a rule looks for (`mayHoldSecret`, which includes every URL). Anything else
   * (Errors, Dates, class instances, bigints, an own `__proto__`, deeper than 32) says false.
   */
  isClean(value: unknown): boolean {
    return this.#clean(value, 0);
  }

  #clean(value: unknown, depth: number): boolean {
    if (typeof value === 'string') return !mayHoldSecret(value) && !this.#holdsValue(value);
    if (value === null || value === undefined) return true;
    if (typeof value === 'number' || typeof value === 'boolean') return true;
    if (typeof value !== 'object' || depth > 32) return false;
    if (Array.isArray(value)) {
      for (const v of value) if (!this.#clean(v, depth + 1)) return false;
      return true;
    }
    const proto = Object.getPrototypeOf(value) as unknown;
    if (proto !== Object.prototype && proto !== null) return false;
    for (const k of Object.keys(value)) {
      if (k === '__proto__') return false;
      const v = (value as Record<string, unknown>)[k];
      if (v !== undefined && v !== null && this.isSecretKey(k)) return false;
      if (!this.#clean(v, depth + 1)) return false;
    }
    return true;
  }

  #holdsValue(s: string): boolean {
    for (const secret of this.#sorted) if (s.includes(secret)) return true;
    return false;
  }

  /**
   * `NAME=value`: inside a JSON string (`"RESTIC_PASSWORD=x y"`) the value runs to the closing
   * quote; in a query string to the next `&`; otherwise it is one quoted string or runs to
   * whitespace.
   */
  #redactEnvPairs(s: string): string {
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

  #redact(value: unknown, seen: WeakSet<object>): unknown {
    if (typeof value === 'string') return this.redactString(value);
    if (typeof value === 'bigint') return value.toString();
    if (value === null || typeof value !== 'object') return value;
    if (seen.has(value)) return '[Circular]';
    // `seen` holds the ancestors only: an object shared by two fields is not a cycle.
    seen.add(value);
    try {
      return this.#redactObject(value, seen);
    } finally {
      seen.delete(value);
    }
  }

  #field(k: string, v: unknown, seen: WeakSet<object>): unknown {
    if (this.isSecretKey(k) && v !== undefined && v !== null) return REDACTED;
    if (typeof v === 'string' && URL_KEY_PATTERN.test(k) && /^[a-z][a-z0-9+.-]*:\/\//i.test(v)) {
      return redactUrl(v);
    }
    return this.#redact(v, seen);
  }

  #redactObject(value: object, seen: WeakSet<object>): unknown {
    if (value instanceof Error) {
      const out: Record<string, unknown> = {
        name: value.name,
        message: this.redactString(value.message),
      };
      if (value.stack) out['stack'] = this.redactString(value.stack);
      for (const [k, v] of Object.entries(value)) define(out, k, this.#field(k, v, seen));
      if (value.cause !== undefined && !('cause' in out))
        out['cause'] = this.#redact(value.cause, seen);
      return out;
    }
    if (value instanceof Date) return value.toISOString();
    if (Array.isArray(value)) return value.map((v) => this.#redact(v, seen));
    if (value instanceof Map) {
      return this.#redact(Object.fromEntries(value), seen);
    }
    if (value instanceof Set) return this.#redact([...value], seen);
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) define(out, k, this.#field(k, v, seen));
    return out;
  }
}

/** `out[k] = v` that makes even `__proto__` an own property instead of setting the prototype. */
function define(out: Record<string, unknown>, k: string, v: unknown): void {
  // Plain assignment already makes an own property for every other key (Object.prototype's only
  // accessor is __proto__), and is several times faster: every log line's fields pass here.
  if (k === '__proto__') {
    Object.defineProperty(out, k, {
      value: v,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  } else out[k] = v;
}

/** Rules only (no registered values): for last-resort paths that have no shared redactor. */
export function redactText(s: string): string {
  return RULES_ONLY.redactString(s);
}

const RULES_ONLY = new SecretRedactor();
