/**
 * Dump presets (`backrest.dump=postgres|mysql|mariadb|mongo|redis|sqlite`): for each database
 * kind, in one table, the script that writes a dump to stdout, the file extension, the script
 * that loads a dump from stdin, the probe query a restore drill runs, and what the database
 * container must have (tools, credential variables).
 *
 * Every script runs INSIDE the database container (`docker exec C sh -c SCRIPT dockop-dump
 * DATABASE USER PASSWORD_ENV [ARGS...]`, see `presetArgv`), so credentials never leave it: a
 * password is read from the container's own environment (the official images' conventions,
 * or the variable `backrest.dump.password-env` names) and handed to the tool through the
 * tool's own variable (PGPASSWORD, MYSQL_PWD, REDISCLI_AUTH), never through our argv or logs.
 * Label values reach the scripts only as positional parameters ("$1"...), never inside the
 * script text: no shell interpolation of anything a label says.
 */

export const DUMP_PRESET_NAMES = [
  'postgres',
  'mysql',
  'mariadb',
  'mongo',
  'redis',
  'sqlite',
] as const;
export type DumpPresetName = (typeof DUMP_PRESET_NAMES)[number];

/** `argv[0]` of the scripts (`$0`): what `ps` in the database container shows. */
export const DUMP_SCRIPT_NAME = 'dockop-dump';

/** The decoded `backrest.dump.*` labels of one workload (see `resolveDump`). */
export interface DumpSettings {
  preset: DumpPresetName;
  /** `backrest.dump.database`; default per preset (POSTGRES_DB, MARIADB_DATABASE, all...). */
  database?: string;
  /** `backrest.dump.user`; default per preset (POSTGRES_USER, root, MONGO_INITDB_ROOT_USERNAME). */
  user?: string;
  /** `backrest.dump.password-env`: NAME of the container's variable holding the password. */
  passwordEnv?: string;
  /** `backrest.dump.args`: extra arguments of the dump tool (argv items, never shell text). */
  args: string[];
  /** `backrest.dump.only=true`: the dump replaces the data directory in the backup. */
  only: boolean;
}

/** One thing the container must have: any one of `anyOf` (tool names, or variable names). */
export interface DumpRequirement {
  kind: 'tool' | 'env' | 'file';
  anyOf: string[];
  /** Which label (or convention) asks for it, for the Warning. */
  because: string;
}

export interface DumpPreset {
  readonly name: DumpPresetName;
  /** Extension of the dump file, no dot: `<workload>.<extension>`. */
  readonly extension: string;
  /** sh script: the dump on stdout; its exit status is the dump's. */
  readonly dump: string;
  /** sh script: loads a dump from stdin. */
  readonly restore: string;
  /**
   * True when `restore` replaces a data file and must run with the server stopped (in a one-shot
   * container from the workload's image with its volumes); false when it runs in the live server.
   */
  readonly restoreNeedsStopped: boolean;
  /** sh script: prints one integer (`probeMeaning`), e.g. the number of user tables. */
  readonly probe: string;
  readonly probeMeaning: string;
  /** Tools `dump` needs (each entry: alternatives). */
  readonly dumpTools: readonly (readonly string[])[];
  readonly restoreTools: readonly (readonly string[])[];
}

// Shared prelude: positional parameters, and the password read from the container's variable
// whose NAME is $3 (checked to be a variable name before `eval` sees it).
const PRELUDE = [
  'set -eu',
  'db=$1 user=$2 pwenv=$3',
  'shift 3',
  'pw=',
  'case $pwenv in',
  "  '') ;;",
  '  *[!A-Za-z0-9_]* | [0-9]*) echo "dockop-dump: invalid variable name in backrest.dump.password-env" >&2; exit 2 ;;',
  '  *) eval "pw=\\${$pwenv-}" ;;',
  'esac',
].join('\n');

const PG_DEFAULTS = [
  'user=${user:-${POSTGRES_USER:-postgres}}',
  'db=${db:-${POSTGRES_DB:-$user}}',
  '[ -n "$pwenv" ] || pw=${POSTGRES_PASSWORD:-}',
  'if [ -n "$pw" ]; then export PGPASSWORD="$pw"; fi',
  'unset pw',
].join('\n');

const PG_USER_TABLES =
  "select count(*) from information_schema.tables where table_schema not in ('pg_catalog', 'information_schema')";

/** mysql and mariadb differ only in which tool they try first (the other is the fallback). */
function sqlDefaults(dumpTools: string[], clients: string[], first: 'MYSQL' | 'MARIADB'): string {
  const second = first === 'MYSQL' ? 'MARIADB' : 'MYSQL';
  return [
    `dump_tool=$(command -v ${dumpTools[0]} || command -v ${dumpTools[1]} || true)`,
    `client=$(command -v ${clients[0]} || command -v ${clients[1]} || true)`,
    'user=${user:-root}',
    'if [ -z "$pwenv" ]; then',
    '  if [ "$user" = root ]; then',
    `    pw=\${${first}_ROOT_PASSWORD:-\${${second}_ROOT_PASSWORD:-}}`,
    '  else',
    `    pw=\${${first}_PASSWORD:-\${${second}_PASSWORD:-}}`,
    '  fi',
    'fi',
    `db=\${db:-\${${first}_DATABASE:-\${${second}_DATABASE:-}}}`,
    'if [ -n "$pw" ]; then export MYSQL_PWD="$pw"; fi',
    'unset pw',
  ].join('\n');
}

const SQL_USER_TABLES =
  "select count(*) from information_schema.tables where table_schema not in ('mysql', 'information_schema', 'performance_schema', 'sys')";

function sqlPreset(name: 'mysql' | 'mariadb'): DumpPreset {
  const dumpTools =
    name === 'mysql' ? ['mysqldump', 'mariadb-dump'] : ['mariadb-dump', 'mysqldump'];
  const clients = name === 'mysql' ? ['mysql', 'mariadb'] : ['mariadb', 'mysql'];
  const defaults = sqlDefaults(dumpTools, clients, name === 'mysql' ? 'MYSQL' : 'MARIADB');
  return {
    name,
    extension: 'sql',
    // --single-transaction: a consistent InnoDB snapshot without locking writers out.
    dump: [
      PRELUDE,
      defaults,
      `[ -n "$dump_tool" ] || { echo "dockop-dump: neither ${dumpTools.join(' nor ')} in this container" >&2; exit 127; }`,
      'if [ -n "$db" ]; then',
      '  exec "$dump_tool" --user="$user" --single-transaction --routines --events --triggers "$@" --databases "$db"',
      'fi',
      'exec "$dump_tool" --user="$user" --single-transaction --routines --events --triggers "$@" --all-databases',
    ].join('\n'),
    restore: [
      PRELUDE,
      defaults,
      `[ -n "$client" ] || { echo "dockop-dump: neither ${clients.join(' nor ')} in this container" >&2; exit 127; }`,
      'exec "$client" --user="$user"',
    ].join('\n'),
    restoreNeedsStopped: false,
    probe: [
      PRELUDE,
      defaults,
      `[ -n "$client" ] || { echo "dockop-dump: neither ${clients.join(' nor ')} in this container" >&2; exit 127; }`,
      `exec "$client" --user="$user" --batch --skip-column-names -e "${SQL_USER_TABLES}"`,
    ].join('\n'),
    probeMeaning: 'user tables',
    dumpTools: [dumpTools],
    restoreTools: [clients],
  };
}

const MONGO_DEFAULTS = [
  'user=${user:-${MONGO_INITDB_ROOT_USERNAME:-}}',
  '[ -n "$pwenv" ] || pw=${MONGO_INITDB_ROOT_PASSWORD:-}',
  // mongodump asks for a password on the terminal when it has a user and no password: refuse.
  'if [ -n "$user" ] && [ -z "$pw" ]; then echo "dockop-dump: user $user has no password in this container" >&2; exit 2; fi',
  'auth() { if [ -n "$user" ]; then echo yes; fi; }',
].join('\n');

const PRESETS: Record<DumpPresetName, DumpPreset> = {
  postgres: {
    name: 'postgres',
    extension: 'sql',
    // Plain SQL with DROP ... IF EXISTS first: loads into a fresh database and over an old one.
    dump: [
      PRELUDE,
      PG_DEFAULTS,
      'exec pg_dump --username="$user" --no-password --clean --if-exists "$@" -- "$db"',
    ].join('\n'),
    restore: [
      PRELUDE,
      PG_DEFAULTS,
      'exec psql --username="$user" --no-password --no-psqlrc --quiet -v ON_ERROR_STOP=1 --dbname="$db"',
    ].join('\n'),
    restoreNeedsStopped: false,
    probe: [
      PRELUDE,
      PG_DEFAULTS,
      `exec psql --username="$user" --no-password --no-psqlrc -tA --dbname="$db" -c "${PG_USER_TABLES}"`,
    ].join('\n'),
    probeMeaning: 'user tables',
    dumpTools: [['pg_dump']],
    restoreTools: [['psql']],
  },
  mysql: sqlPreset('mysql'),
  mariadb: sqlPreset('mariadb'),
  mongo: {
    name: 'mongo',
    extension: 'archive',
    // The password is on mongodump's argv inside the container (mongodump reads no password
    // variable); it still never leaves the container.
    dump: [
      PRELUDE,
      MONGO_DEFAULTS,
      'if [ -n "$db" ]; then set -- --db="$db" "$@"; fi',
      'if [ -n "$(auth)" ]; then set -- --username="$user" --password="$pw" --authenticationDatabase=admin "$@"; fi',
      'exec mongodump --archive --quiet "$@"',
    ].join('\n'),
    restore: [
      PRELUDE,
      MONGO_DEFAULTS,
      'set --',
      'if [ -n "$(auth)" ]; then set -- --username="$user" --password="$pw" --authenticationDatabase=admin; fi',
      'exec mongorestore --archive --drop --quiet "$@"',
    ].join('\n'),
    restoreNeedsStopped: false,
    probe: [
      PRELUDE,
      MONGO_DEFAULTS,
      'set --',
      'if [ -n "$(auth)" ]; then set -- --username="$user" --password="$pw" --authenticationDatabase=admin; fi',
      `exec mongosh --quiet "$@" --eval 'db.getMongo().getDBNames().length'`,
    ].join('\n'),
    probeMeaning: 'databases',
    dumpTools: [['mongodump']],
    restoreTools: [['mongorestore']],
  },
  redis: {
    name: 'redis',
    extension: 'rdb',
    // `--rdb -`: the server's own RDB snapshot (a replication SYNC), streamed to stdout.
    dump: [
      PRELUDE,
      '[ -n "$pwenv" ] || pw=${REDIS_PASSWORD:-}',
      'if [ -n "$pw" ]; then export REDISCLI_AUTH="$pw"; fi',
      'exec redis-cli "$@" --rdb -',
    ].join('\n'),
    // The server must be stopped: it would overwrite dump.rdb from memory when it exits.
    restore: [
      PRELUDE,
      'dir=${REDIS_DATA_DIR:-/data}',
      'cat >"$dir/dump.rdb.dockop-restore"',
      'mv -f "$dir/dump.rdb.dockop-restore" "$dir/dump.rdb"',
    ].join('\n'),
    restoreNeedsStopped: true,
    probe: [
      PRELUDE,
      '[ -n "$pwenv" ] || pw=${REDIS_PASSWORD:-}',
      'if [ -n "$pw" ]; then export REDISCLI_AUTH="$pw"; fi',
      'exec redis-cli DBSIZE',
    ].join('\n'),
    probeMeaning: 'keys',
    dumpTools: [['redis-cli']],
    restoreTools: [],
  },
  sqlite: {
    name: 'sqlite',
    extension: 'sql',
    // `.dump` reads inside one transaction: a consistent copy while the application writes.
    dump: [PRELUDE, 'exec sqlite3 -readonly "$db" .dump'].join('\n'),
    restore: [
      PRELUDE,
      'rm -f "$db.dockop-restore"',
      'sqlite3 "$db.dockop-restore"',
      'mv -f "$db.dockop-restore" "$db"',
    ].join('\n'),
    restoreNeedsStopped: true,
    probe: [
      PRELUDE,
      `exec sqlite3 -readonly "$db" "select count(*) from sqlite_master where type = 'table'"`,
    ].join('\n'),
    probeMeaning: 'tables',
    dumpTools: [['sqlite3']],
    restoreTools: [['sqlite3']],
  },
};

export function isDumpPresetName(value: unknown): value is DumpPresetName {
  return typeof value === 'string' && (DUMP_PRESET_NAMES as readonly string[]).includes(value);
}

/** The preset table entry (frozen data: the same for the dump, the restore and the drill). */
export function dumpPreset(name: DumpPresetName): DumpPreset {
  return PRESETS[name];
}

/** `<workload>.<extension>`: the dump's file name in the dump directory and in `--stdin` snapshots. */
export function dumpFileName(workload: string, preset: DumpPresetName): string {
  return `${workload}.${PRESETS[preset].extension}`;
}

/**
 * `docker exec` argv for one of a preset's scripts: label values as positional parameters.
 * `args` (the dump tool's extra arguments) only for the dump script.
 */
export function presetArgv(
  script: 'dump' | 'restore' | 'probe',
  settings: Omit<DumpSettings, 'only'>,
): string[] {
  const preset = PRESETS[settings.preset];
  return [
    'sh',
    '-c',
    preset[script],
    DUMP_SCRIPT_NAME,
    settings.database ?? '',
    settings.user ?? '',
    settings.passwordEnv ?? '',
    ...(script === 'dump' ? settings.args : []),
  ];
}

/**
 * What the container must have for the dump to work: the tool, and the credential variable
 * when one is required (the variable `.password-env` names; the root password for mysql and
 * mariadb as root). Postgres, mongo and redis work without a password in their images' default
 * setups (local trust, no auth), so only a named variable is required for them.
 */
export function dumpRequirements(settings: DumpSettings): DumpRequirement[] {
  const preset = PRESETS[settings.preset];
  const out: DumpRequirement[] = preset.dumpTools.map((anyOf) => ({
    kind: 'tool' as const,
    anyOf: [...anyOf],
    because: `backrest.dump=${settings.preset}`,
  }));
  if (settings.passwordEnv) {
    out.push({
      kind: 'env',
      anyOf: [settings.passwordEnv],
      because: 'backrest.dump.password-env',
    });
  } else if (settings.preset === 'mysql' || settings.preset === 'mariadb') {
    const user = settings.user ?? 'root';
    const first = settings.preset === 'mysql' ? 'MYSQL' : 'MARIADB';
    const second = first === 'MYSQL' ? 'MARIADB' : 'MYSQL';
    const suffix = user === 'root' ? 'ROOT_PASSWORD' : 'PASSWORD';
    out.push({
      kind: 'env',
      anyOf: [`${first}_${suffix}`, `${second}_${suffix}`],
      because: `backrest.dump=${settings.preset}${user === 'root' ? '' : ` with backrest.dump.user=${user}`}`,
    });
  }
  if (settings.preset === 'sqlite' && settings.database) {
    out.push({ kind: 'file', anyOf: [settings.database], because: 'backrest.dump.database' });
  }
  return out;
}

/**
 * sh script that prints one line per unmet requirement, `missing <kind> <name>|<name>`; its
 * arguments are `kind:name|name` items (names already checked: tools are ours, variable names
 * match the schema's pattern, files are validated paths).
 */
export const CHECK_SCRIPT = [
  'for spec in "$@"; do',
  '  kind=${spec%%:*}',
  '  alts=${spec#*:}',
  '  ok=',
  "  IFS='|'",
  '  for a in $alts; do',
  '    case $kind in',
  '      tool) if command -v "$a" >/dev/null 2>&1; then ok=1; fi ;;',
  '      env) case $a in *[!A-Za-z0-9_]* | [0-9]* | \'\') ;; *) if eval "[ -n \\"\\${$a-}\\" ]"; then ok=1; fi ;; esac ;;',
  '      file) if [ -f "$a" ]; then ok=1; fi ;;',
  '    esac',
  '  done',
  '  unset IFS',
  '  if [ -z "$ok" ]; then echo "missing $kind $alts"; fi',
  'done',
].join('\n');

/** `docker exec` argv of the requirement check. */
export function checkArgv(requirements: readonly DumpRequirement[]): string[] {
  return [
    'sh',
    '-c',
    CHECK_SCRIPT,
    DUMP_SCRIPT_NAME,
    ...requirements.map((r) => `${r.kind}:${r.anyOf.join('|')}`),
  ];
}

/** The requirements the check script's output reports as unmet (unknown lines ignored). */
export function unmetRequirements(
  requirements: readonly DumpRequirement[],
  output: string,
): DumpRequirement[] {
  const missing = new Set(
    output
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l.startsWith('missing ')),
  );
  return requirements.filter((r) => missing.has(`missing ${r.kind} ${r.anyOf.join('|')}`));
}

/** A Warning sentence for an unmet requirement, naming container and label. */
export function describeUnmet(container: string, r: DumpRequirement): string {
  const names = r.anyOf.join(' or ');
  switch (r.kind) {
    case 'tool':
      return `container ${container}: ${r.because} needs ${names} in the container, and it has none`;
    case 'env':
      return `container ${container}: ${r.because} needs the variable ${names} set in the container, and it is not`;
    case 'file':
      return `container ${container}: ${r.because}=${JSON.stringify(names)} is not a file in the container`;
  }
}

/** POSIX shell quoting: the value between single quotes, each `'` as `'\''`. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** `<dumpDir>/<planId>`: the directory a Backrest plan's dump hook writes and the plan backs up. */
export function planDumpDir(dumpDir: string, planId: string): string {
  return `${dumpDir.replace(/\/+$/, '')}/${planId}`;
}

/**
 * The Backrest hook (a shell script Backrest runs in its own container, which needs the docker
 * CLI and the Docker socket) that writes `<dir>/<container>.<ext>` atomically: the dump goes to a
 * temp file in the same directory, then is renamed; a failed or empty dump exits non-zero (the
 * hook is ON_ERROR_FATAL) and leaves the previous dump untouched. Every label value is a
 * single-quoted argv item of `docker exec`, never shell text.
 */
export function dumpHookCommand(container: string, dir: string, settings: DumpSettings): string {
  const file = dumpFileName(container, settings.preset);
  const argv = presetArgv('dump', settings).map(shellQuote).join(' ');
  return [
    `# backrest.dump=${settings.preset}: ${file}`,
    'set -eu',
    `dir=${shellQuote(dir)}`,
    'mkdir -p "$dir"',
    `tmp="$dir/.${file}.partial"`,
    `trap 'rm -f "$tmp"' EXIT`,
    `docker exec ${shellQuote(container)} ${argv} >"$tmp"`,
    `if [ ! -s "$tmp" ]; then echo "backrest.dump: the dump of ${container} is empty" >&2; exit 1; fi`,
    `mv -f "$tmp" "$dir/${file}"`,
  ].join('\n');
}
