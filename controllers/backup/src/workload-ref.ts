import type { ContainerActions } from '@dockop/docker';
import { DEFAULT_PLAN_ID_PREFIX, identityProblem, planIdFor } from '@backrest-sidecar/api';
import { workloadFromContainerInfo, type WorkloadTarget } from '@backrest-sidecar/api';
import { listBackupWorkloads } from './backup-workloads.js';

/**
 * What `snapshots`, `restore` and `verify` were asked about: a container name or a plan id,
 * resolved to the container when it still exists (a restore after the container was removed must
 * still find its snapshots), and the restic tags its snapshots carry.
 */
export interface WorkloadRef {
  /** As given on the command line. */
  ref: string;
  /** The container, when one is named `ref` or renders to plan id `ref`. */
  target?: WorkloadTarget;
  /** Container name (the target's, else `ref`). */
  name: string;
  /** The Backrest plan id (the target's, else `ref`). */
  planId: string;
  /**
   * Tags any one of which selects the workload's snapshots (restic ORs repeated `--tag`):
   * `container:<name>` (backup-once's restic engine), `replica:<name>` (a replicated service's
   * one snapshot names every replica: the second replica finds its service's snapshots too) and
   * `plan:<id>` (Backrest's own backups).
   */
  tags: string[];
}

export interface ResolveWorkloadOptions {
  /** Plan id prefix (`--plan-id-prefix`). Default `backrest_sidecar_`. */
  planIdPrefix?: string;
  /** Only containers carrying these labels (`--selector`). Default none. */
  selector?: string[];
}

/** A WORKLOAD argument that is not a name we can put in a restic tag or a Docker filter. */
export class WorkloadRefError extends Error {
  override readonly name = 'WorkloadRefError';
}

const REF_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$/;

/**
 * Resolves `ref`: first an exact container name, then the plan id an opted-in container renders
 * to. Neither found is not an error here (the snapshots may outlive the container): the ref then
 * stands for both a container name and a plan id.
 */
export async function resolveWorkload(
  actions: Pick<ContainerActions, 'list'>,
  ref: string,
  options: ResolveWorkloadOptions = {},
): Promise<WorkloadRef> {
  if (!REF_PATTERN.test(ref)) {
    throw new WorkloadRefError(
      `workload ${JSON.stringify(ref.slice(0, 80))} is neither a container name nor a plan id (letters, digits, "_", "." and "-")`,
    );
  }
  const prefix = options.planIdPrefix ?? DEFAULT_PLAN_ID_PREFIX;
  const selector = options.selector ?? [];
  // Docker's name filter is a regular expression match: keep the exact name only.
  const byName = (await actions.list({ name: [`^/${escapeRegExp(ref)}$`], label: selector }))
    .map(workloadFromContainerInfo)
    .find((t) => t.name === ref);
  const target =
    byName ??
    (await listBackupWorkloads(actions, selector)).find(
      (t) =>
        identityProblem({ name: t.name, compose: t.compose }) === undefined &&
        planIdFor({ name: t.name, compose: t.compose }, { prefix }) === ref,
    );
  return workloadRef(ref, target, prefix);
}

/** The ref of a known container (`verify --all`), or of a bare name when `target` is undefined. */
export function workloadRef(
  ref: string,
  target: WorkloadTarget | undefined,
  prefix: string = DEFAULT_PLAN_ID_PREFIX,
): WorkloadRef {
  const name = target?.name ?? ref;
  const planId =
    target && identityProblem({ name: target.name, compose: target.compose }) === undefined
      ? planIdFor({ name: target.name, compose: target.compose }, { prefix })
      : ref;
  const tags = [
    ...new Set([`container:${clean(name)}`, `replica:${clean(name)}`, `plan:${clean(planId)}`]),
  ];
  return { ref, ...(target ? { target } : {}), name, planId, tags };
}

/** As `workloadTags` cleans a tag (restic refuses commas). */
function clean(s: string): string {
  return s.replace(/[,\s]/g, '_');
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
