import { createHash, createPrivateKey, createPublicKey } from 'node:crypto';
import type { Ajv, Options as AjvOptions, ValidateFunction } from 'ajv';
import { createRequire } from 'node:module';
import { BACKREST_CONFIG_VERSION } from './apply-changes.js';
import { checkCron } from '@backrest-sidecar/backrest-model';
import { asArray, idOf, isObject, type JsonObject } from './json-util.js';
import { validateKeepSpec } from '@backrest-sidecar/backrest-model';
import type { ConfigFormat, PlanSpec } from './plan-spec.js';
import { precompiledConfigValidators } from './precompiled-config-validators.js';
import { backrestConfigSchema, sidecarConfigSchema } from './schemas.js';

/** The options the config file schemas are compiled with (and precompiled with, when bundled). */
export const CONFIG_AJV_OPTIONS: Readonly<AjvOptions> = Object.freeze({
  allErrors: true,
  strict: false,
});

/** A config validator generated ahead of time (ajv standalone code); see the bundler. */
export interface PrecompiledConfigValidators {
  /** Format → `JSON.stringify` of the schema the code was generated from. */
  readonly schemas: Readonly<Record<ConfigFormat, string>>;
  create(): Readonly<Record<ConfigFormat, ValidateFunction>>;
}

let validators: Record<ConfigFormat, ValidateFunction> | undefined;

/**
 * ajv, loaded only when the schemas must be compiled here (not when precompiled). Resolved from
 * this package even when the caller is a bundle elsewhere (CommonJS resolution by package name).
 */
function loadAjv(): typeof Ajv {
  const here = createRequire(import.meta.url);
  let base = import.meta.url;
  try {
    base = here.resolve('@backrest-sidecar/config-sink');
  } catch {
    // Not resolvable by name from here: this file is in the package itself.
  }
  return (createRequire(base)('ajv') as { Ajv: typeof Ajv }).Ajv;
}

/** Build-time code when it was generated from these very schemas, else compiled once here. */
function schemaValidator(format: ConfigFormat): ValidateFunction {
  if (!validators) {
    const pre = precompiledConfigValidators;
    if (
      pre &&
      pre.schemas.sidecar === JSON.stringify(sidecarConfigSchema) &&
      pre.schemas.backrest === JSON.stringify(backrestConfigSchema)
    ) {
      validators = { ...pre.create() };
    } else {
      const ajv = new (loadAjv())(CONFIG_AJV_OPTIONS);
      validators = {
        sidecar: ajv.compile(sidecarConfigSchema),
        backrest: ajv.compile(backrestConfigSchema),
      };
    }
  }
  return validators[format];
}

/**
 * [] when the document would be accepted: by Backrest's loader for 'backrest' (its
 * internal/config/validate.go `ValidateConfig`, the version gate of config.go/migrations.go, and
 * protojson's oneof rule), by the seed's reader for 'sidecar'. Otherwise one readable line per
 * problem, naming the plan, repo, user or peer and the field. The schema is checked first.
 * Backrest rules: ids (empty, reserved `_x_`, duplicate; instance and peers at most 50 bytes);
 * repo `guid` (64 characters) or `autoInitialize`, not both; `uri`; `env` entries `KEY=VALUE`;
 * prune/check/forget schedules; an active `forgetPolicy` needs a retention; plan paths (or
 * `backup_flags`), empty paths, repo exists, schedule, retention; auth users (name, password
 * hash present); `sync` identity (ed25519 key pair and key id verified) and peers; `version`.
 * Crons of plans already in the file are read in Backrest's own dialect (cron.ts), so a schedule
 * Backrest runs never blocks our writes; the plans we write are held to the strict dialect by
 * `validatePlanSpecs`. Stricter than Backrest on purpose: versions 2-5 (Backrest migrates them on
 * load, and migration 005 may refuse depending on Backrest's environment, which we can't see) are
 * refused with a hint to open the file with Backrest once.
 */
export function validateConfig(
  raw: unknown,
  format: ConfigFormat,
  options: ValidateConfigOptions = {},
): string[] {
  const validate = schemaValidator(format);
  if (!validate(raw)) {
    return (validate.errors ?? []).map(
      (e) => `schema: ${e.instancePath || '/'} ${e.message ?? 'is invalid'}`,
    );
  }
  const doc = raw as JsonObject;
  return format === 'backrest' ? backrestRules(doc, options) : sidecarRules(doc);
}

export interface ValidateConfigOptions {
  /**
   * The document came from Backrest's GetConfig (API mode) and goes back through SetConfig:
   * Backrest sends `sync.identity` with its key id only and password hashes as `********`, and
   * puts the real ones back before validating (internal/config/networksanitize.go
   * `SanitizeForNetwork`/`RehydrateNetworkSanitizedConfig`), so the key pair is not checked.
   * Default false (a file on disk).
   */
  networkSanitized?: boolean;
}

/** Backrest's ValidateID: not empty, not `_x_` (reserved), at most `maxBytes` UTF-8 bytes. */
function idProblem(id: string, maxBytes = 0): string | undefined {
  if (id.startsWith('_') && id.endsWith('_'))
    return `id "${id}" is reserved (starts and ends with "_")`;
  if (id === '') return 'id is empty';
  if (maxBytes > 0 && Buffer.byteLength(id) > maxBytes)
    return `id "${id}" is longer than ${maxBytes} bytes`;
  return undefined;
}

function label(kind: 'plan' | 'repo', obj: unknown, index: number): string {
  const id = idOf(obj);
  return id === '' ? `${kind} #${index}` : `${kind} "${id}"`;
}

function checkIds(kind: 'plan' | 'repo', list: unknown[], out: string[]): Set<string> {
  const seen = new Set<string>();
  // Indexed: a closure call per plan in cold code (a first write: 2,000).
  for (let i = 0; i < list.length; i++) {
    const item = list[i];
    const id = idOf(item);
    const p = idProblem(id);
    if (p) out.push(`${label(kind, item, i)}: ${p}`);
    else if (seen.has(id)) out.push(`${kind} "${id}": duplicate id`);
    seen.add(id);
  }
  return seen;
}

/** A plan's repo and paths; problems unnamed (see nameProblems). */
function checkPlanCommon(
  plan: JsonObject,
  repos: Set<string>,
  pathsKey: 'paths' | 'sources',
  out: string[],
): void {
  const repo = typeof plan['repo'] === 'string' ? plan['repo'] : '';
  if (repo === '') out.push('repo is required');
  else if (!repos.has(repo)) {
    out.push(`repo "${repo}" not found (repos: ${[...repos].join(', ') || 'none'})`);
  }
  const paths = asArray(plan[pathsKey]);
  // Backrest: backup_flags may supply the paths (--files-from, --stdin-from-command).
  const flags = pathsKey === 'paths' ? asArray(plan['backup_flags']) : [];
  if (paths.length === 0 && flags.length === 0) {
    out.push(
      pathsKey === 'paths'
        ? 'no paths (at least one path is required unless backup_flags supplies them)'
        : `no ${pathsKey} (at least one path is required)`,
    );
  }
  for (let i = 0; i < paths.length; i++) {
    if (paths[i] === '') out.push(`${pathsKey}[${i}] is empty`);
  }
}

/**
 * Prefixes the problems from `out[from]` on with `name: `. A plan is named only when it has one:
 * a name per plan of every write was a string made for nothing.
 */
function nameProblems(out: string[], from: number, name: string): void {
  for (let i = from; i < out.length; i++) out[i] = `${name}: ${out[i]}`;
}

const str = (v: unknown): string => (typeof v === 'string' ? v : '');

/** protojson reads a field by its JSON name or its proto name (`keyId` or `keyid`). */
const PROTO_NAMES: Readonly<Record<string, string>> = {
  autoInitialize: 'auto_initialize',
  prunePolicy: 'prune_policy',
  checkPolicy: 'check_policy',
  forgetPolicy: 'forget_policy',
  originInstanceId: 'origin_instance_id',
  policyKeepLastN: 'policy_keep_last_n',
  policyTimeBucketed: 'policy_time_bucketed',
  policyKeepAll: 'policy_keep_all',
  passwordBcrypt: 'password_bcrypt',
  sync: 'multihost',
  knownHosts: 'known_hosts',
  authorizedClients: 'authorized_clients',
  instanceId: 'instance_id',
  instanceUrl: 'instance_url',
  keyId: 'keyid',
};

function get(o: JsonObject, jsonName: string): unknown {
  const v = o[jsonName];
  const proto = PROTO_NAMES[jsonName];
  return v === undefined && proto !== undefined ? o[proto] : v;
}

/** Repos pushed by a peer that is gone: Backrest drops them, and the plans using them, first. */
function orphanedRemote(doc: JsonObject): { repos: Set<unknown>; plans: Set<unknown> } {
  const raw = get(doc, 'sync');
  const sync = isObject(raw) ? raw : {};
  const peers = new Set(
    [...asArray(get(sync, 'authorizedClients')), ...asArray(get(sync, 'knownHosts'))].map((p) =>
      isObject(p) ? str(get(p, 'instanceId')) : '',
    ),
  );
  const repos = new Set<unknown>();
  const ids = new Set<string>();
  for (const r of asArray(doc['repos'])) {
    const origin = isObject(r) ? str(get(r, 'originInstanceId')) : '';
    if (origin !== '' && !peers.has(origin)) {
      repos.add(r);
      ids.add(idOf(r));
    }
  }
  const plans = new Set(
    asArray(doc['plans']).filter((p) => ids.size > 0 && isObject(p) && ids.has(str(p['repo']))),
  );
  return { repos, plans };
}

function backrestRules(doc: JsonObject, options: ValidateConfigOptions): string[] {
  const out: string[] = [];
  const dropped = orphanedRemote(doc);
  const repos = asArray(doc['repos']).filter((r) => !dropped.repos.has(r));
  const plans = asArray(doc['plans']).filter((p) => !dropped.plans.has(p));
  const version = typeof doc['version'] === 'number' ? doc['version'] : 0;
  if (version < BACKREST_CONFIG_VERSION) {
    out.push(
      version >= 2
        ? `version is ${version}, expected ${BACKREST_CONFIG_VERSION} (open the file with a current Backrest once to migrate it)`
        : `version is ${version}: Backrest refuses it (0 or missing: "config version 0 is invalid"; 1: too old to migrate)`,
    );
  }
  if (typeof doc['instance'] === 'string' && doc['instance'] !== '') {
    const p = idProblem(doc['instance'], INSTANCE_ID_MAX_BYTES);
    if (p) out.push(`instance: ${p}`);
  }
  checkAuth(doc['auth'], out);
  const cron = memoized((s) => checkCron(s, 'backrest'));
  const repoIds = checkIds('repo', repos, out);
  repos.forEach((r, i) => {
    if (isObject(r)) checkRepo(r, label('repo', r, i), cron, out);
  });
  checkIds('plan', plans, out);
  // Indexed, and named only when there is a problem, as sidecarRules does.
  for (let i = 0; i < plans.length; i++) {
    const p = plans[i];
    if (!isObject(p)) continue;
    const from = out.length;
    checkPlanCommon(p, repoIds, 'paths', out);
    if (p['schedule'] !== undefined) checkSchedule(p['schedule'], 'schedule', cron, out);
    if (p['retention'] !== undefined) checkRetention(p['retention'], 'retention', out);
    if (out.length > from) nameProblems(out, from, label('plan', p, i));
  }
  checkSync(doc, out, options.networkSanitized === true);
  return out;
}

const INSTANCE_ID_MAX_BYTES = 50;

/** A cron check of one validation (memoized: plans share a few schedules). */
type CronCheck = (expr: string) => string | undefined;

function checkRepo(r: JsonObject, name: string, cron: CronCheck, out: string[]): void {
  const guid = str(r['guid']);
  if (guid !== '') {
    if (get(r, 'autoInitialize') === true)
      out.push(`${name}: guid and autoInitialize are both set (a guid means the repo exists)`);
    if (Buffer.byteLength(guid) !== 64)
      out.push(
        `${name}: guid "${guid}" must be 64 characters (restic's repository id), got ${guid.length}`,
      );
  } else if (get(r, 'autoInitialize') !== true) {
    out.push(`${name}: guid is required unless autoInitialize is true`);
  }
  if (str(r['uri']) === '') out.push(`${name}: uri is required`);
  for (const policy of ['prunePolicy', 'checkPolicy'] as const) {
    const p = get(r, policy);
    if (isObject(p) && p['schedule'] !== undefined)
      checkSchedule(p['schedule'], `${name}: ${policy}.schedule`, cron, out);
  }
  const forget = get(r, 'forgetPolicy');
  if (isObject(forget)) {
    const schedule = forget['schedule'];
    if (schedule !== undefined)
      checkSchedule(schedule, `${name}: forgetPolicy.schedule`, cron, out);
    if (scheduleEnabled(schedule)) {
      if (forget['retention'] === undefined)
        out.push(`${name}: forgetPolicy needs a retention while its schedule is active`);
      else checkRetention(forget['retention'], `${name}: forgetPolicy.retention`, out);
    }
  }
  // Never echo the env entry: it is usually a secret.
  asArray(r['env']).forEach((e, j) => {
    if (typeof e === 'string' && !e.includes('=')) out.push(`${name}: env[${j}] is not KEY=VALUE`);
  });
}

/** protoutil.ScheduleEnabled: set, and its oneof is something other than `disabled`. */
function scheduleEnabled(s: unknown): boolean {
  if (!isObject(s)) return false;
  return ['cron', 'maxFrequencyDays', 'maxFrequencyHours'].some((k) => s[k] !== undefined);
}

const SCHEDULE_ONEOF = ['disabled', 'cron', 'maxFrequencyDays', 'maxFrequencyHours'] as const;
const RETENTION_ONEOF = ['policyKeepLastN', 'policyTimeBucketed', 'policyKeepAll'] as const;

/**
 * How many of `keys` `o` sets (by JSON or, with `protoNames`, proto name); no array or closure:
 * this runs for every plan of every write.
 */
function countSet(o: JsonObject, keys: readonly string[], protoNames = false): number {
  let n = 0;
  for (const k of keys) if ((protoNames ? get(o, k) : o[k]) !== undefined) n++;
  return n;
}

function checkSchedule(s: unknown, name: string, cron: CronCheck, out: string[]): void {
  if (!isObject(s)) return;
  if (countSet(s, SCHEDULE_ONEOF) > 1) {
    const set = SCHEDULE_ONEOF.filter((k) => s[k] !== undefined);
    out.push(`${name} sets ${set.join(' and ')} (only one is allowed)`);
    return;
  }
  if (typeof s['cron'] === 'string') {
    const problem = cron(s['cron']);
    if (problem) out.push(`${name}.cron "${s['cron']}": ${problem}`);
  }
  for (const k of ['maxFrequencyDays', 'maxFrequencyHours']) {
    if (typeof s[k] === 'number' && s[k] < 1) out.push(`${name}.${k} must be at least 1`);
  }
  if (s['disabled'] === false) out.push(`${name}.disabled must be true when set`);
}

function checkRetention(r: unknown, name: string, out: string[]): void {
  if (!isObject(r)) return;
  const count = countSet(r, RETENTION_ONEOF, true);
  if (count === 0) out.push(`${name} must specify a policy (or be omitted)`);
  if (count > 1) {
    const set = RETENTION_ONEOF.filter((k) => get(r, k) !== undefined);
    out.push(`${name} sets ${set.join(' and ')} (only one is allowed)`);
  }
  const b = get(r, 'policyTimeBucketed');
  if (isObject(b)) {
    const any = ['hourly', 'daily', 'weekly', 'monthly', 'yearly', 'keepLastN'].some(
      (k) => typeof b[k] === 'number' && b[k] !== 0,
    );
    if (!any) out.push(`${name}.policyTimeBucketed must specify a non-empty bucket`);
  }
}

/** validateAuth: absent or disabled is fine; else users, each with a name and a password hash. */
function checkAuth(auth: unknown, out: string[]): void {
  if (auth === undefined || !isObject(auth) || auth['disabled'] === true) return;
  const users = asArray(auth['users']);
  if (users.length === 0) {
    out.push('auth: enabled (disabled is not true) but has no users');
    return;
  }
  users.forEach((u, i) => {
    const user = isObject(u) ? u : {};
    const name = str(user['name']);
    const p = idProblem(name);
    // Never echo the hash.
    if (p) out.push(`auth: users[${i}] name: ${p}`);
    else if (str(get(user, 'passwordBcrypt')) === '')
      out.push(`auth: users[${i}] ("${name}"): passwordBcrypt is required`);
  });
}

/** validateMultihost (`sync`): the identity key pair, and every peer. */
function checkSync(doc: JsonObject, out: string[], sanitized: boolean): void {
  const sync = get(doc, 'sync');
  if (!isObject(sync)) return; // Backrest generates an identity (and writes the file)
  const identity = sync['identity'];
  const keyIds = new Set<string>();
  if (isObject(identity)) {
    const keyId = str(get(identity, 'keyId'));
    if (keyId === '') out.push('sync.identity: keyId is required');
    else {
      const problem = sanitized ? undefined : identityProblem(identity);
      if (problem) out.push(`sync.identity: ${problem}`);
      keyIds.add(keyId);
    }
  }
  const instances = new Set<string>([str(doc['instance'])]);
  for (const [field, known] of [
    ['authorizedClients', false],
    ['knownHosts', true],
  ] as const) {
    asArray(get(sync, field)).forEach((peer, i) => {
      const p = isObject(peer) ? peer : {};
      const id = str(get(p, 'instanceId'));
      const name = `sync.${field}[${i}] ("${id}")`;
      const idp = idProblem(id, INSTANCE_ID_MAX_BYTES);
      if (idp) out.push(`${name}: instanceId: ${idp}`);
      else if (str(get(p, 'keyId')) === '') out.push(`${name}: keyId is required`);
      else if (known && str(get(p, 'instanceUrl')) === '')
        out.push(`${name}: instanceUrl is required for a known host`);
      else {
        const scope = asArray(p['permissions'])
          .flatMap((perm) => (isObject(perm) ? asArray(perm['scopes']) : []))
          .find((sc) => !validScope(str(sc)));
        if (scope !== undefined) out.push(`${name}: permission scope "${str(scope)}" is invalid`);
      }
      if (instances.has(id)) out.push(`${name}: instanceId is already used by another peer`);
      instances.add(id);
      const keyId = str(get(p, 'keyId'));
      if (keyIds.has(keyId)) out.push(`${name}: keyId is already used by another peer`);
      keyIds.add(keyId);
    });
  }
}

/** permissions.NewScopeSet: `*`, `repo:<id>`, `plan:<id>`, `!repo:<id>`, `!plan:<id>`. */
function validScope(scope: string): boolean {
  return scope === '*' || /^!?(repo|plan):./s.test(scope);
}

/** cryptoutil.NewPrivateKey: a 32-byte seed and its public key, and the key id derived from it. */
function identityProblem(identity: JsonObject): string | undefined {
  const seed = rawBase64(str(identity['ed25519priv']));
  if (seed?.length !== 32) return 'ed25519priv is not a base64 32-byte ed25519 seed';
  const pub = rawBase64(str(identity['ed25519pub']));
  if (pub?.length !== 32) return 'ed25519pub is not a base64 32-byte ed25519 public key';
  const derivedId = `ed25519.${createHash('sha256').update(pub).digest('base64url')}`;
  if (derivedId !== str(get(identity, 'keyId'))) return 'keyId does not match ed25519pub';
  const key = createPrivateKey({
    key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]),
    format: 'der',
    type: 'pkcs8',
  });
  const spki = createPublicKey(key).export({ format: 'der', type: 'spki' });
  if (!spki.subarray(-32).equals(pub)) return 'ed25519priv does not match ed25519pub';
  return undefined;
}

/** PKCS#8 wrapping of a raw ed25519 seed (RFC 8410). */
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/** Go's base64.RawStdEncoding (no padding; CR/LF ignored), or undefined. */
function rawBase64(s: string): Buffer | undefined {
  const t = s.replace(/[\r\n]/g, '');
  if (!/^[A-Za-z0-9+/]*$/.test(t) || t.length % 4 === 1) return undefined;
  return Buffer.from(t, 'base64');
}

/**
 * `fn` with its answers kept for one validation: thousands of plans share a few schedules and
 * keep specs. Only for pure functions of the string.
 */
function memoized<T>(fn: (s: string) => T): (s: string) => T {
  const answers = new Map<string, T>();
  return (s) => {
    if (answers.has(s)) return answers.get(s) as T;
    const answer = fn(s);
    answers.set(s, answer);
    return answer;
  };
}

function sidecarRules(doc: JsonObject): string[] {
  const out: string[] = [];
  // The seed's file is not read by Backrest: our dialect (descriptors too) or Backrest's.
  const cronProblem = memoized((s) => checkCron(s) && checkCron(s, 'backrest'));
  const keepProblem = memoized(validateKeepSpec);
  const repoIds = checkIds('repo', asArray(doc['repos']), out);
  const plans = asArray(doc['plans']);
  checkIds('plan', plans, out);
  // Indexed: a closure call per plan in cold code (a first write: 2,000).
  for (let i = 0; i < plans.length; i++) {
    const p = plans[i];
    if (!isObject(p)) continue;
    const from = out.length;
    checkPlanCommon(p, repoIds, 'sources', out);
    const schedule = p['schedule'];
    if (typeof schedule === 'string') {
      const problem = cronProblem(schedule);
      if (problem) out.push(`schedule "${schedule}": ${problem}`);
    }
    const r = p['retention'];
    const spec = isObject(r) && typeof r['spec'] === 'string' ? r['spec'] : '';
    // An empty spec means "no retention" (the seed's omitempty); the forget loop skips it.
    if (spec !== '') {
      const v = keepProblem(spec);
      if (v !== true) out.push(`retention.spec "${spec}": ${v}`);
    }
    if (out.length > from) nameProblems(out, from, label('plan', p, i));
  }
  return out;
}

/** Our own contract for plans we write (stricter than what Backrest loads): 5-field crons. */
export function validatePlanSpecs(plans: readonly PlanSpec[]): string[] {
  const out: string[] = [];
  const cron = memoized((s) => checkCron(s));
  // Indexed: a for-of allocates an iterator result per plan in cold code (a first write: 2,000).
  for (let i = 0; i < plans.length; i++) {
    const p = plans[i]!;
    const problem = cron(p.schedule);
    if (problem) out.push(`plan "${p.id}": schedule "${p.schedule}": ${problem}`);
  }
  return out;
}
