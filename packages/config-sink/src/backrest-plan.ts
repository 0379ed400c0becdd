import { writtenSchedule } from '@backrest-sidecar/backrest-model';
import { escapeGoTemplate, unescapeGoTemplate } from './go-template.js';
import { asArray, asStringArray, isObject, type JsonObject } from './json-util.js';
import { parseKeepSpec, type KeepSpec } from '@backrest-sidecar/backrest-model';
import type { PlanSpec } from './plan-spec.js';

/**
 * Mapping between the neutral PlanSpec and Backrest's native plan (proto v1.Plan, protojson).
 *
 * Managed fields (replaced on every upsert): id, repo, paths, excludes, schedule, retention, and
 * the hooks we created. Everything else on an existing plan (iexcludes, backup_flags,
 * skipIfUnchanged, fields of newer Backrest versions, hooks the user added) is preserved.
 *
 * Our hooks are recognised by a trailing comment line in `actionCommand.command`:
 * `<command>\n# backrest-sidecar:pre` (or `:post`). Backrest feeds the command to `sh` on stdin
 * (a leading `#!` line picks the shell), so a trailing comment changes nothing at run time and
 * keeps a user's `#!` first line intact. Backrest drops unknown JSON fields, so the marker has
 * to live inside a field it keeps. Backrest renders the command as a Go template first, so the
 * hook's `{{` are escaped (go-template.ts): the shell gets exactly the label's text.
 *
 * Retention: Backrest has no keep-within. A spec with any `within*` term becomes
 * `policyKeepAll: true` (our own restic forget enforces it) and the raw spec is carried in a hook
 * whose only condition is CONDITION_UNKNOWN (no event ever has it, so it never runs):
 * `# backrest-sidecar:keep within=90d,last=3`. Specs Backrest can express are not carried: they
 * are reconstructed from the policy (canonical term order), so a retention the user edits in the
 * UI wins.
 */

export const HOOK_MARKER_PREFIX = '# backrest-sidecar:';
export const CONDITION_PRE = 'CONDITION_SNAPSHOT_START';
export const CONDITION_POST = 'CONDITION_SNAPSHOT_END';
/** Never emitted by Backrest: a hook with only this condition is inert. */
export const CONDITION_CARRIER = 'CONDITION_UNKNOWN';
export const SCHEDULE_CLOCK = 'CLOCK_LOCAL';

/** A dump hook's failure fails the backup: never a snapshot silently without its dump. */
export const ON_ERROR_FATAL = 'ON_ERROR_FATAL';

type MarkerKind = 'pre' | 'post' | 'keep' | 'dump';

const MARKER_RE = /(?:^|\n)# backrest-sidecar:(pre|post|keep|dump)(?: (.*))?$/;

/** The marker on a hook we own (its command unescaped), or undefined for a user's hook. */
export function hookMarker(
  hook: unknown,
): { kind: MarkerKind; command: string; arg?: string } | undefined {
  if (!isObject(hook) || !isObject(hook['actionCommand'])) return undefined;
  const cmd = hook['actionCommand']['command'];
  if (typeof cmd !== 'string') return undefined;
  const m = MARKER_RE.exec(cmd);
  if (!m) return undefined;
  const kind = m[1] as MarkerKind;
  const command = unescapeGoTemplate(cmd.slice(0, m.index));
  return m[2] !== undefined ? { kind, command, arg: m[2] } : { kind, command };
}

function commandHook(condition: string, command: string, kind: MarkerKind): JsonObject {
  // onError is left at Backrest's default (ON_ERROR_IGNORE, omitted by protojson): a failing pre
  // hook must not cancel the operation, or the post hook (e.g. `docker start`) would be skipped.
  // A dump hook runs before every pre hook (nothing is stopped yet) and is fatal.
  return {
    conditions: [condition],
    ...(kind === 'dump' ? { onError: ON_ERROR_FATAL } : {}),
    actionCommand: { command: `${escapeGoTemplate(command)}\n${HOOK_MARKER_PREFIX}${kind}` },
  };
}

/** Keep specs parsed (only read here): 2,000 plans share a few. Invalid ones are not kept. */
const parsedSpecs = new Map<string, KeepSpec>();
const PARSED_SPECS_MAX = 1000;

function parsedKeepSpec(spec: string): KeepSpec {
  let parsed = parsedSpecs.get(spec);
  if (parsed === undefined) {
    parsed = parseKeepSpec(spec);
    if (parsedSpecs.size >= PARSED_SPECS_MAX) parsedSpecs.clear();
    parsedSpecs.set(spec, parsed);
  }
  return parsed;
}

/** `policy` for a keep spec; `carry` when the spec must ride in a carrier hook. */
export function retentionForSpec(spec: string): { retention?: JsonObject; carry: boolean } {
  if (spec.trim() === '') return { carry: false };
  const parsed = parsedKeepSpec(spec);
  if (parsed.rules.some((r) => r.kind.startsWith('within'))) {
    return { retention: { policyKeepAll: true }, carry: true };
  }
  const counts: Record<string, number> = {};
  for (const r of parsed.rules) if ('count' in r) counts[r.kind] = r.count;
  const kinds = Object.keys(counts);
  if (kinds.length === 1 && kinds[0] === 'last') {
    return { retention: { policyKeepLastN: counts['last'] }, carry: false };
  }
  const buckets: JsonObject = {};
  for (const k of ['hourly', 'daily', 'weekly', 'monthly', 'yearly'] as const) {
    if (counts[k] !== undefined) buckets[k] = counts[k];
  }
  if (counts['last'] !== undefined) buckets['keepLastN'] = counts['last'];
  return { retention: { policyTimeBucketed: buckets }, carry: false };
}

/** The spec a Backrest retention policy expresses ('' for none or keep-all). */
export function specForRetention(retention: unknown): string {
  if (!isObject(retention)) return '';
  const n = retention['policyKeepLastN'];
  if (typeof n === 'number' && n > 0) return `last=${n}`;
  const b = retention['policyTimeBucketed'];
  if (isObject(b)) {
    const terms: string[] = [];
    const last = b['keepLastN'];
    if (typeof last === 'number' && last > 0) terms.push(`last=${last}`);
    for (const k of ['hourly', 'daily', 'weekly', 'monthly', 'yearly']) {
      const v = b[k];
      if (typeof v === 'number' && v > 0) terms.push(`${k}=${v}`);
    }
    return terms.join(',');
  }
  return '';
}

/**
 * Backrest plan for `plan`. With `existing` (the plan object currently in the file), unmanaged
 * fields and the user's hooks are kept; our old hooks are replaced by the new ones, appended
 * after the user's. A `defaulted` retention leaves an existing plan's retention (and our carrier
 * hook) exactly as the file has them. Throws KeepSpecError for an invalid retention spec.
 * `existing` is never changed; the unmanaged values kept are its own (not copies: applyChanges
 * decides whether the document is copied, and 2,000 clones cost ~6 ms per reconcile).
 */
export function toBackrestPlan(
  plan: PlanSpec,
  existing?: object,
  written: (schedule: string) => string = writtenSchedule,
): object {
  const base: JsonObject = isObject(existing) ? existing : {};
  const keepFileRetention = plan.retention.defaulted === true && isObject(existing);
  const { retention, carry } = keepFileRetention
    ? { retention: undefined, carry: false }
    : retentionForSpec(plan.retention.spec);
  const oldHooks = asArray(base['hooks']);
  const userHooks = oldHooks.filter((h) => hookMarker(h) === undefined);
  const carried = keepFileRetention ? oldHooks.filter((h) => hookMarker(h)?.kind === 'keep') : [];
  const ours = [
    ...(plan.hooks.dump ?? []).map((c) => commandHook(CONDITION_PRE, c, 'dump')),
    ...plan.hooks.pre.map((c) => commandHook(CONDITION_PRE, c, 'pre')),
    ...plan.hooks.post.map((c) => commandHook(CONDITION_POST, c, 'post')),
    ...carried,
    ...(carry
      ? [
          {
            conditions: [CONDITION_CARRIER],
            actionCommand: { command: `${HOOK_MARKER_PREFIX}keep ${plan.retention.spec.trim()}` },
          },
        ]
      : []),
  ];
  const out: JsonObject = {
    ...base,
    id: plan.id,
    repo: plan.repo,
    paths: [...plan.sources],
    schedule: { cron: written(plan.schedule), clock: SCHEDULE_CLOCK },
  };
  // The deprecated top-level `cron` would fight `schedule` after a migration: ours wins.
  delete out['cron'];
  if (plan.exclude.length > 0) out['excludes'] = [...plan.exclude];
  else delete out['excludes'];
  if (!keepFileRetention) {
    if (retention) out['retention'] = retention;
    else delete out['retention'];
  }
  const hooks = [...userHooks, ...ours];
  if (hooks.length > 0) out['hooks'] = hooks;
  else delete out['hooks'];
  return out;
}

/** Neutral view of a Backrest plan. Only hooks we created are decoded (the user's stay theirs). */
export function fromBackrestPlan(p: object): PlanSpec {
  const o: JsonObject = isObject(p) ? p : {};
  const schedule = isObject(o['schedule']) ? o['schedule'] : {};
  const cron =
    typeof schedule['cron'] === 'string'
      ? schedule['cron']
      : typeof o['cron'] === 'string'
        ? o['cron']
        : '';
  const pre: string[] = [];
  const post: string[] = [];
  const dump: string[] = [];
  let carried: string | undefined;
  for (const h of asArray(o['hooks'])) {
    const m = hookMarker(h);
    if (!m) continue;
    if (m.kind === 'dump') dump.push(m.command);
    else if (m.kind === 'pre') pre.push(m.command);
    else if (m.kind === 'post') post.push(m.command);
    else carried = m.arg ?? '';
  }
  const retention = o['retention'];
  // The carried spec is only authoritative while the policy is still the keep-all we wrote.
  const keepAll = isObject(retention) && retention['policyKeepAll'] === true;
  const spec = keepAll && carried !== undefined ? carried : specForRetention(retention);
  return {
    id: typeof o['id'] === 'string' ? o['id'] : '',
    repo: typeof o['repo'] === 'string' ? o['repo'] : '',
    schedule: cron,
    sources: asStringArray(o['paths']),
    exclude: asStringArray(o['excludes']),
    hooks: { pre, post, ...(dump.length ? { dump } : {}) },
    retention: { spec },
  };
}
