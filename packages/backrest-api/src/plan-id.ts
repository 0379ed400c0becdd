/**
 * Identity helpers shared by every controller that maps a container to a Backrest plan or a
 * restic path. They take only the fields they need, so any `ContainerStatus` (from @dockop/docker)
 * fits.
 */
export interface WorkloadIdentity {
  /** Container name, without Docker's leading `/`. */
  name: string;
  compose?: { project?: string; service?: string } | undefined;
  /** A Swarm task's service (`com.docker.swarm.service.name`) and stack (`com.docker.stack.namespace`). */
  swarm?: { service?: string; stack?: string } | undefined;
}

/**
 * The service a container is one replica of: a Compose service (project + service labels) or a
 * Swarm service (stack + service name, the stack's `<stack>_` prefix stripped from the name, so
 * `docker stack deploy` and `docker compose up` of one file give the same id). Undefined for a
 * lone container. Replicas (`--scale`, Swarm tasks) share it, and with it one plan.
 */
export interface ServiceIdentity {
  source: 'compose' | 'swarm';
  project?: string;
  service: string;
  /** The labels it came from, named in refusals. */
  projectLabel: string;
  serviceLabel: string;
}

export function serviceIdentityOf(status: WorkloadIdentity): ServiceIdentity | undefined {
  const service = status.compose?.service?.trim();
  if (service) {
    const project = status.compose?.project?.trim();
    // Two literals, not a spread of an optional field: a plan per workload, in cold code, where
    // an object spread is a runtime call (as in buildPlan).
    return project
      ? {
          source: 'compose',
          project,
          service,
          projectLabel: COMPOSE_PROJECT_LABEL,
          serviceLabel: COMPOSE_SERVICE_LABEL,
        }
      : {
          source: 'compose',
          service,
          projectLabel: COMPOSE_PROJECT_LABEL,
          serviceLabel: COMPOSE_SERVICE_LABEL,
        };
  }
  const swarmService = status.swarm?.service?.trim();
  if (swarmService) {
    const stack = status.swarm?.stack?.trim();
    const short =
      stack && swarmService.startsWith(`${stack}_`) && swarmService.length > stack.length + 1
        ? swarmService.slice(stack.length + 1)
        : swarmService;
    return stack
      ? {
          source: 'swarm',
          project: stack,
          service: short,
          projectLabel: SWARM_STACK_LABEL,
          serviceLabel: SWARM_SERVICE_LABEL,
        }
      : {
          source: 'swarm',
          service: short,
          projectLabel: SWARM_STACK_LABEL,
          serviceLabel: SWARM_SERVICE_LABEL,
        };
  }
  return undefined;
}

export interface PlanIdOptions {
  /**
   * Prepended to every id; non-empty, `[A-Za-z0-9_.-]+`. Default `backrest_sidecar_`. It is how we
   * tell our plans from hand-made ones, so it may not be empty.
   */
  prefix?: string;
}

export const DEFAULT_PLAN_ID_PREFIX = 'backrest_sidecar_';

const PLAN_ID_CHARS = /[^A-Za-z0-9_.-]/g;

/** Replaces every character outside `[A-Za-z0-9_.-]` with `_`. */
export function sanitizePlanId(raw: string): string {
  return raw.replace(PLAN_ID_CHARS, '_');
}

/**
 * Throws when a user-supplied prefix is empty or holds characters a plan id may not contain.
 * Empty is refused because the prefix is our only mark of ownership: with '' every plan in the
 * config (hand-made ones too) would count as ours, be pruned as an orphan or be overwritten by a
 * container of the same name.
 */
export function checkPlanIdPrefix(prefix: string): void {
  if (prefix === checkedPrefix) return;
  if (prefix === '') {
    throw new Error(
      `plan id prefix is empty: every plan in the config, hand-made ones too, would count as ours (pruned as orphans, overwritten by containers); use a non-empty prefix such as "${DEFAULT_PLAN_ID_PREFIX}"`,
    );
  }
  if (sanitizePlanId(prefix) !== prefix) {
    throw new Error(
      `plan id prefix "${prefix}" may only contain letters, digits, "_", "." and "-"`,
    );
  }
  checkedPrefix = prefix;
}

/** The last prefix that passed checkPlanIdPrefix: a render checks one prefix per workload. */
let checkedPrefix: string | undefined;

/** A container name as Docker's API returns it (`/name`) or as users write it (`name`) → `name`. */
export function containerName(name: string): string {
  return name.startsWith('/') ? name.slice(1) : name;
}

/**
 * The deterministic Backrest plan id of a workload: for a compose container
 * `<prefix><project>_<service>`, for a Swarm task `<prefix><stack>_<service>` (see
 * `serviceIdentityOf`), else `<prefix><container name>`; the part after the prefix is
 * sanitised to `[A-Za-z0-9_.-]`. The project is always part of the id (the seed's build rule and
 * its `stack_db` example): on a host with dozens of stacks, `db` alone would collide. The
 * `--include-project-name` flag governs `workloadPath` only (rcb's INCLUDE_PROJECT_NAME), see
 * docs/adr/0004-plan-ids-and-project-names.md.
 */
export function planIdFor(status: WorkloadIdentity, options: PlanIdOptions = {}): string {
  const prefix = options.prefix ?? DEFAULT_PLAN_ID_PREFIX;
  checkPlanIdPrefix(prefix);
  return idFrom(prefix, serviceIdentityOf(status), status);
}

/**
 * `planIdFor` and `identityProblem` of one workload, its service identity worked out once: a
 * render asks both of each of thousands of workloads. Throws as planIdFor for a bad prefix.
 */
export function planIdentity(
  status: WorkloadIdentity,
  prefix: string,
): { id: string; problem: string | undefined } {
  checkPlanIdPrefix(prefix);
  const svc = serviceIdentityOf(status);
  return { id: idFrom(prefix, svc, status), problem: problemOf(svc, status) };
}

function idFrom(
  prefix: string,
  svc: ServiceIdentity | undefined,
  status: WorkloadIdentity,
): string {
  const base = svc
    ? svc.project
      ? `${svc.project}_${svc.service}`
      : svc.service
    : containerName(status.name);
  return prefix + sanitizePlanId(base);
}

/** Compose project/service label keys, named in refusals. */
export const COMPOSE_PROJECT_LABEL = 'com.docker.compose.project';
export const COMPOSE_SERVICE_LABEL = 'com.docker.compose.service';
/** Swarm task label keys (set by the engine on every task container). */
export const SWARM_SERVICE_LABEL = 'com.docker.swarm.service.name';
export const SWARM_STACK_LABEL = 'com.docker.stack.namespace';

/**
 * What a name that becomes a path segment or part of a plan id may hold: `[A-Za-z0-9_.-]`, at
 * most 255 characters, and not `.` or `..` (Compose itself allows less: `[a-z0-9_-]` for projects,
 * `[a-zA-Z0-9._-]` for services; Docker container names are `[a-zA-Z0-9][a-zA-Z0-9_.-]*`).
 */
const SAFE_NAME = /^[A-Za-z0-9_.-]{1,255}$/;

function unsafeName(value: string): boolean {
  return !SAFE_NAME.test(value) || value === '.' || value === '..';
}

/**
 * Why a workload's compose project, service or container name can't become a path or a plan id
 * (a sentence naming container, label and value), or undefined when it can. Labels are hostile:
 * `com.docker.compose.service=../usr` would otherwise make `/volumes/../usr` a mount target.
 */
export function identityProblem(status: WorkloadIdentity): string | undefined {
  return problemOf(serviceIdentityOf(status), status);
}

function problemOf(svc: ServiceIdentity | undefined, status: WorkloadIdentity): string | undefined {
  // The container name is cut and the message built only for a problem: asked of every workload.
  if (svc?.project !== undefined && unsafeName(svc.project))
    return refusal(status, svc.projectLabel, svc.project);
  if (svc !== undefined && unsafeName(svc.service))
    return refusal(status, svc.serviceLabel, svc.service);
  if (svc) return undefined;
  const container = containerName(status.name);
  return unsafeName(container)
    ? `container name ${JSON.stringify(container.slice(0, 80))} is not a safe name: refused`
    : undefined;
}

function refusal(status: WorkloadIdentity, label: string, value: string): string {
  return (
    `container "${containerName(status.name)}" label ${label}=${JSON.stringify(value.slice(0, 80))}: not a safe name ` +
    `(only letters, digits, "_", "." and "-", not "." or ".."), refused: it would become a path and a plan id`
  );
}

/**
 * Where restic-compose-backup puts a workload's data inside its snapshot:
 * `/volumes[/<project>]/<service>` (rcb's INCLUDE_PROJECT_NAME). The service falls back to the
 * container name for containers not started by compose. Throws (the `identityProblem` message)
 * rather than return a path that could leave `/volumes/`; callers refuse such workloads first.
 */
export function workloadPath(status: WorkloadIdentity, includeProjectName: boolean): string {
  const problem = identityProblem(status);
  if (problem !== undefined) throw new Error(problem);
  const svc = serviceIdentityOf(status);
  const service = svc?.service ?? containerName(status.name);
  const project = svc?.project;
  return includeProjectName && project ? `/volumes/${project}/${service}` : `/volumes/${service}`;
}
