import { asArray, isObject } from './json-util.js';
import type { ConfigFormat } from './plan-spec.js';

/**
 * The format a document is evidently in, or undefined when it carries no marker of either
 * (empty file, `{}`, `{"repos":[],"plans":[]}`): then the sink's defaultFormat applies.
 * Backrest: top-level `version`/`modno`/`instance`/`auth`/`sync`, a plan with `paths`, or a repo
 * with `uri`. Sidecar: a plan with `sources`, or a repo with `url`.
 */
export function detectFormat(raw: unknown): ConfigFormat | undefined {
  if (!isObject(raw)) return undefined;
  // Own keys only: an inherited (polluted) property must not decide the format.
  const has = Object.hasOwn;
  if (['version', 'modno', 'instance', 'auth', 'sync'].some((k) => has(raw, k))) return 'backrest';
  const plans = asArray(raw['plans']).filter(isObject);
  if (plans.some((p) => has(p, 'paths'))) return 'backrest';
  if (plans.some((p) => has(p, 'sources'))) return 'sidecar';
  const repos = asArray(raw['repos']).filter(isObject);
  if (repos.some((r) => has(r, 'uri'))) return 'backrest';
  if (repos.some((r) => has(r, 'url'))) return 'sidecar';
  return undefined;
}
