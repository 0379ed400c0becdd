/**
 * Explicit environments for child processes.
 *
 * Why: Node builds a child's environment with `for (key in env)`, which walks the prototype chain
 * on purpose, and that is also what happens when `env` is omitted (`process.env`). A key planted
 * on `Object.prototype` (prototype pollution, e.g. `RESTIC_PASSWORD_COMMAND`) then reaches every
 * child. A child environment is therefore a null-prototype object filled from own properties
 * only, and the parent's variables pass only through an allow-list.
 */

/** A child environment: null prototype, own string properties only. */
export type ChildEnv = Record<string, string>;

/**
 * Parent variables every child may see: locale, time zone, home, search path, temp dir, TLS
 * trust and proxies. Nothing that could carry a credential.
 */
export const BASE_ENV_ALLOW_LIST: readonly string[] = Object.freeze([
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'SHELL',
  'TZ',
  'LANG',
  'LANGUAGE',
  'LC_ALL',
  'LC_CTYPE',
  'LC_MESSAGES',
  'LC_NUMERIC',
  'LC_TIME',
  'LC_COLLATE',
  'TMPDIR',
  'TERM',
  'SSL_CERT_FILE',
  'SSL_CERT_DIR',
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'NO_PROXY',
  'http_proxy',
  'https_proxy',
  'no_proxy',
]);

export interface ChildEnvOptions {
  /** Where inherited variables come from (own properties only). Default `process.env`. */
  parent?: NodeJS.ProcessEnv;
  /**
   * Parent variables passed through: exact names or patterns. Default `BASE_ENV_ALLOW_LIST`.
   * Give `[...BASE_ENV_ALLOW_LIST, ...]` to extend it.
   */
  allow?: ReadonlyArray<string | RegExp>;
  /** Variables the operation needs; they win over the parent's. `undefined` values are skipped. */
  set?: Readonly<Record<string, string | undefined>>;
}

/** A name the kernel and every libc accept: non-empty, no `=`, no NUL. */
const ENV_NAME = /^[^=\0]+$/;

/** Throws when `name` or `value` cannot be one environment entry (the value is never echoed). */
export function checkEnvEntry(name: string, value: string, where = 'environment'): void {
  if (!ENV_NAME.test(name)) {
    throw new Error(`${where}: invalid variable name ${JSON.stringify(name.slice(0, 60))}`);
  }
  if (value.includes('\0')) throw new Error(`${where}: variable ${name} contains a NUL byte`);
}

/** Builds a child environment from an allow-listed subset of `parent` plus `set`. */
export function childEnv(options: ChildEnvOptions = {}): ChildEnv {
  const parent = options.parent ?? process.env;
  const allow = options.allow ?? BASE_ENV_ALLOW_LIST;
  const names = new Set(allow.filter((a): a is string => typeof a === 'string'));
  const patterns = allow.filter((a): a is RegExp => a instanceof RegExp);
  const env = Object.create(null) as ChildEnv;
  for (const name of Object.keys(parent)) {
    if (!Object.hasOwn(parent, name)) continue;
    if (!names.has(name) && !patterns.some((p) => p.test(name))) continue;
    const value = parent[name];
    if (typeof value !== 'string' || !ENV_NAME.test(name) || value.includes('\0')) continue;
    env[name] = value;
  }
  for (const [name, value] of Object.entries(options.set ?? {})) {
    if (typeof value !== 'string') continue;
    checkEnvEntry(name, value);
    env[name] = value;
  }
  return env;
}
