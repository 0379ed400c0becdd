import {
  BACKUP_WORKLOAD_KIND,
  planIdFor,
  type BackupWorkloadSpec,
  type WorkloadIdentity,
} from '@backrest-sidecar/api';
import type { Cache, RejectedResource, Resource } from '@dockop/runtime';
import type { WorkloadInput, WorkloadStatus } from './plan-builder.js';

/**
 * Step 1 of a plan reconcile, collect: what it reads from the cache. Only `--selector`'s
 * workloads count, valid ones (with a status: decoded from a container) and refused ones alike.
 */
export interface PlanInputs {
  /** Valid BackupWorkloads inside the selector. */
  selected: Resource<BackupWorkloadSpec, WorkloadStatus>[];
  /** Workloads the cache refused (labels that fail the schema), inside the selector. */
  rejected: RejectedResource[];
}

export function collectPlanInputs(
  cache: Cache,
  selector: Readonly<Record<string, string>> | undefined,
): PlanInputs {
  const wanted = Object.entries(selector ?? {});
  // One pass, a plain loop per label: it runs over every workload (2,000) in cold code.
  const matches = (labels: Readonly<Record<string, string>> | undefined): boolean => {
    // Indexed, no destructuring: `for (const [k, v] of …)` allocates two iterators per call in
    // cold code, and this runs once per workload.
    for (let i = 0; i < wanted.length; i++) {
      const pair = wanted[i] as [string, string];
      if (labels?.[pair[0]] !== pair[1]) return false;
    }
    return true;
  };
  const selected: Resource<BackupWorkloadSpec, WorkloadStatus>[] = [];
  const listed = cache.list<Resource<BackupWorkloadSpec, WorkloadStatus>>(BACKUP_WORKLOAD_KIND);
  // Indexed: a for-of allocates an iterator result per workload in cold code.
  for (let i = 0; i < listed.length; i++) {
    const r = listed[i]!;
    if (r.status !== undefined && matches(r.metadata.labels)) selected.push(r);
  }
  const rejected = cache.rejected(BACKUP_WORKLOAD_KIND).filter((r) => matches(r.labels));
  return { selected, rejected };
}

/** What the plan builder reads of a selected workload. */
export function workloadInputOf(r: Resource<BackupWorkloadSpec, WorkloadStatus>): WorkloadInput {
  return { name: r.metadata.name, spec: r.spec, status: r.status as WorkloadStatus };
}

/** One selected workload's part of `inputsFingerprint`. */
export function fingerprintPart(r: Resource): string {
  return `${r.metadata.name}\0${r.metadata.uid}\0${r.metadata.resourceVersion}`;
}

/**
 * What a plan reconcile reads from the cache, compactly: each selected workload's name, uid and
 * resourceVersion (its source bumps the version whenever anything in it changes) and each refused
 * one's content. Equal fingerprints, equal plans.
 */
export function inputsFingerprint(
  { selected, rejected }: PlanInputs,
  /** A selected workload's part (the daemon's memo keeps each unchanged one's). */
  partOf: (r: Resource<BackupWorkloadSpec, WorkloadStatus>) => string = fingerprintPart,
): string {
  const parts = selected.map(partOf);
  parts.sort();
  for (const r of rejected) {
    parts.push(JSON.stringify([r.key, r.reason, r.message, r.labels ?? null, r.status ?? null]));
  }
  return parts.join('\n');
}

/**
 * The id a refused workload would have had (`planIdFor` on the status its source delivered), or
 * its container name when there is no usable status (a source refused it before decoding).
 */
export function wouldBePlanId(r: RejectedResource, prefix: string): string {
  const status = r.status as Partial<WorkloadIdentity> | undefined;
  if (status && typeof status.name === 'string') {
    try {
      return planIdFor(status as WorkloadIdentity, { prefix });
    } catch {
      // malformed compose info: fall back to the name
    }
  }
  return r.name;
}
