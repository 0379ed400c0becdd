import { fromBackrestPlan, toBackrestPlan } from './backrest-plan.js';
import { ConfigError } from './config-error.js';
import {
  MAX_JSON_DEPTH,
  deepClone,
  idOf,
  isFrozenJson,
  isObject,
  jsonEqual,
  nestsDeeperThan,
  type JsonObject,
} from './json-util.js';
import { KeepSpecError, writtenSchedule } from '@backrest-sidecar/backrest-model';
import type { ConfigFormat, PlanChanges, PlanSpec } from './plan-spec.js';
import { fromSidecarPlan, isCanonicalBuilt, toSidecarPlan } from './sidecar-plan.js';

/** Backrest's current config format version. */
export const BACKREST_CONFIG_VERSION = 6;

/**
 * The document a missing or empty file stands for. `instance` (Backrest format only) names the
 * Backrest instance of a file we create; without it the file has none.
 */
export function emptyConfig(format: ConfigFormat, instance?: string): JsonObject {
  if (format === 'sidecar') return { repos: [], plans: [] };
  return {
    modno: 0,
    version: BACKREST_CONFIG_VERSION,
    ...(instance ? { instance } : {}),
    repos: [],
    plans: [],
  };
}

/** Where pure helpers report errors about data that is not (yet) in a file. */
const IN_MEMORY = '<in-memory>';

export interface ApplyChangesOptions {
  /**
   * 'deep' (default): the result shares nothing with `raw`. 'shallow': its top level, plans array
   * and upserted plans are new, the rest (untouched plans, repos, the unmanaged values an upserted
   * Backrest plan keeps) are `raw`'s own objects: no copy of a 2,000-plan document, for a caller
   * that changes neither below the top level. An upsert that leaves a plan's content as it is
   * keeps `raw`'s plan object too (what was derived from it, e.g. its rendering, still holds).
   */
  copy?: 'deep' | 'shallow';
  /**
   * With 'shallow': per plan object of `raw` frozen by freezeJson, an upsert that left it as it
   * is. An upsert equal to it again is not built again (a daemon upserts every plan it manages
   * on each event; the builders are pure functions of the plan and the object).
   */
  unchanged?: WeakMap<object, PlanSpec>;
  /**
   * Sidecar format: each plan built from an upsert, put in the result, and canonical as built
   * (isCanonicalBuilt) is added to it. No one else holds such a plan yet: canonicalize, given
   * this set right after, takes it as it is instead of checking a plan of unknown shape (a first
   * write builds 2,000). A Set, not a WeakSet: it lives for one proposal, and 2,000 WeakSet
   * entries cost 6× as much.
   */
  built?: Set<object>;
}

/**
 * Applies `changes` to a copy of `raw` (never mutated) and returns it, not yet canonical (see
 * renderConfig). `raw` undefined/null means an empty config. Upsert: sidecar replaces the whole
 * plan object; backrest replaces the managed fields and keeps the rest (toBackrestPlan). Removing
 * an absent id is a no-op. Top-level fields and repos are never touched; `modno` is not bumped
 * here (that belongs to a write). Throws ConfigError('InvalidConfig') for an unusable document,
 * an id both upserted and removed or upserted twice, or a bad retention spec.
 */
export function applyChanges(
  raw: unknown,
  format: ConfigFormat,
  changes: PlanChanges,
  options: ApplyChangesOptions = {},
): unknown {
  checkChanges(changes);
  // Checked before cloning: a hostile depth would overflow the stack as a RangeError.
  if (nestsDeeperThan(raw)) {
    throw new ConfigError(
      'InvalidConfig',
      IN_MEMORY,
      `the config nests deeper than ${MAX_JSON_DEPTH} levels`,
    );
  }
  if (raw === undefined || raw === null) raw = emptyConfig(format);
  // A spread defines an own "__proto__" key (never sets the prototype), as JSON.parse does.
  const shallow = options.copy === 'shallow';
  const doc = (shallow && isObject(raw) ? { ...raw } : deepClone(raw)) as JsonObject;
  if (!isObject(doc)) {
    throw new ConfigError('InvalidConfig', IN_MEMORY, 'the config is not a JSON object');
  }
  if (doc['plans'] !== undefined && !Array.isArray(doc['plans'])) {
    throw new ConfigError('InvalidConfig', IN_MEMORY, '"plans" is not an array');
  }
  const removed = new Set(changes.remove);
  // A fresh array (filter copies), updated in place: one pass, not a copy per upserted plan.
  const plans = ((doc['plans'] as unknown[] | undefined) ?? []).filter(
    (p) => !removed.has(idOf(p)),
  );
  const position = new Map<string, number>();
  plans.forEach((p, i) => {
    const id = idOf(p);
    if (!position.has(id)) position.set(id, i); // the first one, as findIndex would
  });
  // Each schedule's written form once per call: thousands of upserts share a few schedules.
  const written = new Map<string, string>();
  const schedule = (expr: string): string => {
    let w = written.get(expr);
    if (w === undefined) written.set(expr, (w = writtenSchedule(expr)));
    return w;
  };
  const unchanged = shallow ? options.unchanged : undefined;
  const built = format === 'sidecar' ? options.built : undefined;
  const upserts = changes.upsert;
  // Indexed: a for-of allocates an iterator result per plan in cold code (a first write: 2,000).
  for (let u = 0; u < upserts.length; u++) {
    const plan = upserts[u]!;
    const idx = position.get(plan.id) ?? -1;
    const existing: unknown = idx >= 0 ? plans[idx] : undefined;
    const frozen = unchanged !== undefined && isFrozenJson(existing);
    if (frozen && jsonEqual(plan, unchanged.get(existing))) continue;
    let next: object;
    try {
      next =
        format === 'backrest'
          ? toBackrestPlan(plan, idx >= 0 ? (plans[idx] as object) : undefined, schedule)
          : toSidecarPlan(plan, idx >= 0 ? plans[idx] : undefined, schedule);
    } catch (err) {
      if (err instanceof KeepSpecError) {
        throw new ConfigError(
          'InvalidConfig',
          IN_MEMORY,
          `plan "${plan.id}": invalid retention.spec`,
          [`plan "${plan.id}": retention.spec "${plan.retention.spec}": ${err.message}`],
        );
      }
      throw err;
    }
    if (idx >= 0 && shallow && jsonEqual(next, existing)) {
      // A private copy: the caller may change its plan later.
      if (frozen) unchanged.set(existing, structuredClone(plan));
      continue;
    }
    if (idx >= 0) plans[idx] = next;
    // Not entered in `position`: checkChanges refused a second upsert of the same id.
    else plans.push(next);
    if (built !== undefined && isCanonicalBuilt(next as JsonObject)) built.add(next);
  }
  doc['plans'] = plans;
  if (doc['repos'] === undefined) doc['repos'] = [];
  return doc;
}

function checkChanges(changes: PlanChanges): void {
  const details: string[] = [];
  const seen = new Set<string>();
  const upserts = changes.upsert;
  // Indexed: a for-of allocates an iterator result per plan in cold code.
  for (let i = 0; i < upserts.length; i++) {
    const p = upserts[i]!;
    if (seen.has(p.id)) details.push(`plan "${p.id}" is upserted more than once`);
    seen.add(p.id);
  }
  for (const id of changes.remove) {
    if (seen.has(id)) details.push(`plan "${id}" is both upserted and removed`);
  }
  if (details.length)
    throw new ConfigError('InvalidConfig', IN_MEMORY, 'contradictory changes', details);
}

/** Every plan of a document, decoded to the neutral shape. */
export function decodePlans(raw: unknown, format: ConfigFormat): PlanSpec[] {
  if (!isObject(raw) || !Array.isArray(raw['plans'])) return [];
  return raw['plans'].map((p) => decodePlan(p, format));
}

/** One plan of a document (any element of its `plans`), decoded to the neutral shape. */
export function decodePlan(p: unknown, format: ConfigFormat): PlanSpec {
  return format === 'backrest' ? fromBackrestPlan(isObject(p) ? p : {}) : fromSidecarPlan(p);
}
