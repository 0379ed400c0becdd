import type Dockerode from 'dockerode';
import { labelListOrSplit, ownLabels } from '@dockop/runtime';
import { selects, type ContainerActions } from '@dockop/docker';
import { backupWorkloadDefinition, Labels } from './backup-workload.js';
import {
  COMPOSE_PROJECT_LABEL,
  COMPOSE_SERVICE_LABEL,
  SWARM_SERVICE_LABEL,
  SWARM_STACK_LABEL,
  identityProblem,
  workloadPath,
} from './plan-id.js';

/**
 * A container as the one-shot modes (forget, backup-once) see it: read straight from a Docker
 * list, so these modes need no informer or manager to run.
 */
export interface WorkloadTarget {
  /** Container name without Docker's leading `/`. */
  name: string;
  id: string;
  /** `sha256:...` of the image the container was created from (image-label trust). */
  imageId: string;
  /** Image reference as the container was created with (e.g. `postgres:16`), when known. */
  image?: string;
  /** Docker state: `running`, `exited`, `created`, `paused`... */
  state: string;
  labels: Record<string, string>;
  compose?: { project?: string; service?: string; dependsOn: string[] };
  /** A Swarm task's service and stack: replicas share the plan id and the snapshot path. */
  swarm?: { service: string; stack?: string };
  mounts: WorkloadMount[];
}

export interface WorkloadMount {
  type: 'bind' | 'volume' | 'tmpfs' | 'npipe' | string;
  /** Volume name (volumes only). */
  name?: string;
  /** Host path (bind) or the volume's data directory. */
  source: string;
  /** Path inside the container. */
  destination: string;
  readOnly: boolean;
}

export const COMPOSE_DEPENDS_ON_LABEL = 'com.docker.compose.depends_on';

/**
 * `com.docker.compose.depends_on` as compose v2 writes it: `db:service_healthy:false,cache:service_started:true`
 * (service:condition:restart); older writers put bare service names.
 */
export function parseDependsOn(value: string | undefined): string[] {
  if (!value) return [];
  return [
    ...new Set(
      labelListOrSplit(value)
        .map((t) => t.split(':')[0]!.trim())
        .filter((s) => s !== ''),
    ),
  ];
}

export function workloadFromContainerInfo(info: Dockerode.ContainerInfo): WorkloadTarget {
  // Own entries only, in a null-prototype map: `labels[key]` never finds an inherited member.
  const labels = ownLabels(info.Labels);
  const name = (info.Names?.[0] ?? info.Id).replace(/^\//, '');
  const project = labels[COMPOSE_PROJECT_LABEL]?.trim();
  const service = labels[COMPOSE_SERVICE_LABEL]?.trim();
  const target: WorkloadTarget = {
    name,
    id: info.Id,
    imageId: info.ImageID ?? '',
    ...(typeof info.Image === 'string' ? { image: info.Image } : {}),
    state: info.State,
    labels,
    mounts: (info.Mounts ?? []).map((m) => ({
      type: m.Type,
      ...(m.Name ? { name: m.Name } : {}),
      source: m.Source,
      destination: m.Destination,
      readOnly: m.RW === false,
    })),
  };
  if (project || service) {
    target.compose = {
      ...(project ? { project } : {}),
      ...(service ? { service } : {}),
      dependsOn: parseDependsOn(labels[COMPOSE_DEPENDS_ON_LABEL]),
    };
  }
  const swarmService = labels[SWARM_SERVICE_LABEL]?.trim();
  if (swarmService) {
    const stack = labels[SWARM_STACK_LABEL]?.trim();
    target.swarm = { service: swarmService, ...(stack ? { stack } : {}) };
  }
  return target;
}

/** `/volumes[/<project>]/<service>`: where the workload's data lives in its snapshots. */
/**
 * `backrest.enable` as the label schema reads it: the kind's selector (`selects` in
 * @dockop/docker), so a value is `true` trimmed and in any case (`TRUE`, ` true `), exactly as
 * the daemon's cache decides which containers are BackupWorkloads.
 */
export function isEnabled(target: Pick<WorkloadTarget, 'labels'>): boolean {
  return selects(backupWorkloadDefinition.selector, target.labels);
}

/**
 * The opt-in shared by the backup engines, retention and verify: `isEnabled`, or
 * restic-compose-backup's `restic-compose-backup.volumes=true` read with the same rule.
 */
export function isOptedIn(target: Pick<WorkloadTarget, 'labels'>): boolean {
  return (
    isEnabled(target) ||
    selects({ ...backupWorkloadDefinition.selector, enableLabel: Labels.rcbVolumes }, target.labels)
  );
}

/**
 * Every opted-in container (any state) carrying all `selector` labels (`key` or `key=value`),
 * sorted by name. Listed by label presence and filtered with `isOptedIn`: Docker's `key=value`
 * filter is exact, so listing `backrest.enable=true` would miss `TRUE` or ` true `, which the
 * label schema accepts. One call per opt-in label, since Docker ANDs label filters.
 */
export async function listOptedInWorkloads(
  actions: Pick<ContainerActions, 'list'>,
  selector: readonly string[] = [],
): Promise<WorkloadTarget[]> {
  const [enabled, rcb] = await Promise.all([
    actions.list({ label: [Labels.enable, ...selector] }),
    actions.list({ label: [Labels.rcbVolumes, ...selector] }),
  ]);
  const byId = new Map<string, WorkloadTarget>();
  for (const t of [...enabled, ...rcb].map(workloadFromContainerInfo)) {
    if (isOptedIn(t)) byId.set(t.id, t);
  }
  return [...byId.values()].sort((x, y) => x.name.localeCompare(y.name));
}

export function targetPath(target: WorkloadTarget, includeProjectName: boolean): string {
  return workloadPath(
    { name: target.name, compose: target.compose, swarm: target.swarm },
    includeProjectName,
  );
}

/** A workload refused before any path is derived from it, with the sentence saying why. */
export interface RefusedTarget {
  target: WorkloadTarget;
  message: string;
}

/**
 * Splits off the workloads whose compose project or service label (or name) can't become a path:
 * `com.docker.compose.service=../usr` must never turn into `/volumes/../usr`. Both one-shot modes
 * call it right after listing, so no later step ever derives a path from a refused workload.
 */
export function partitionSafeTargets(targets: readonly WorkloadTarget[]): {
  safe: WorkloadTarget[];
  refused: RefusedTarget[];
} {
  const safe: WorkloadTarget[] = [];
  const refused: RefusedTarget[] = [];
  for (const t of targets) {
    const message = identityProblem({ name: t.name, compose: t.compose, swarm: t.swarm });
    if (message === undefined) safe.push(t);
    else refused.push({ target: t, message });
  }
  return { safe, refused };
}
