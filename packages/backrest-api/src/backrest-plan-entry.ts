/**
 * One of our plans as Backrest's config holds it, with what forgetting Backrest's snapshots of it
 * needs: its `instance` (Backrest tags snapshots `created-by:<instance>`), the plan's repo and
 * paths, and the repo entry (its `forgetPolicy`). The file is hostile input: own properties only.
 */
import { readFile } from 'node:fs/promises';

export interface BackrestPlanEntry {
  instance: string;
  planId: string;
  repoId: string;
  /** The plan's paths as Backrest backs them up (host paths), strings only. */
  paths: string[];
  /** The repo entry the plan writes to (own properties read by the caller), if any. */
  repo: Record<string, unknown> | undefined;
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function own(o: Record<string, unknown>, k: string): unknown {
  return Object.hasOwn(o, k) ? o[k] : undefined;
}

/**
 * The plan `planId` of Backrest's config `file`, or undefined when the config has no such plan
 * (Backrest does not run this workload). Throws, naming the file, when it can't be read.
 */
export async function readBackrestPlanEntry(
  file: string,
  planId: string,
): Promise<BackrestPlanEntry | undefined> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT') return undefined; // no config yet: no plan
    throw new Error(`cannot read Backrest config ${file}: ${e.code ?? 'invalid JSON'}`, {
      cause: err,
    });
  }
  if (!isObj(raw)) return undefined;
  const plans = own(raw, 'plans');
  const plan = (Array.isArray(plans) ? plans.filter(isObj) : []).find(
    (p) => own(p, 'id') === planId,
  );
  if (!plan) return undefined;
  const repoId = typeof own(plan, 'repo') === 'string' ? (own(plan, 'repo') as string) : '';
  const paths = own(plan, 'paths');
  const repos = own(raw, 'repos');
  const instance = own(raw, 'instance');
  return {
    instance: typeof instance === 'string' ? instance : '',
    planId,
    repoId,
    paths: Array.isArray(paths) ? paths.filter((p): p is string => typeof p === 'string') : [],
    repo: (Array.isArray(repos) ? repos.filter(isObj) : []).find((r) => own(r, 'id') === repoId),
  };
}
