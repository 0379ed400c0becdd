/**
 * TEST SUPPORT: an independent model of what Backrest refuses when it loads `config.json`, written
 * from Backrest's Go source (garethgeorge/backrest @ 626156cd, config version 6) and
 * gitploy-io/cronexpr (@ 7bea19d7), each rule citing its file and line. It is the oracle our
 * validator (validate-config.ts, cron.ts) is checked against, so it imports nothing from them:
 * a shared bug would hide itself. Published as `@backrest-sidecar/config-sink/backrest-oracle`
 * (not from index.ts) so the package's specs, the golden tests and the e2e tests in `test/` use
 * the same oracle without a new workspace package. Never imported by product code.
 *
 * Load path modelled (internal/config/config.go `getCachedLocked`, lines 75-95):
 * jsonstore.go:72 protojson.Unmarshal{DiscardUnknown} → config.go:33 PopulateRequiredFields →
 * config.go:37-47 migrations when version < 6 → validate.go:18 ValidateConfig.
 * Evaluated in UTC (Backrest uses its local zone for the cron five-year check).
 */
import { createHash, createPrivateKey, createPublicKey } from 'node:crypto';

export interface OracleOptions {
  /** "Now" for the cron five-year rule. Default: the real now. */
  now?: Date;
  /** Backrest's process environment, read by migration 005. Default: none of its variables. */
  env?: Readonly<Record<string, string | undefined>>;
}

export interface OracleVerdict {
  loads: boolean;
  /** Why Backrest would refuse the file (empty when it loads). */
  errors: string[];
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

// ---------------------------------------------------------------------------------------------
// protojson (jsonstore.go:72): types of the fields, JSON name or proto name, oneofs.
// ---------------------------------------------------------------------------------------------

type Kind = 'string' | 'bool' | 'int32' | 'int64' | 'double' | 'enum' | Msg;
interface Field {
  json: string;
  proto: string;
  kind: Kind;
  repeated?: boolean;
  oneof?: string;
}
interface Msg {
  name: string;
  fields: Field[];
}

const f = (json: string, kind: Kind, more: Partial<Field> = {}): Field => ({
  json,
  proto: more.proto ?? json,
  kind,
  ...(more.repeated ? { repeated: true } : {}),
  ...(more.oneof ? { oneof: more.oneof } : {}),
});

// proto/v1/config.proto (lines cited per message).
const Schedule: Msg = {
  // config.proto:188-204
  name: 'Schedule',
  fields: [
    f('disabled', 'bool', { oneof: 'schedule' }),
    f('cron', 'string', { oneof: 'schedule' }),
    f('maxFrequencyDays', 'int32', { oneof: 'schedule' }),
    f('maxFrequencyHours', 'int32', { oneof: 'schedule' }),
    f('clock', 'enum'),
  ],
};
const Buckets: Msg = {
  // config.proto:158-165
  name: 'TimeBucketedCounts',
  fields: [
    f('hourly', 'int32'),
    f('daily', 'int32'),
    f('weekly', 'int32'),
    f('monthly', 'int32'),
    f('yearly', 'int32'),
    f('keepLastN', 'int32', { proto: 'keep_last_n' }),
  ],
};
const Retention: Msg = {
  // config.proto:151-156
  name: 'RetentionPolicy',
  fields: [
    f('policyKeepLastN', 'int32', { proto: 'policy_keep_last_n', oneof: 'policy' }),
    f('policyTimeBucketed', Buckets, { proto: 'policy_time_bucketed', oneof: 'policy' }),
    f('policyKeepAll', 'bool', { proto: 'policy_keep_all', oneof: 'policy' }),
  ],
};
const Command: Msg = { name: 'Command', fields: [f('command', 'string')] };
const Hook: Msg = {
  // config.proto:206-254 (actions other than the command are not modelled: any object)
  name: 'Hook',
  fields: [
    f('conditions', 'enum', { repeated: true }),
    f('onError', 'enum', { proto: 'on_error' }),
    f('actionCommand', Command, { proto: 'action_command', oneof: 'action' }),
  ],
};
const Repo: Msg = {
  // config.proto:101-117
  name: 'Repo',
  fields: [
    f('id', 'string'),
    f('uri', 'string'),
    f('guid', 'string'),
    f('password', 'string'),
    f('env', 'string', { repeated: true }),
    f('flags', 'string', { repeated: true }),
    f(
      'prunePolicy',
      { name: 'PrunePolicy', fields: [f('schedule', Schedule)] },
      { proto: 'prune_policy' },
    ),
    f(
      'checkPolicy',
      { name: 'CheckPolicy', fields: [f('schedule', Schedule)] },
      { proto: 'check_policy' },
    ),
    f('hooks', Hook, { repeated: true }),
    f('autoUnlock', 'bool', { proto: 'auto_unlock' }),
    f('autoInitialize', 'bool', { proto: 'auto_initialize' }),
    f('shared', 'bool'),
    f('originInstanceId', 'string', { proto: 'origin_instance_id' }),
    f(
      'forgetPolicy',
      { name: 'ForgetPolicy', fields: [f('schedule', Schedule), f('retention', Retention)] },
      { proto: 'forget_policy' },
    ),
  ],
};
const Plan: Msg = {
  // config.proto:119-131
  name: 'Plan',
  fields: [
    f('id', 'string'),
    f('repo', 'string'),
    f('paths', 'string', { repeated: true }),
    f('excludes', 'string', { repeated: true }),
    f('iexcludes', 'string', { repeated: true }),
    f('schedule', Schedule),
    f('retention', Retention),
    f('hooks', Hook, { repeated: true }),
    f('backup_flags', 'string', { repeated: true }),
    f('skipIfUnchanged', 'bool', { proto: 'skip_if_unchanged' }),
  ],
};
const User: Msg = {
  // config.proto:311-316
  name: 'User',
  fields: [
    f('name', 'string'),
    f('passwordBcrypt', 'string', { proto: 'password_bcrypt', oneof: 'password' }),
  ],
};
const PrivateKey: Msg = {
  // crypto.proto:19-23
  name: 'PrivateKey',
  fields: [
    f('keyId', 'string', { proto: 'keyid' }),
    f('ed25519priv', 'string'),
    f('ed25519pub', 'string'),
  ],
};
const Permission: Msg = {
  // config.proto:54-98
  name: 'Permission',
  fields: [f('type', 'enum'), f('scopes', 'string', { repeated: true })],
};
const Peer: Msg = {
  // config.proto:33-42
  name: 'Peer',
  fields: [
    f('instanceId', 'string', { proto: 'instance_id' }),
    f('keyId', 'string', { proto: 'keyid' }),
    f('permissions', Permission, { repeated: true }),
    f('instanceUrl', 'string', { proto: 'instance_url' }),
  ],
};
const Config: Msg = {
  // config.proto:12-25
  name: 'Config',
  fields: [
    f('modno', 'int32'),
    f('version', 'int32'),
    f('instance', 'string'),
    f('repos', Repo, { repeated: true }),
    f('plans', Plan, { repeated: true }),
    f('auth', {
      name: 'Auth',
      fields: [f('disabled', 'bool'), f('users', User, { repeated: true })],
    }),
    f(
      'sync',
      {
        name: 'Multihost',
        fields: [
          f('identity', PrivateKey),
          f('knownHosts', Peer, { proto: 'known_hosts', repeated: true }),
          f('authorizedClients', Peer, { proto: 'authorized_clients', repeated: true }),
        ],
      },
      { proto: 'multihost' },
    ),
  ],
};

/** A decoded message: proto field name → value (absent = unset), as Go would see it. */
type Decoded = Map<string, unknown>;

function scalarOk(kind: Kind, v: unknown): boolean {
  switch (kind) {
    case 'string':
      return typeof v === 'string';
    case 'bool':
      return typeof v === 'boolean';
    case 'enum':
      // DiscardUnknown also ignores unknown enum names (protojson UnmarshalOptions doc).
      return typeof v === 'string' || (typeof v === 'number' && Number.isInteger(v));
    case 'double':
      return (
        typeof v === 'number' || (typeof v === 'string' && v.trim() !== '' && !isNaN(Number(v)))
      );
    case 'int32':
    case 'int64': {
      // protojson takes a JSON number or a decimal string, integral and in range.
      const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : NaN;
      const lim = kind === 'int32' ? 2 ** 31 : 2 ** 63;
      return Number.isInteger(n) && n >= -lim && n < lim;
    }
    default:
      return false;
  }
}

function decode(msg: Msg, v: unknown, where: string, errors: string[]): Decoded {
  const out: Decoded = new Map();
  if (!isObj(v)) {
    errors.push(`unmarshal: ${where || 'config'} is not an object`);
    return out;
  }
  const oneofs = new Map<string, string>();
  for (const field of msg.fields) {
    const present = [field.json, field.proto].filter(
      (k, i, a) => a.indexOf(k) === i && Object.hasOwn(v, k) && v[k] !== undefined,
    );
    if (present.length > 1) errors.push(`unmarshal: ${where}.${field.json} given twice`);
    const key = present[0];
    if (key === undefined) continue;
    const raw = v[key];
    if (raw === null) continue; // protojson: null is the default value
    const path = `${where}.${field.json}`;
    if (field.oneof) {
      const other = oneofs.get(field.oneof);
      // protojson: "error parsing ..., oneof v1.X.y is already set"
      if (other) errors.push(`unmarshal: ${path}: oneof ${field.oneof} is already set (${other})`);
      oneofs.set(field.oneof, field.json);
    }
    const one = (x: unknown, p: string): unknown => {
      if (typeof field.kind === 'object') return decode(field.kind, x, p, errors);
      if (!scalarOk(field.kind, x)) errors.push(`unmarshal: ${p}: not a valid ${field.kind}`);
      return field.kind === 'int32' || field.kind === 'int64' ? Number(x) : x;
    };
    if (field.repeated) {
      if (!Array.isArray(raw)) {
        errors.push(`unmarshal: ${path}: not an array`);
        continue;
      }
      // An empty list decodes to nil (a Go nil slice).
      if (raw.length > 0)
        out.set(
          field.proto,
          raw.map((x, i) => one(x, `${path}[${i}]`)),
        );
    } else {
      out.set(field.proto, one(raw, path));
    }
  }
  return out;
}

const s = (m: Decoded | undefined, k: string): string => {
  const v = m?.get(k);
  return typeof v === 'string' ? v : '';
};
const n = (m: Decoded | undefined, k: string): number => {
  const v = m?.get(k);
  return typeof v === 'number' ? v : 0;
};
const b = (m: Decoded | undefined, k: string): boolean => m?.get(k) === true;
const msg = (m: Decoded | undefined, k: string): Decoded | undefined => {
  const v = m?.get(k);
  return v instanceof Map ? (v as Decoded) : undefined;
};
const list = (m: Decoded | undefined, k: string): unknown[] => {
  const v = m?.get(k);
  return Array.isArray(v) ? v : [];
};
const msgs = (m: Decoded | undefined, k: string): Decoded[] =>
  list(m, k).filter((x): x is Decoded => x instanceof Map);
const strs = (m: Decoded | undefined, k: string): string[] =>
  list(m, k).filter((x): x is string => typeof x === 'string');

/** Go's len(string): UTF-8 bytes. */
const goLen = (x: string): number => Buffer.byteLength(x, 'utf8');

// ---------------------------------------------------------------------------------------------
// validationutil.ValidateID (internal/config/validationutil/validationutil.go:29-43)
// ---------------------------------------------------------------------------------------------

function validateId(id: string, maxLen: number): string | undefined {
  // :30 reserved; :33 idRegex is unanchored (`[a-zA-Z0-9_\-\.]*` matches every string), so the
  // "invalid characters" branch never fires; :36 empty; :39 too long (bytes).
  if (id.startsWith('_') && id.endsWith('_'))
    return "IDs starting and ending with '_' are reserved";
  if (id.length === 0) return 'empty';
  if (maxLen > 0 && goLen(id) > maxLen) return `too long (> ${maxLen} chars)`;
  return undefined;
}
const ID_MAX_LEN = 50; // validationutil.go:11

// ---------------------------------------------------------------------------------------------
// cronexpr (gitploy-io/cronexpr parser.go, schedule.go) and protoutil.ValidateSchedule
// ---------------------------------------------------------------------------------------------

// parser.go:25-29 bounds (hour is 0-24 there), :33-56 names.
const BOUNDS: [number, number][] = [
  [0, 59],
  [0, 24],
  [1, 31],
  [1, 12],
  [0, 6],
];
const NAMES: (Record<string, number> | undefined)[] = [
  undefined,
  undefined,
  undefined,
  Object.fromEntries(
    ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'].map(
      (m, i) => [m, i + 1],
    ),
  ),
  Object.fromEntries(['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'].map((d, i) => [d, i])),
];

/** strconv.Atoi: optional sign, ASCII digits, int64 range. */
function atoi(x: string): bigint | undefined {
  if (!/^[+-]?[0-9]+$/.test(x)) return undefined;
  const v = BigInt(x);
  return v >= -(2n ** 63n) && v < 2n ** 63n ? v : undefined;
}

/** strings.Fields: split on unicode.IsSpace runs. */
function goFields(x: string): string[] {
  return x
    .split(/[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/u)
    .filter((p) => p !== '');
}

/** parser.go:109-148 Parse → five 64-bit sets; throws on what the parser refuses, hangs or panics. */
function cronParse(expr: string): bigint[] {
  const fields = goFields(expr);
  if (fields.length !== 5) throw new Error('The length of fields must be five.'); // parser.go:249-253
  return fields.map((field, fi) => {
    const [min, max] = BOUNDS[fi] as [number, number];
    let bits = 0n;
    for (const fe of field.split(',')) {
      // parser.go:173 replaces the first "*" by "min-max"
      const ne = fe.replace('*', `${min}-${max}`);
      const rs = ne.split('/');
      if (rs.length > 2) throw new Error(`too many '/' in '${fe}'`); // :176
      const lh = (rs[0] as string).split('-');
      if (lh.length > 2) throw new Error(`too many '-' in '${fe}'`); // :188
      const int = (x: string): bigint => {
        // parser.go:226-237 parseInt: Atoi, else the translater (upper-cased)
        const a = atoi(x);
        if (a !== undefined) return a;
        const t = NAMES[fi]?.[x.toUpperCase()];
        if (t === undefined) throw new Error(`'${x}' is out of reserved words`);
        return BigInt(t);
      };
      const begin = int(lh[0] as string);
      const end = lh.length === 2 ? int(lh[1] as string) : rs.length === 2 ? BigInt(max) : begin; // :199-211
      let step = 1n;
      if (rs.length === 2) {
        const st = atoi(rs[1] as string); // :218
        if (st === undefined) throw new Error(`bad step in '${fe}'`);
        step = st;
      }
      // parser.go:239-247 buildBitset: `for i := min; i <= max; i += step { b |= 1 << i }`
      if (begin > end) continue; // zero iterations
      if (step === 0n)
        throw new Error(`step 0 in '${fe}': buildBitset never returns (Backrest hangs)`);
      if (step < 0n) throw new Error(`negative step in '${fe}': 1 << negative panics`);
      if ((end - begin) / step > 1_000_000_000n) {
        throw new Error(`'${fe}': buildBitset loops ${(end - begin) / step} times`);
      }
      // 1 << i is 0 for i >= 64 (uint64).
      for (let i = begin; i <= end && i < 64n; i += step) bits |= 1n << i;
    }
    return bits;
  });
}

const has = (set: bigint, v: number): boolean => ((set >> BigInt(v)) & 1n) === 1n;

/**
 * schedule.go:16-100 Schedule.Next, as a question: is there a run before the end of year
 * (year of now+1min) + 5 (:30-35)? dayMatches (:192-200) is AND whenever either set is non-empty.
 * Walked day by day (not the same algorithm as cron.ts, on purpose).
 */
function cronFiresWithin5Years(sets: bigint[], now: Date): boolean {
  const [minute, hour, dom, month, dow] = sets as [bigint, bigint, bigint, bigint, bigint];
  const start = new Date(Math.floor(now.getTime() / 1000) * 1000 + 60_000); // :28
  const startMinute = Math.floor(start.getTime() / 60_000) * 60_000;
  const limit = start.getUTCFullYear() + 5;
  let day = Date.UTC(start.getUTCFullYear(), start.getUTCMonth(), start.getUTCDate());
  for (; new Date(day).getUTCFullYear() <= limit; day += 86_400_000) {
    const d = new Date(day);
    if (!has(month, d.getUTCMonth() + 1)) continue;
    if (!(has(dom, d.getUTCDate()) && has(dow, d.getUTCDay()))) continue;
    for (let h = 0; h < 24; h++) {
      if (!has(hour, h)) continue;
      for (let m = 0; m < 60; m++) {
        if (has(minute, m) && day + h * 3_600_000 + m * 60_000 >= startMinute) return true;
      }
    }
  }
  return false;
}

/** protoutil/schedule.go:105-136 ValidateSchedule. */
function validateSchedule(sched: Decoded, now: Date): string | undefined {
  if (sched.has('maxFrequencyDays') && n(sched, 'maxFrequencyDays') < 1)
    return 'invalid max frequency days'; // :108
  if (sched.has('maxFrequencyHours') && n(sched, 'maxFrequencyHours') < 1)
    return 'invalid max frequency hours'; // :112
  if (sched.has('cron')) {
    const cron = s(sched, 'cron');
    if (cron === '') return 'empty cron expression'; // :116
    let sets: bigint[];
    try {
      sets = cronParse(cron); // :119
    } catch (err) {
      return `invalid cron "${cron}": ${(err as Error).message}`;
    }
    // :123 next.IsZero() || next.Year() < 2000
    if (!cronFiresWithin5Years(sets, now))
      return `invalid cron "${cron}": next scheduled time is invalid`;
  }
  if (sched.has('disabled') && !b(sched, 'disabled')) return 'disabled boolean must be set to true'; // :129
  return undefined;
}

/** protoutil/schedule.go:19-29 ScheduleEnabled. */
const scheduleEnabled = (sched: Decoded | undefined): boolean =>
  sched !== undefined &&
  ['cron', 'maxFrequencyDays', 'maxFrequencyHours'].some((k) => sched.has(k));

/** protoutil/conversion.go:113-124 ValidateRetentionPolicy. */
function validateRetention(r: Decoded): string | undefined {
  if (!['policy_keep_last_n', 'policy_time_bucketed', 'policy_keep_all'].some((k) => r.has(k)))
    return 'retention policy must specify a policy';
  const tb = msg(r, 'policy_time_bucketed');
  if (
    tb &&
    ['hourly', 'daily', 'weekly', 'monthly', 'yearly', 'keep_last_n'].every((k) => n(tb, k) === 0)
  )
    return 'time bucketed policy must specify a non-empty bucket'; // proto.Equal to empty
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// cryptoutil/identity.go:64-92 NewPrivateKey
// ---------------------------------------------------------------------------------------------

/** base64.RawStdEncoding.DecodeString (no padding; \r and \n are skipped by Go's decoder). */
function rawStd(x: string): Buffer | undefined {
  const t = x.replace(/[\r\n]/g, '');
  if (!/^[A-Za-z0-9+/]*$/.test(t) || t.length % 4 === 1) return undefined;
  return Buffer.from(t, 'base64');
}

function newPrivateKey(pk: Decoded): string | undefined {
  const seed = rawStd(s(pk, 'ed25519priv'));
  if (!seed) return 'decode private key';
  if (seed.length !== 32)
    return `invalid ed25519 private key seed size: got ${seed.length}, want 32`; // :69
  const pub = rawStd(s(pk, 'ed25519pub'));
  if (!pub) return 'decode public key'; // :24
  if (pub.length !== 32) return `invalid ed25519 public key size: got ${pub.length}`; // :28
  // :115-118 deriveKeyId: "ed25519." + RawURLEncoding(sha256(pub))
  const derived = `ed25519.${createHash('sha256').update(pub).digest('base64url')}`;
  if (derived !== s(pk, 'keyid')) return 'public key_id provided does not match the derived key'; // :33
  const der = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]);
  const spki = createPublicKey(createPrivateKey({ key: der, format: 'der', type: 'pkcs8' })).export(
    {
      format: 'der',
      type: 'spki',
    },
  );
  if (!spki.subarray(-32).equals(pub)) return 'private key does not match public key'; // :82-85
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// The load
// ---------------------------------------------------------------------------------------------

/** Would Backrest load this `config.json` (bytes, or an already parsed document)? */
export function backrestLoads(input: string | unknown, options: OracleOptions = {}): OracleVerdict {
  const now = options.now ?? new Date();
  const env = options.env ?? {};
  const errors: string[] = [];
  let raw: unknown = input;
  if (typeof input === 'string') {
    try {
      raw = JSON.parse(input);
    } catch (err) {
      return { loads: false, errors: [`unmarshal: ${(err as Error).message}`] }; // jsonstore.go:72
    }
  }
  const cfg = decode(Config, raw, '', errors);
  if (errors.length > 0) return { loads: false, errors };

  // config.go:33 PopulateRequiredFields (config.go:178-192): a missing multihost or identity is
  // generated, so the config is never proto-empty afterwards.
  let multihost = msg(cfg, 'multihost');
  if (!multihost) cfg.set('multihost', (multihost = new Map()));
  const generate = () => multihost.set('identity', 'generated');

  if (!multihost.has('identity')) generate();
  // config.go:37 migrations for version < CurrentVersion (6, migrations.go:11-20)
  const version = n(cfg, 'version');
  if (version < 6) {
    // migrations.go:23-29: version 0 is only fine for a proto-empty config, which it can't be now.
    if (version === 0) return { loads: false, errors: ['config version 0 is invalid'] };
    // migrations.go:31-43: negative → 0; indexes 0 and 1 are noops → "too old to migrate".
    if (version < 2)
      return { loads: false, errors: [`config version ${version} is too old to migrate`] };
    for (let idx = version; idx < 6; idx++) {
      if (idx === 3) {
        // 004repoguid.go:10-20: guid = hex(sha256(id)) where missing
        for (const repo of msgs(cfg, 'repos')) {
          if (s(repo, 'guid') === '')
            repo.set('guid', createHash('sha256').update(s(repo, 'id')).digest('hex'));
        }
      }
      if (idx === 4) {
        // 005checkrepopasswords.go:48-127: a repo password plus RESTIC_PASSWORD* in the env
        const affected = msgs(cfg, 'repos').some((r) => s(r, 'password') !== '');
        const set = ['RESTIC_PASSWORD', 'RESTIC_PASSWORD_FILE', 'RESTIC_PASSWORD_COMMAND'].some(
          (k) => env[k],
        );
        if (affected && set && !env['ISSUE_1139_FIX_PASSWORDS'])
          return { loads: false, errors: ['migration 005: password conflict (issue 1139)'] };
      }
      if (idx === 5) {
        // 006ed25519identity.go:15-30, then config.go:43 regenerates
        const id = msg(multihost, 'identity');
        const keep =
          id !== undefined &&
          s(id, 'keyid').startsWith('ed25519.') &&
          s(id, 'ed25519priv') !== '' &&
          s(id, 'ed25519pub') !== '';
        if (!keep) generate();
      }
    }
  }
  validateConfig(cfg, now, errors);
  return { loads: errors.length === 0, errors };
}

/** validate.go:18-79 ValidateConfig. */
function validateConfig(cfg: Decoded, now: Date, errors: string[]): void {
  const instance = s(cfg, 'instance');
  // :21-27 an empty instance only warns
  const ie = validateId(instance, ID_MAX_LEN);
  if (ie && ie !== 'empty') errors.push(`instance ID "${instance}" invalid: ${ie}`);

  const ae = validateAuth(msg(cfg, 'auth')); // :29
  if (ae) errors.push(`auth: ${ae}`);

  cleanupOrphanedRemote(cfg); // :34

  const repos = new Set<string>();
  for (const repo of msgs(cfg, 'repos')) {
    for (const e of validateRepo(repo, now)) errors.push(`repo ${s(repo, 'id')}: ${e}`); // :39
    if (repos.has(s(repo, 'id'))) errors.push(`repo ${s(repo, 'id')}: duplicate id`); // :42
    repos.add(s(repo, 'id'));
  }
  const plans = new Set<string>();
  for (const plan of msgs(cfg, 'plans')) {
    if (plans.has(s(plan, 'id'))) errors.push(`plan ${s(plan, 'id')}: duplicate id`); // :58
    plans.add(s(plan, 'id'));
    for (const e of validatePlan(plan, repos, now)) errors.push(`plan ${s(plan, 'id')}: ${e}`); // :62
  }
  const me = validateMultihost(cfg); // :74
  if (me.length) errors.push(...me.map((e) => `multihost: ${e}`));
}

/** validate.go:81-142 validateRepo. */
function validateRepo(repo: Decoded, now: Date): string[] {
  const out: string[] = [];
  const ide = validateId(s(repo, 'id'), 0); // :84
  if (ide) out.push(`id invalid: ${ide}`);
  const guid = s(repo, 'guid');
  if (guid !== '') {
    if (b(repo, 'auto_initialize')) out.push('auto_initialize set with guid'); // :90
    if (goLen(guid) !== 64) out.push(`guid "${guid}" invalid: must be 64 characters`); // :93
  } else if (!b(repo, 'auto_initialize')) {
    out.push('guid is required unless using auto_initialize'); // :96
  }
  if (s(repo, 'uri') === '') out.push('uri is required'); // :100
  for (const policy of ['prune_policy', 'check_policy']) {
    const sched = msg(msg(repo, policy), 'schedule'); // :104-114
    const e = sched && validateSchedule(sched, now);
    if (e) out.push(`${policy} schedule: ${e}`);
  }
  const forget = msg(repo, 'forget_policy'); // :116-131
  if (forget) {
    const sched = msg(forget, 'schedule');
    const e = sched && validateSchedule(sched, now);
    if (e) out.push(`forget policy schedule: ${e}`);
    if (scheduleEnabled(sched)) {
      const r = msg(forget, 'retention');
      if (!r) out.push('forget policy must specify a retention policy');
      else {
        const re = validateRetention(r);
        if (re) out.push(`forget policy: ${re}`);
      }
    }
  }
  for (const env of strs(repo, 'env')) {
    if (!env.includes('=')) out.push('invalid env var, must take format KEY=VALUE'); // :133-137
  }
  return out;
}

/** validate.go:144-182 validatePlan. */
function validatePlan(plan: Decoded, repos: Set<string>, now: Date): string[] {
  const out: string[] = [];
  const ide = validateId(s(plan, 'id'), 0); // :146
  if (ide) out.push(`id invalid: ${ide}`);
  const sched = msg(plan, 'schedule'); // :150
  const se = sched && validateSchedule(sched, now);
  if (se) out.push(`backup schedule: ${se}`);
  const paths = strs(plan, 'paths');
  if (paths.length === 0 && list(plan, 'backup_flags').length === 0)
    out.push('at least one path is required'); // :156
  paths.forEach((p, i) => {
    if (p === '') out.push(`path[${i}] cannot be empty`); // :160
  });
  if (s(plan, 'repo') === '') out.push('repo is required'); // :165
  if (!repos.has(s(plan, 'repo'))) out.push(`repo "${s(plan, 'repo')}" not found`); // :169
  const r = msg(plan, 'retention'); // :173
  const re = r && validateRetention(r);
  if (re) out.push(`retention: ${re}`);
  return out;
}

/** validate.go:184-203 validateAuth (returns at the first problem). */
function validateAuth(auth: Decoded | undefined): string | undefined {
  if (!auth || b(auth, 'disabled')) return undefined;
  const users = msgs(auth, 'users');
  if (users.length === 0) return 'auth enabled but no users';
  for (const u of users) {
    const e = validateId(s(u, 'name'), 0);
    if (e) return `user "${s(u, 'name')}": ${e}`;
    if (s(u, 'password_bcrypt') === '') return `user "${s(u, 'name')}": password is required`;
  }
  return undefined;
}

/** validate.go:293-329 cleanupOrphanedRemoteReposAndPlans. */
function cleanupOrphanedRemote(cfg: Decoded): void {
  const mh = msg(cfg, 'multihost');
  const peers = new Set(
    [...msgs(mh, 'authorized_clients'), ...msgs(mh, 'known_hosts')].map((p) => s(p, 'instance_id')),
  );
  const removed = new Set<string>();
  const repos = msgs(cfg, 'repos').filter((r) => {
    const origin = s(r, 'origin_instance_id');
    if (origin === '' || peers.has(origin)) return true;
    removed.add(s(r, 'id'));
    return false;
  });
  if (removed.size === 0) return;
  cfg.set('repos', repos);
  cfg.set(
    'plans',
    msgs(cfg, 'plans').filter((p) => !removed.has(s(p, 'repo'))),
  );
}

/** validate.go:205-289 validateMultihost and validatePeer. */
function validateMultihost(cfg: Decoded): string[] {
  const mh = msg(cfg, 'multihost');
  if (!mh) return [];
  const identity = mh.get('identity');
  if (identity !== 'generated') {
    const id = identity instanceof Map ? (identity as Decoded) : undefined;
    if (s(id, 'keyid') === '') return ['identity keyid is required']; // :211
    const e = newPrivateKey(id as Decoded); // :215
    if (e) return [`verify private key: ${e}`];
  }
  const out: string[] = [];
  const instances = new Set([s(cfg, 'instance')]); // :219-220
  const keyIds = new Set<string>();
  if (identity instanceof Map && s(identity as Decoded, 'keyid') !== '')
    keyIds.add(s(identity as Decoded, 'keyid'));
  // A generated identity has a fresh key id no peer can share.
  for (const [field, known] of [
    ['authorized_clients', false],
    ['known_hosts', true],
  ] as const) {
    for (const peer of msgs(mh, field)) {
      const pid = s(peer, 'instance_id');
      const e = validatePeer(peer, known);
      if (e) out.push(`${field} "${pid}": ${e}`);
      if (instances.has(pid)) out.push(`${field} "${pid}": instance ID already used`);
      instances.add(pid);
      if (keyIds.has(s(peer, 'keyid'))) out.push(`${field} "${pid}": key ID already used`);
      keyIds.add(s(peer, 'keyid'));
    }
  }
  return out;
}

function validatePeer(peer: Decoded, knownHost: boolean): string | undefined {
  const e = validateId(s(peer, 'instance_id'), ID_MAX_LEN); // :269
  if (e) return `id invalid: ${e}`;
  if (s(peer, 'keyid') === '') return 'keyid must be specified'; // :273
  if (knownHost && s(peer, 'instance_url') === '')
    return 'instance URL is required for known hosts'; // :277
  // :283 permissions.NewPermissionSet → NewScopeSet (permissions.go:21-46); nil scopes: scopeless
  for (const perm of msgs(peer, 'permissions')) {
    for (const scope of strs(perm, 'scopes')) {
      const ok =
        scope === '*' ||
        (goLen(scope) > 5 && (scope.startsWith('repo:') || scope.startsWith('plan:'))) ||
        (goLen(scope) > 6 && (scope.startsWith('!repo:') || scope.startsWith('!plan:')));
      if (!ok) return `peer permissions: invalid scope format: ${scope}`;
    }
  }
  return undefined;
}

/** Throws with every reason when Backrest would refuse `input` (`what` names it in the message). */
export function assertBackrestLoads(
  input: string | unknown,
  what = 'config',
  options?: OracleOptions,
): void {
  const v = backrestLoads(input, options);
  if (!v.loads) throw new Error(`Backrest would refuse ${what}:\n  ${v.errors.join('\n  ')}`);
}
