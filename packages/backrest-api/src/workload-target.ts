import type Dockerode from 'dockerode';
import { labelListOrSplit, ownLabels } from '@dockop/runtime';
import { Labels } from './backup-workload.js';
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
 * The opt-in shared by the backup engines and retention: `backrest.enable=true`, or
 * restic-compose-backup's `restic-compose-backup.volumes=true` (case and spaces ignored).
 */
export function isOptedIn(target: Pick<WorkloadTarget, 'labels'>): boolean {
  const isTrue = (v: string | undefined): boolean => (v ?? '').trim().toLowerCase() === 'true';
  return isTrue(target.labels[Labels.enable]) || isTrue(target.labels[Labels.rcbVolumes]);
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
