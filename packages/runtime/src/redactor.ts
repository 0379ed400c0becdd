/**
 * Keeps secrets out of log lines: values of secret-looking field names, `NAME=value` assignments of
 * secret-looking env names inside strings, and every value registered with `addSecretValue`.
 */
export const Redactor = Symbol.for('dockop.Redactor');

export const REDACTED = '[REDACTED]';

/** Field names whose values are secrets (`apiKey`, `secret_key`, `RESTIC_PASSWORD_FILE`, ...). */
export const SECRET_KEY_PATTERN = /PASS|SECRET|KEY|TOKEN|AUTH/i;

/** Field names that match the pattern but are not secrets: `key` is a resource key. */
const EXEMPT_KEYS = new Set(['key']);

/** `NAME=value` inside a string, for upper-case env names that look secret. */
const ENV_ASSIGNMENT =
  /\b([A-Z][A-Z0-9_]*(?:PASS|SECRET|KEY|TOKEN|AUTH)[A-Z0-9_]*)=("[^"]*"|'[^']*'|\S+)/g;

export interface RedactorOptions {
  /** Registered values shorter than this are ignored (they would blank out ordinary words). Default 4. */
  minSecretLength?: number;
}

export interface Redactor {
  /** Registers a value (a repository password, an env value) to be blanked anywhere in a line. */
  addSecretValue(value: string | undefined | null): void;
  /** True for field names whose values are secrets. */
  isSecretKey(name: string): boolean;
  /** Blanks registered values and `SECRET_NAME=value` assignments in a string. */
  redactString(s: string): string;
  /** Blanks registered values only (safe on serialised JSON). */
  redactValues(s: string): string;
  /** A deep copy of `value` with secrets replaced; Errors become `{ name, message, stack }`. */
  redact(value: unknown): unknown;
}

export class SecretRedactor implements Redactor {
  readonly #secrets = new Set<string>();
  #sorted: string[] = [];
  readonly #minLength: number;

  constructor(options: RedactorOptions = {}) {
    this.#minLength = options.minSecretLength ?? 4;
  }

  /** Registers a value (a repository password, an env value) to be blanked anywhere in a line. */
  addSecretValue(value: string | undefined | null): void {
    if (typeof value !== 'string' || value.length < this.#minLength || this.#secrets.has(value)) {
      return;
    }
    this.#secrets.add(value);
    // Longest first, so a secret containing another is replaced whole.
    this.#sorted = [...this.#secrets].sort((a, b) => b.length - a.length);
  }

  /** Number of registered values. */
  get size(): number {
    return this.#secrets.size;
  }

  isSecretKey(name: string): boolean {
    return !EXEMPT_KEYS.has(name) && SECRET_KEY_PATTERN.test(name);
  }

  redactString(s: string): string {
    return this.redactValues(
      s.replace(ENV_ASSIGNMENT, (_m, name: string) => `${name}=${REDACTED}`),
    );
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

  #redactObject(value: object, seen: WeakSet<object>): unknown {
    if (value instanceof Error) {
      const out: Record<string, unknown> = {
        name: value.name,
        message: this.redactString(value.message),
      };
      if (value.stack) out['stack'] = this.redactString(value.stack);
      for (const [k, v] of Object.entries(value)) {
        out[k] = this.isSecretKey(k) ? REDACTED : this.#redact(v, seen);
      }
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
    for (const [k, v] of Object.entries(value)) {
      out[k] =
        this.isSecretKey(k) && v !== undefined && v !== null ? REDACTED : this.#redact(v, seen);
    }
    return out;
  }
}
