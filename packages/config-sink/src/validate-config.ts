import { Ajv, type Options as AjvOptions, type ValidateFunction } from 'ajv';
import { BACKREST_CONFIG_VERSION } from './apply-changes.js';
import { checkCron } from './cron.js';
import { asArray, idOf, isObject, type JsonObject } from './json-util.js';
import { validateKeepSpec } from './keep-spec.js';
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
      const ajv = new Ajv(CONFIG_AJV_OPTIONS);
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
 * internal/config/validate.go rules plus protojson's oneof rule), by the seed's reader for
 * 'sidecar'. Otherwise one readable line per problem, naming the plan or repo. Checks the schema
 * first, then: empty/reserved/duplicate ids, a plan whose repo is missing, a plan without paths or
 * with an empty path, a cron that doesn't parse, an empty time-bucketed policy, a retention without
 * a policy, version 6 on a non-empty Backrest config; sidecar: a retention spec that doesn't parse.
 * Crons are read in cronexpr's dialect (5, 6 or 7 fields); the plans we write are held to the
 * stricter 5-field contract by `validatePlanSpecs`.
 */
export function validateConfig(raw: unknown, format: ConfigFormat): string[] {
  const validate = schemaValidator(format);
  if (!validate(raw)) {
    return (validate.errors ?? []).map(
      (e) => `schema: ${e.instancePath || '/'} ${e.message ?? 'is invalid'}`,
    );
  }
  const doc = raw as JsonObject;
  return format === 'backrest' ? backrestRules(doc) : sidecarRules(doc);
}

/** Backrest reserves ids that start and end with '_'. */
function idProblem(id: string): string | undefined {
  if (id === '') return 'id is empty';
  if (id.startsWith('_') && id.endsWith('_'))
    return `id "${id}" is reserved (starts and ends with "_")`;
  return undefined;
}

function label(kind: 'plan' | 'repo', obj: unknown, index: number): string {
  const id = idOf(obj);
  return id === '' ? `${kind} #${index}` : `${kind} "${id}"`;
}

function checkIds(kind: 'plan' | 'repo', list: unknown[], out: string[]): Set<string> {
  const seen = new Set<string>();
  list.forEach((item, i) => {
    const id = idOf(item);
    const p = idProblem(id);
    if (p) out.push(`${label(kind, item, i)}: ${p}`);
    else if (seen.has(id)) out.push(`${kind} "${id}": duplicate id`);
    seen.add(id);
  });
  return seen;
}

function checkPlanCommon(
  plan: JsonObject,
  name: string,
  repos: Set<string>,
  pathsKey: 'paths' | 'sources',
  out: string[],
): void {
  const repo = typeof plan['repo'] === 'string' ? plan['repo'] : '';
  if (repo === '') out.push(`${name}: repo is required`);
  else if (!repos.has(repo)) {
    out.push(`${name}: repo "${repo}" not found (repos: ${[...repos].join(', ') || 'none'})`);
  }
  const paths = asArray(plan[pathsKey]);
  if (paths.length === 0) out.push(`${name}: no ${pathsKey} (at least one path is required)`);
  paths.forEach((p, i) => {
    if (p === '') out.push(`${name}: ${pathsKey}[${i}] is empty`);
  });
}

function backrestRules(doc: JsonObject): string[] {
  const out: string[] = [];
  const repos = asArray(doc['repos']);
  const plans = asArray(doc['plans']);
  const version = typeof doc['version'] === 'number' ? doc['version'] : 0;
  if ((repos.length > 0 || plans.length > 0) && version !== BACKREST_CONFIG_VERSION) {
    out.push(
      `version is ${version}, expected ${BACKREST_CONFIG_VERSION} (open the file with a current Backrest once to migrate it)`,
    );
  }
  if (typeof doc['instance'] === 'string' && doc['instance'] !== '') {
    const p = idProblem(doc['instance']);
    if (p) out.push(`instance: ${p}`);
    else if (doc['instance'].length > 50)
      out.push(`instance: id "${doc['instance']}" is longer than 50 characters`);
  }
  const repoIds = checkIds('repo', repos, out);
  repos.forEach((r, i) => {
    if (!isObject(r)) return;
    const name = label('repo', r, i);
    if (typeof r['uri'] !== 'string' || r['uri'] === '') out.push(`${name}: uri is required`);
    // Never echo the env entry: it is usually a secret.
    asArray(r['env']).forEach((e, j) => {
      if (typeof e === 'string' && !e.includes('='))
        out.push(`${name}: env[${j}] is not KEY=VALUE`);
    });
  });
  checkIds('plan', plans, out);
  plans.forEach((p, i) => {
    if (!isObject(p)) return;
    const name = label('plan', p, i);
    checkPlanCommon(p, name, repoIds, 'paths', out);
    if (p['schedule'] !== undefined) checkSchedule(p['schedule'], name, out);
    if (p['retention'] !== undefined) checkRetention(p['retention'], name, out);
  });
  return out;
}

function checkSchedule(s: unknown, name: string, out: string[]): void {
  if (!isObject(s)) return;
  const set = ['disabled', 'cron', 'maxFrequencyDays', 'maxFrequencyHours'].filter(
    (k) => s[k] !== undefined,
  );
  if (set.length > 1) {
    out.push(`${name}: schedule sets ${set.join(' and ')} (only one is allowed)`);
    return;
  }
  if (typeof s['cron'] === 'string') {
    const problem = checkCron(s['cron'], 'backrest');
    if (problem) out.push(`${name}: schedule.cron "${s['cron']}": ${problem}`);
  }
  for (const k of ['maxFrequencyDays', 'maxFrequencyHours']) {
    if (typeof s[k] === 'number' && s[k] < 1) out.push(`${name}: schedule.${k} must be at least 1`);
  }
  if (s['disabled'] === false) out.push(`${name}: schedule.disabled must be true when set`);
}

function checkRetention(r: unknown, name: string, out: string[]): void {
  if (!isObject(r)) return;
  const set = ['policyKeepLastN', 'policyTimeBucketed', 'policyKeepAll'].filter(
    (k) => r[k] !== undefined,
  );
  if (set.length === 0) out.push(`${name}: retention must specify a policy (or be omitted)`);
  if (set.length > 1)
    out.push(`${name}: retention sets ${set.join(' and ')} (only one is allowed)`);
  const b = r['policyTimeBucketed'];
  if (isObject(b)) {
    const any = ['hourly', 'daily', 'weekly', 'monthly', 'yearly', 'keepLastN'].some(
      (k) => typeof b[k] === 'number' && b[k] !== 0,
    );
    if (!any) out.push(`${name}: retention.policyTimeBucketed must specify a non-empty bucket`);
  }
}

function sidecarRules(doc: JsonObject): string[] {
  const out: string[] = [];
  const repoIds = checkIds('repo', asArray(doc['repos']), out);
  const plans = asArray(doc['plans']);
  checkIds('plan', plans, out);
  plans.forEach((p, i) => {
    if (!isObject(p)) return;
    const name = label('plan', p, i);
    checkPlanCommon(p, name, repoIds, 'sources', out);
    if (typeof p['schedule'] === 'string') {
      // The seed's file is not read by Backrest: our dialect (descriptors too) or Backrest's.
      const problem = checkCron(p['schedule']) && checkCron(p['schedule'], 'backrest');
      if (problem) out.push(`${name}: schedule "${p['schedule']}": ${problem}`);
    }
    const r = p['retention'];
    const spec = isObject(r) && typeof r['spec'] === 'string' ? r['spec'] : '';
    // An empty spec means "no retention" (the seed's omitempty); the forget loop skips it.
    if (spec !== '') {
      const v = validateKeepSpec(spec);
      if (v !== true) out.push(`${name}: retention.spec "${spec}": ${v}`);
    }
  });
  return out;
}

/** Our own contract for plans we write (stricter than what Backrest loads): 5-field crons. */
export function validatePlanSpecs(plans: readonly PlanSpec[]): string[] {
  const out: string[] = [];
  for (const p of plans) {
    const problem = checkCron(p.schedule);
    if (problem) out.push(`plan "${p.id}": schedule "${p.schedule}": ${problem}`);
  }
  return out;
}
