import { writtenSchedule } from '@backrest-sidecar/backrest-model';
import { asStringArray, compareCodePoints, isObject, type JsonObject } from './json-util.js';
import type { PlanSpec } from './plan-spec.js';

/**
 * The seed's file model. A plan is replaced as a whole object on upsert (the seed's rule), so
 * every field is always written, empty arrays included: the file shows exactly what we decided.
 * The one exception: a `defaulted` retention leaves the spec `existing` has in the file.
 */
export function toSidecarPlan(
  plan: PlanSpec,
  existing?: unknown,
  written: (schedule: string) => string = writtenSchedule,
): JsonObject {
  const old = isObject(existing) && isObject(existing['retention']) ? existing['retention'] : {};
  const spec =
    plan.retention.defaulted === true && isObject(existing) && typeof old['spec'] === 'string'
      ? old['spec']
      : plan.retention.spec;
  const hooks: JsonObject = { pre: [...plan.hooks.pre], post: [...plan.hooks.post] };
  // Only when there is one: files without dumps keep their exact bytes. Set, not spread in: an
  // object spread is a runtime call in cold code (a first write builds 2,000 plans).
  if (plan.hooks.dump?.length) hooks['dump'] = [...plan.hooks.dump];
  return {
    id: plan.id,
    repo: plan.repo,
    schedule: written(plan.schedule),
    sources: [...plan.sources],
    exclude: [...plan.exclude],
    hooks,
    retention: { spec },
  };
}

/**
 * True when `plan`, as toSidecarPlan built it, is its own canonical form (render-config): it is
 * built with the seed's keys in their order, so only its fields' types and the order of its
 * sources remain to be seen. Cheaper than canonicalize's check of a plan of unknown shape.
 */
export function isCanonicalBuilt(plan: JsonObject): boolean {
  const { id, repo, schedule, sources, exclude, retention } = plan;
  if (typeof id !== 'string' || typeof repo !== 'string' || typeof schedule !== 'string') {
    return false;
  }
  if (!isObject(retention) || typeof retention['spec'] !== 'string') return false;
  const list = sources as unknown[];
  for (let i = 0; i < list.length; i++) {
    if (typeof list[i] !== 'string') return false;
    if (i > 0 && compareCodePoints(list[i - 1] as string, list[i] as string) > 0) return false;
  }
  const rest = exclude as unknown[];
  for (let i = 0; i < rest.length; i++) if (typeof rest[i] !== 'string') return false;
  return true;
}

/** Neutral view of a sidecar plan; omitted optional fields (the Go seed's omitempty) read as empty. */
export function fromSidecarPlan(p: unknown): PlanSpec {
  const o: JsonObject = isObject(p) ? p : {};
  const hooks = isObject(o['hooks']) ? o['hooks'] : {};
  const retention = isObject(o['retention']) ? o['retention'] : {};
  return {
    id: typeof o['id'] === 'string' ? o['id'] : '',
    repo: typeof o['repo'] === 'string' ? o['repo'] : '',
    schedule: typeof o['schedule'] === 'string' ? o['schedule'] : '',
    sources: asStringArray(o['sources']),
    exclude: asStringArray(o['exclude']),
    hooks: {
      pre: asStringArray(hooks['pre']),
      post: asStringArray(hooks['post']),
      ...(asStringArray(hooks['dump']).length ? { dump: asStringArray(hooks['dump']) } : {}),
    },
    retention: { spec: typeof retention['spec'] === 'string' ? retention['spec'] : '' },
  };
}
