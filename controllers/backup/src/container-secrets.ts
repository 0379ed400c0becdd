import type { Redactor } from '@dockop/runtime';
import type { DumpSettings } from '@backrest-sidecar/api';

/**
 * A database container's secrets, taught to the redactor before anything a dump, a restore or a
 * drill prints is logged, kept in an event or a status file, or shown: a tool's error output (or
 * a wrapper script's) may echo the password it was given, and the presets hand the tools the
 * container's own variables. Registered (only in memory; they never leave the process):
 * - every variable of the container whose NAME looks secret (`*PASSWORD*`, `*_TOKEN`, ...:
 *   POSTGRES_PASSWORD, MARIADB_ROOT_PASSWORD, MONGO_INITDB_ROOT_PASSWORD, REDIS_PASSWORD);
 * - the variable `backrest.dump.password-env` names, whatever its name;
 * - a password given in `backrest.dump.args` (`--password=x`, `--password x`, mysql's `-px`):
 *   `resolveDump` refuses those, so this is only a second line for settings from elsewhere.
 */
export function learnContainerSecrets(
  redactor: Redactor,
  env: readonly string[] | undefined,
  settings?: Pick<DumpSettings, 'preset' | 'passwordEnv' | 'args'>,
): void {
  const vars: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const kv of env ?? []) {
    if (typeof kv !== 'string') continue;
    const eq = kv.indexOf('=');
    if (eq > 0) vars[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  redactor.addSecretEnv(vars);
  if (settings?.passwordEnv && Object.hasOwn(vars, settings.passwordEnv)) {
    redactor.addSecretValue(vars[settings.passwordEnv]);
  }
  for (const value of passwordsInArgs(settings?.args ?? [], settings?.preset)) {
    redactor.addSecretValue(value);
  }
}

/** Password values in a dump tool's extra arguments. */
export function passwordsInArgs(args: readonly string[], preset?: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const eq = /^--?(?:password|pass|pwd)=(.+)$/i.exec(a);
    if (eq) out.push(eq[1]!);
    else if (/^--?(?:password|pass|pwd)$/i.test(a) && i + 1 < args.length) out.push(args[i + 1]!);
    // mysql/mariadb: `-pSECRET` (no space) is the password.
    else if ((preset === 'mysql' || preset === 'mariadb') && /^-p.+/.test(a)) out.push(a.slice(2));
  }
  return out;
}
