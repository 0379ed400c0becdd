import { ConfigError } from './config-error.js';
import type { ConfigFormat, PlanSpec } from './plan-spec.js';
import { validateConfig, validatePlanSpecs } from './validate-config.js';

/**
 * The one gate before anything reaches Backrest: throws ConfigError('Refused') naming `target`
 * (a file path or an API URL) with one detail per problem when `doc` would not load (see
 * validateConfig) or one of `upserts` breaks our stricter contract (validatePlanSpecs). Every
 * write path of the sink goes through it before writing; Backrest's SetConfig payload should too
 * (a refused batch fails every plan, not just the bad one). `docKnownLoadable`: `doc` renders to
 * bytes that passed validateConfig before (the same bytes pass again): only `upserts` are checked.
 */
export function assertLoadable(
  doc: unknown,
  format: ConfigFormat,
  target: string,
  upserts: readonly PlanSpec[] = [],
  what = 'the resulting config would not load; nothing was written',
  docKnownLoadable = false,
): void {
  const problems = validatePlanSpecs(upserts);
  if (!docKnownLoadable) problems.push(...validateConfig(doc, format));
  if (problems.length > 0) throw new ConfigError('Refused', target, what, problems);
}
