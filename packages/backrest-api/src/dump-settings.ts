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
