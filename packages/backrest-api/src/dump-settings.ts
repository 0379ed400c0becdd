import type { BackupWorkloadSpec } from './backup-workload.js';
import { isDumpPresetName, type DumpSettings } from './dump-preset.js';

export type DumpResolution =
  { ok: true; settings: DumpSettings | undefined } | { ok: false; message: string };

/**
 * The `backrest.dump*` labels of a (schema-valid) spec as DumpSettings: undefined without
 * `backrest.dump`. What the schema cannot say is refused here with a message naming container,
 * label and value: `.database`, `.user`... without `backrest.dump` (a dump silently not taken),
 * and sqlite without `.database` (it has no default file).
 */
export function resolveDump(spec: BackupWorkloadSpec, container: string): DumpResolution {
  const raw = spec.dump;
  if (raw === undefined || raw === null || typeof raw !== 'object')
    return { ok: true, settings: undefined };
  // Own fields only: a decoded label object never lends inherited members.
  const own = <K extends keyof NonNullable<BackupWorkloadSpec['dump']>>(k: K) =>
    Object.hasOwn(raw, k) ? raw[k] : undefined;
  const preset = own('preset');
  if (preset === undefined) {
    const set = (['database', 'user', 'passwordEnv', 'args', 'only'] as const).filter(
      (k) => own(k) !== undefined,
    );
    if (set.length === 0) return { ok: true, settings: undefined };
    const labels = set.map((k) => `backrest.dump.${k === 'passwordEnv' ? 'password-env' : k}`);
    return {
      ok: false,
      message: `container ${container}: label ${labels.join(', ')} set without backrest.dump (which database kind to dump?)`,
    };
  }
  if (!isDumpPresetName(preset)) {
    return {
      ok: false,
      message: `container ${container}: label backrest.dump=${JSON.stringify(preset)} is not a known preset`,
    };
  }
  const database = own('database');
  if (preset === 'sqlite' && !database) {
    return {
      ok: false,
      message: `container ${container}: label backrest.dump=sqlite needs backrest.dump.database (the database file's path inside the container)`,
    };
  }
  if (preset === 'sqlite' && database && !database.startsWith('/')) {
    return {
      ok: false,
      message: `container ${container}: label backrest.dump.database=${JSON.stringify(database)}: with backrest.dump=sqlite it must be an absolute path inside the container`,
    };
  }
  const user = own('user');
  const passwordEnv = own('passwordEnv');
  const args = own('args');
  const secret = Array.isArray(args) ? passwordArgument(args, preset) : undefined;
  if (secret) {
    // The value is never quoted: it is the password.
    return {
      ok: false,
      message: `container ${container}: label backrest.dump.args item ${secret.index + 1} passes a password (${secret.what}); a password never goes in a label (docker inspect shows labels, and Backrest's config would hold it): set it in the container's environment and name that variable with backrest.dump.password-env`,
    };
  }
  return {
    ok: true,
    settings: {
      preset,
      ...(database ? { database } : {}),
      ...(user ? { user } : {}),
      ...(passwordEnv ? { passwordEnv } : {}),
      args: Array.isArray(args) ? [...args] : [],
      only: own('only') === true,
    },
  };
}

/**
 * The first dump tool argument that carries a password (or makes the tool ask for one), as its
 * flag only: `--password=…`/`--password`/`--pass`/`--pwd`, a URL with a user and password, and
 * per preset mysql/mariadb/mongo `-p…` and redis-cli `-a`.
 */
export function passwordArgument(
  args: readonly string[],
  preset: string,
): { index: number; what: string } | undefined {
  for (let index = 0; index < args.length; index++) {
    const a = args[index]!;
    const flag = /^(--?(?:password|passwd|pass|pwd))(?:=|$)/i.exec(a);
    if (flag) return { index, what: flag[1]! };
    if (/[a-z][a-z0-9+.-]*:\/\/[^/@\s]*:[^/@\s]*@/i.test(a))
      return { index, what: 'a URL with a password' };
    if ((preset === 'mysql' || preset === 'mariadb' || preset === 'mongo') && /^-p/.test(a))
      return { index, what: '-p' };
    if (preset === 'redis' && /^-a/.test(a)) return { index, what: '-a' };
  }
  return undefined;
}
