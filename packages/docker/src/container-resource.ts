import type Dockerode from 'dockerode';
import {
  apiVersionOf,
  isSlashJoined,
  labelListOrSplit,
  ownLabel,
  ownLabels,
  setOwn,
  type Resource,
  type ResourceDefinition,
} from '@dockop/runtime';
import type { HealthState } from './event-stream.js';
import { stableStringify } from './stable-json.js';

export type ContainerState =
  'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead';

export interface ContainerMount {
  type: 'bind' | 'volume' | 'tmpfs' | 'npipe' | 'cluster' | (string & {});
  /** Host path (bind) or the volume's mountpoint on the host (volume). */
  source: string;
  /** Volume name, for volumes. */
  name?: string;
  destination: string;
  readOnly: boolean;
}

export interface ComposeInfo {
  project: string;
  service: string;
  workingDir?: string;
  /** Services this one depends on (`com.docker.compose.depends_on`). */
  dependsOn?: string[];
}

/**
 * A Swarm task's service, from the labels the engine puts on every task container. Task
 * container names (`<service>.<slot>.<task id>`) change on every update; these do not.
 */
export interface SwarmInfo {
  /** `com.docker.swarm.service.name`, e.g. `shop_db` (a stack prefixes its services' names). */
  service: string;
  /** `com.docker.stack.namespace`: the stack, when deployed with `docker stack deploy`. */
  stack?: string;
}

/** What reconcilers need to know about the container behind a resource. */
export interface ContainerStatus {
  id: string;
  /** Without leading '/'. */
  name: string;
  /** Image reference as the container was created with (e.g. `postgres:16`). */
  image: string;
  /** `sha256:...` */
  imageId: string;
  state: ContainerState | (string & {});
  /** Only for containers with a healthcheck. */
  health?: HealthState;
  compose?: ComposeInfo;
  /** Set for Swarm task containers. */
  swarm?: SwarmInfo;
  mounts: ContainerMount[];
  /** Every label of the container (also the ones no kind owns). */
  labels: Record<string, string>;
}

/** A resource built from a container: raw decoded label spec, container status. */
export type ContainerResource<Spec = unknown> = Resource<Spec, ContainerStatus>;

/** A container as the informer keeps it. */
export interface ObservedContainer {
  status: ContainerStatus;
  /** ISO-8601, second precision (the list API has no more). */
  created: string;
}

/**
 * True when nothing observable changed between two observations of a container: the same
 * created time and status (labels, mounts, state, health, image). Compared field by field: the
 * daemon relists every container each `--interval`, and a sorted-JSON SHA-1 of each one was most
 * of an idle daemon's CPU (issue #13). compose and swarm are derived from the labels.
 */
export function sameObservation(a: ObservedContainer, b: ObservedContainer): boolean {
  if (a.created !== b.created) return false;
  const x = a.status;
  const y = b.status;
  if (
    x.id !== y.id ||
    x.name !== y.name ||
    x.image !== y.image ||
    x.imageId !== y.imageId ||
    x.state !== y.state ||
    x.health !== y.health ||
    x.mounts.length !== y.mounts.length
  ) {
    return false;
  }
  for (let i = 0; i < x.mounts.length; i++) {
    const m = x.mounts[i]!;
    const n = y.mounts[i]!;
    if (
      m.type !== n.type ||
      m.source !== n.source ||
      m.name !== n.name ||
      m.destination !== n.destination ||
      m.readOnly !== n.readOnly
    ) {
      return false;
    }
  }
  const keys = Object.keys(x.labels);
  if (keys.length !== Object.keys(y.labels).length) return false;
  for (const k of keys) {
    if (!Object.hasOwn(y.labels, k) || x.labels[k] !== y.labels[k]) return false;
  }
  return true;
}

export const COMPOSE_LABELS = {
  project: 'com.docker.compose.project',
  service: 'com.docker.compose.service',
  workingDir: 'com.docker.compose.project.working_dir',
  dependsOn: 'com.docker.compose.depends_on',
} as const;

export const SWARM_LABELS = {
  service: 'com.docker.swarm.service.name',
  stack: 'com.docker.stack.namespace',
} as const;

/**
 * From `GET /containers/json` (no per-container inspect needed: a 500-container list stays one call).
 * `adoptLabels`: the caller hands `info.Labels` over (a list it parsed and lets go of, as the
 * informer does): that map, given a null prototype, becomes the status's labels instead of a
 * copy of it, when all its values are strings (as Docker's JSON gives them); else it is copied.
 */
export function observeListed(
  info: Dockerode.ContainerInfo,
  adoptLabels = false,
): ObservedContainer {
  const labels = info.Labels ?? {};
  const name = info.Names?.[0] ?? info.Id;
  // Built here, not from an object of the same fields (one more object per listed container).
  const status: ContainerStatus = {
    id: info.Id,
    name: bareName(name),
    image: info.Image,
    imageId: info.ImageID,
    state: info.State,
    mounts: mountsOf(info.Mounts),
    labels: adoptLabels ? adoptedLabels(labels) : ownLabels(labels),
  };
  return observed(
    withDerived(status, healthFromStatusText(info.Status), labels),
    isoOfSeconds(info.Created),
  );
}

/**
 * `labels` itself as `ownLabels` would copy it: the same own entries, no prototype (a label
 * named `__proto__` that JSON.parse made an own property stays one). Cold, 2,000 copies of
 * a parsed list's label maps were most of what a listed container cost to observe.
 */
function adoptedLabels(labels: Record<string, string>): Record<string, string> {
  const keys = Object.keys(labels);
  for (let i = 0; i < keys.length; i++) {
    if (typeof labels[keys[i] as string] !== 'string') return ownLabels(labels);
  }
  return Object.setPrototypeOf(labels, null) as Record<string, string>;
}

let lastSeconds: number | undefined;
let lastIso = '';

/**
 * `Created` (Unix seconds) as ISO-8601, the last answer kept: the containers of a list were mostly
 * created within a few seconds of each other (2,000 made by one script: 14 distinct values).
 */
function isoOfSeconds(seconds: number): string {
  if (seconds !== lastSeconds) {
    // Computed before it is kept: an invalid time throws (as before) and is never kept.
    lastIso = new Date(seconds * 1000).toISOString();
    lastSeconds = seconds;
  }
  return lastIso;
}

/** From `GET /containers/{id}/json`. */
export function observeInspected(info: Dockerode.ContainerInspectInfo): ObservedContainer {
  const labels = info.Config?.Labels ?? {};
  const h = info.State?.Health?.Status;
  const status: ContainerStatus = {
    id: info.Id,
    name: bareName(info.Name),
    image: info.Config?.Image ?? info.Image,
    imageId: info.Image,
    state: info.State?.Status ?? 'unknown',
    mounts: mountsOf(info.Mounts),
    labels: ownLabels(labels),
  };
  const health = h === 'healthy' || h === 'unhealthy' || h === 'starting' ? h : undefined;
  const created = new Date(info.Created);
  created.setUTCMilliseconds(0);
  return observed(withDerived(status, health, labels), created.toISOString());
}

/** A container name as the API gives it (`/db`) without its leading '/'. */
function bareName(name: string): string {
  return name.startsWith('/') ? name.slice(1) : name;
}

/** `Up 3 minutes (healthy)`, `Up 2 seconds (health: starting)`, `Up 1 hour (unhealthy)`. */
export function healthFromStatusText(text: string | undefined): HealthState | undefined {
  // Most containers have no healthcheck: one search, not three.
  if (!text?.includes('health')) return undefined;
  if (text.includes('(healthy)')) return 'healthy';
  if (text.includes('(unhealthy)')) return 'unhealthy';
  if (text.includes('(health: starting)')) return 'starting';
  return undefined;
}

/** Compose metadata from labels; depends_on is `svc:condition:restart,...` (older: `svc:condition`). */
export function composeOf(labels: Record<string, string>): ComposeInfo | undefined {
  const project = ownLabel(labels, COMPOSE_LABELS.project);
  const service = ownLabel(labels, COMPOSE_LABELS.service);
  if (!project || !service) return undefined;
  const info: ComposeInfo = { project, service };
  const wd = ownLabel(labels, COMPOSE_LABELS.workingDir);
  if (wd) info.workingDir = wd;
  const deps = ownLabel(labels, COMPOSE_LABELS.dependsOn);
  if (deps) {
    info.dependsOn = labelListOrSplit(deps)
      .map((d) => d.split(':')[0]?.trim() ?? '')
      .filter((d) => d !== '');
  }
  return info;
}

/** Swarm metadata from a task container's labels; undefined for other containers. */
export function swarmOf(labels: Record<string, string>): SwarmInfo | undefined {
  const service = ownLabel(labels, SWARM_LABELS.service);
  if (!service) return undefined;
  const stack = ownLabel(labels, SWARM_LABELS.stack);
  return stack ? { service, stack } : { service };
}

export interface BuildResourceInput {
  definition: ResourceDefinition;
  container: ObservedContainer;
  spec: unknown;
  annotations?: Record<string, string>;
  /** The resource last delivered for this key, if any. */
  previous?: ContainerResource;
  /** Hands out a new resourceVersion (a counter owned by the source). */
  nextResourceVersion: () => string;
}

/**
 * Builds the resource for one (container, kind). generation starts at 1 and is bumped when the
 * spec changes; resourceVersion changes with any observed change, and is reused otherwise, so an
 * unchanged container gives an identical resource (a resync is then not an update).
 */
export function buildContainerResource(input: BuildResourceInput): ContainerResource {
  const { definition, container, spec, previous } = input;
  const s = container.status;
  const metadata = {
    name: s.name,
    uid: s.id,
    labels: plainLabels(s.labels),
    // A copy of the caller's; no spread of an empty object per container (a runtime call in the
    // cold code of a 2,000-container list).
    annotations: input.annotations ? { ...input.annotations } : {},
    generation: 1,
    resourceVersion: '',
    creationTimestamp: container.created,
  };
  const resource: ContainerResource = {
    apiVersion: apiVersionFor(definition),
    kind: definition.kind,
    metadata,
    spec,
    status: s,
  };
  if (previous) {
    const specChanged = stableStringify(previous.spec) !== stableStringify(spec);
    metadata.generation = previous.metadata.generation + (specChanged ? 1 : 0);
    metadata.resourceVersion = previous.metadata.resourceVersion;
    if (contentOf(previous) === contentOf(resource)) return resource;
  }
  metadata.resourceVersion = input.nextResourceVersion();
  return resource;
}

/** `apiVersionOf` once per definition: one string for all its resources, not one each. */
const apiVersions = new WeakMap<ResourceDefinition, string>();

function apiVersionFor(def: ResourceDefinition): string {
  let v = apiVersions.get(def);
  // Checked against the definition: one changed after its first resource gets a new string.
  if (v === undefined || !isSlashJoined(v, def.group, def.version)) {
    apiVersions.set(def, (v = apiVersionOf(def)));
  }
  return v;
}

/**
 * `{ ...labels }`, for the null-prototype map a status holds by a for-in: cold, over a map V8 keeps
 * as a dictionary (one made by `Object.create(null)`) it copied 2,000 label maps in about a third
 * of a spread's time, and over the fast map `ownLabels` makes now it is as fast as a spread.
 * Same keys in the same order; an own `__proto__` label stays a key.
 */
export function plainLabels(labels: Readonly<Record<string, string>>): Record<string, string> {
  if (Object.getPrototypeOf(labels) !== null) return { ...labels };
  const out: Record<string, string> = {};
  // Null prototype: for-in sees own enumerable keys only, in the order a spread takes them.
  for (const k in labels) {
    setOwn(out, k, labels[k]!);
  }
  return out;
}

/** Everything but resourceVersion: what "changed" means for an update. */
function contentOf(r: ContainerResource): string {
  return stableStringify({ ...r, metadata: { ...r.metadata, resourceVersion: undefined } });
}

/** `status` (its labels an own copy of `labels`) with what its labels and health say. */
function withDerived(
  status: ContainerStatus,
  health: HealthState | undefined,
  labels: Record<string, string>,
): ContainerStatus {
  if (health) status.health = health;
  const compose = composeOf(labels);
  if (compose) status.compose = compose;
  const swarm = swarmOf(labels);
  if (swarm) status.swarm = swarm;
  return status;
}

function observed(status: ContainerStatus, created: string): ObservedContainer {
  return { status, created };
}

// Sorted by destination: list and inspect need not agree on order, sameObservation compares in order.
function mountsOf(mounts: MountLike[] | undefined): ContainerMount[] {
  const out = (mounts ?? []).map(mountOf);
  // Most containers have one mount or none: no sort set up for them (2,000 of a list).
  if (out.length > 1) out.sort((a, b) => a.destination.localeCompare(b.destination));
  return out;
}

interface MountLike {
  Type?: string;
  Name?: string;
  Source?: string;
  Destination?: string;
  RW?: boolean;
}

function mountOf(m: MountLike): ContainerMount {
  const mount: ContainerMount = {
    type: m.Type ?? 'bind',
    source: m.Source ?? '',
    destination: m.Destination ?? '',
    readOnly: m.RW === false,
  };
  if (m.Name) mount.name = m.Name;
  return mount;
}
