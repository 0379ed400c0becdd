import { REDACTED, redactUrl } from './redact-url.js';
import {
  URL_KEY_PATTERN,
  applyRules,
  applyRulesByLine,
  isSecretKeyName,
  mayHoldSecret,
} from './redact-rules.js';
import { setOwn } from './set-own.js';

export { SECRET_KEY_PATTERN } from './redact-rules.js';

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
  /**
   * `redactString` for line-structured text whose secrets never span a line break by
   * construction, such as a diff of canonical JSON (no JSON string holds a raw newline; one pair
   * per line): registered values are blanked over the whole text (one may hold a newline), then
   * the rules run on each line that may hold a secret, not over the whole text. On one line the
   * same as `redactString`; on free text (log messages, restic's multi-line errors, hook commands)
   * use `redactString`: there a rule may have to match across a line (`Bearer\nx`).
   */
  redactLines(text: string): string;
  /** Blanks registered values only (safe on serialised JSON). */
  redactValues(s: string): string;
  /** A deep copy of `value` with secrets replaced; Errors become `{ name, message, stack }`. */
  redact(value: unknown): unknown;
}

export class SecretRedactor implements Redactor {
  readonly #secrets = new Set<string>();
  #sorted: string[] = [];
  readonly #minLength: number;
  /** `isSecretKeyName` of names seen (bounded: names can come from labels). */
  readonly #secretNames = new Map<string, boolean>();

  constructor(options: RedactorOptions = {}) {
    this.#minLength = options.minSecretLength ?? 4;
  }

  addSecretValue(value: string | undefined | null): void {
    if (typeof value !== 'string' || value.length < this.#minLength || this.#secrets.has(value)) {
      return;
    }
    this.#secrets.add(value);
    // Also as a JSON string holds it (a config diff, a serialised field): a password with `"`,
    // `\` or a control character is escaped there, and the raw form would not match.
    const escaped = JSON.stringify(value).slice(1, -1);
    const forms = escaped === value ? [value] : [value, escaped];
    // Longest first, so a secret containing another is replaced whole.
    this.#sorted = [...this.#sorted, ...forms].sort((a, b) => b.length - a.length);
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
    // Names repeat (every log line's fields, every condition): one regex pass per name, not per use.
    let secret = this.#secretNames.get(name);
    if (secret === undefined) {
      secret = isSecretKeyName(name);
      if (this.#secretNames.size >= 1000) this.#secretNames.clear();
      this.#secretNames.set(name, secret);
    }
    return secret;
  }

  redactString(s: string): string {
    // Registered values first: a rule below could otherwise cut one in two and leave a piece.
    const out = this.redactValues(s);
    // Most strings (names, paths, schedules) can match no rule: skip the dozen regex passes.
    return mayHoldSecret(out) ? applyRules(out) : out;
  }

  redactLines(text: string): string {
    // A 600 kB dry-run diff with one URL or secret word in it: the rules over its few lines
    // that may hold a secret, not over all of it (~20 ms).
    return applyRulesByLine(this.redactValues(text));
  }

  redactValues(s: string): string {
    let out = s;
    // Indexed loops here and in the checks below: they run for every log line, and a dry run's
    // first lines run unoptimised, where a for-of allocates an iterator and a result per step.
    const sorted = this.#sorted;
    for (let i = 0; i < sorted.length; i++) {
      const secret = sorted[i] as string;
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

  /**
   * `JSON.stringify(value)` when `isClean(value)`, else undefined (also, rarely, for a clean value:
   * a registered value or a rule's trigger made by two strings together). For a caller about to
   * serialise: the JSON is scanned once instead of each string of `value`. `values: false` leaves
   * out the scan for registered values, for a caller that scans what it writes anyway (the logger
   * runs `redactValues` over the whole line): once is enough.
   */
  cleanJson(value: object, values = true): string | undefined {
    if (!this.#clean(value, 0, false)) return undefined;
    const json = JSON.stringify(value);
    // What a rule needs (`mayHoldSecret`) and every secret field name show in the JSON as they
    // are in the data: JSON escapes only quotes, backslashes and control characters. So does a
    // registered value, in one of its two registered forms. A trigger found (maybe across two
    // strings, or in a field name) asks the walk over each string.
    if (values && this.#holdsValue(json)) return undefined;
    return !mayHoldSecret(json) || this.#clean(value, 0) ? json : undefined;
  }

  /**
   * Plain data that `redact` copies as it is (`strings: false`), and, with `strings: true`, none of
   * its strings or set fields secret: `isClean`. One walk for both, so they cannot drift apart.
   */
  #clean(value: unknown, depth: number, strings = true): boolean {
    if (typeof value === 'string') return !strings || this.#cleanString(value);
    if (typeof value !== 'object' || value === null) {
      return (
        value === null ||
        value === undefined ||
        typeof value === 'number' ||
        typeof value === 'boolean'
      );
    }
    if (depth > 32) return false;
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        const v: unknown = value[i];
        // As below: a scalar answered here.
        if ((typeof v === 'object' && v !== null) || (strings && typeof v === 'string')) {
          if (!this.#clean(v, depth + 1, strings)) return false;
        } else if (typeof v === 'bigint' || typeof v === 'symbol' || typeof v === 'function') {
          return false;
        }
      }
      return true;
    }
    const proto = Object.getPrototypeOf(value) as unknown;
    if (proto !== Object.prototype && proto !== null) return false;
    // for-in, not Object.keys: no array of names per object (a third of this walk's cost, in cold
    // code, for every log line). It also visits an enumerable name someone put on Object.prototype:
    // one more value checked, never one less.
    for (const k in value) {
      if (k === '__proto__') return false;
      const v = (value as Record<string, unknown>)[k];
      if (strings && v !== undefined && v !== null && this.isSecretKey(k)) return false;
      // A scalar answered here, not by a call per field (most of a log line's values are scalars);
      // what JSON and `redact` may write differently is refused.
      if ((typeof v === 'object' && v !== null) || (strings && typeof v === 'string')) {
        if (!this.#clean(v, depth + 1, strings)) return false;
      } else if (typeof v === 'bigint' || typeof v === 'symbol' || typeof v === 'function') {
        return false;
      }
    }
    return true;
  }

  /** No rule's trigger and no registered value in `s`. */
  #cleanString(s: string): boolean {
    return !mayHoldSecret(s) && !this.#holdsValue(s);
  }

  #holdsValue(s: string): boolean {
    const sorted = this.#sorted;
    for (let i = 0; i < sorted.length; i++) if (s.includes(sorted[i] as string)) return true;
    return false;
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
      for (const [k, v] of Object.entries(value)) setOwn(out, k, this.#field(k, v, seen));
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
    for (const [k, v] of Object.entries(value)) setOwn(out, k, this.#field(k, v, seen));
    return out;
  }
}

/** Rules only (no registered values): for last-resort paths that have no shared redactor. */
export function redactText(s: string): string {
  return RULES_ONLY.redactString(s);
}

const RULES_ONLY = new SecretRedactor();
