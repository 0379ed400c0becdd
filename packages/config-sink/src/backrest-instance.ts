import { hostname } from 'node:os';

/**
 * Backrest's `instance`: the id it tags snapshots with (`created-by:<instance>`) and without which
 * it refuses repo operations. Rules from internal/config/validationutil/validationutil.go
 * (`ValidateID(id, IDMaxLen)`): not empty, at most 50 characters, not starting and ending with
 * `_` (reserved), characters `[a-zA-Z0-9_.-]` (Backrest's own regexp is unanchored and lets
 * anything through; its `SanitizeID` shows the intended set, and we hold ourselves to it).
 */
export const INSTANCE_ID_MAX_LENGTH = 50;

/** Used when the host name yields no valid id at all. */
export const FALLBACK_INSTANCE_ID = 'backrest-sidecar';

/** Why `id` is not a valid Backrest instance id, or undefined when it is. */
export function instanceIdProblem(id: string): string | undefined {
  if (id === '') return 'is empty';
  if (id.length > INSTANCE_ID_MAX_LENGTH)
    return `is longer than ${INSTANCE_ID_MAX_LENGTH} characters`;
  if (/[^a-zA-Z0-9_.-]/.test(id)) return 'may only contain letters, digits, "_", "." and "-"';
  if (id.startsWith('_') && id.endsWith('_'))
    return 'is reserved by Backrest (starts and ends with "_")';
  return undefined;
}

/**
 * The default instance of a native file we create: this host's name as Backrest's `SanitizeID`
 * would make it (runs of other characters become `_`), cut to 50 characters, without leading
 * underscores (so it can never be a reserved `_…_` id).
 */
export function defaultInstanceId(host: string = hostname()): string {
  const id = host
    .replace(/[^a-zA-Z0-9_.-]+/g, '_')
    .slice(0, INSTANCE_ID_MAX_LENGTH)
    .replace(/^_+/, '');
  return id === '' ? FALLBACK_INSTANCE_ID : id;
}
