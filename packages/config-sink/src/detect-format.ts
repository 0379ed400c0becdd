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
  if (['version', 'modno', 'instance', 'auth', 'sync'].some((k) => k in raw)) return 'backrest';
  const plans = asArray(raw['plans']).filter(isObject);
  if (plans.some((p) => 'paths' in p)) return 'backrest';
  if (plans.some((p) => 'sources' in p)) return 'sidecar';
  const repos = asArray(raw['repos']).filter(isObject);
  if (repos.some((r) => 'uri' in r)) return 'backrest';
  if (repos.some((r) => 'url' in r)) return 'sidecar';
  return undefined;
}
