import { createHash } from 'node:crypto';
import {
  COMPOSE_LABELS,
  observeListed,
  type ContainerMount,
  type ObservedContainer,
} from '@dockop/docker';

/** What a test says about a container; everything but `name` and `labels` has a default. */
export interface FakeContainer {
  /** Container name, without the leading '/'. */
  name: string;
  labels: Record<string, string>;
  /** Default `dockop/busybox:local`. */
  image?: string;
  /**
   * Labels the image itself carries (a Dockerfile LABEL). A sensitive label whose key and value
   * equal the image's is dropped as untrusted, as the real source does. Default `{}`.
   */
  imageLabels?: Record<string, string>;
  /** Default `running`. */
  state?: 'created' | 'running' | 'paused' | 'restarting' | 'exited' | 'dead';
  /** Only for containers with a healthcheck. Default: none. */
  health?: 'starting' | 'healthy' | 'unhealthy';
  mounts?: FakeMount[];
  /** Sets the `com.docker.compose.*` labels, as `docker compose up` would. */
  compose?: { project: string; service: string; workingDir?: string; dependsOn?: string[] };
}

export interface FakeMount {
  /** Default `volume` when `name` is given, else `bind`. */
  type?: ContainerMount['type'];
  /** Host path; for a volume, default `/var/lib/docker/volumes/<name>/_data`. */
  source?: string;
  /** Volume name. */
  name?: string;
  destination: string;
  /** Default false. */
  readOnly?: boolean;
}

/** One container of the fake engine: what `docker ps -a` would show. */
export interface FakeContainerRecord {
  readonly id: string;
  /** Epoch seconds (the list API's precision). */
  readonly created: number;
  readonly container: FakeContainer;
}

export const DEFAULT_FAKE_IMAGE = 'dockop/busybox:local';

type ListedInfo = Parameters<typeof observeListed>[0];

/** A 64-hex id that depends only on the name and a counter, so test output is reproducible. */
export function fakeContainerId(name: string, seq: number): string {
  return createHash('sha256').update(`${name}\0${seq}`).digest('hex');
}

/**
 * `sha256:<hex>` of an image reference and its labels: an image id names immutable content, so
 * the same reference with other image labels is another image (the trust check caches by id).
 */
export function fakeImageId(image: string, imageLabels: Record<string, string> = {}): string {
  const labels = Object.keys(imageLabels)
    .sort()
    .map((k) => [k, imageLabels[k]]);
  return `sha256:${createHash('sha256')
    .update(JSON.stringify([image, labels]))
    .digest('hex')}`;
}

/** The container's labels as the engine reports them (compose labels included). */
export function labelsOf(c: FakeContainer): Record<string, string> {
  const labels = { ...c.labels };
  if (c.compose) {
    labels[COMPOSE_LABELS.project] = c.compose.project;
    labels[COMPOSE_LABELS.service] = c.compose.service;
    if (c.compose.workingDir) labels[COMPOSE_LABELS.workingDir] = c.compose.workingDir;
    if (c.compose.dependsOn?.length) {
      labels[COMPOSE_LABELS.dependsOn] = c.compose.dependsOn
        .map((d) => `${d}:service_started:false`)
        .join(',');
    }
  }
  return labels;
}

function statusText(c: FakeContainer): string {
  const state = c.state ?? 'running';
  if (state !== 'running') return state === 'exited' ? 'Exited (0) 1 second ago' : state;
  if (c.health === 'healthy') return 'Up 1 second (healthy)';
  if (c.health === 'unhealthy') return 'Up 1 second (unhealthy)';
  if (c.health === 'starting') return 'Up 1 second (health: starting)';
  return 'Up 1 second';
}

/**
 * The record as `GET /containers/json?all=true` lists it, passed through @dockop/docker's own
 * `observeListed`: status, compose info, health and mount order come out exactly as in production.
 */
export function observeFake(record: FakeContainerRecord): ObservedContainer {
  const c = record.container;
  const image = c.image ?? DEFAULT_FAKE_IMAGE;
  const info = {
    Id: record.id,
    Names: [`/${c.name}`],
    Image: image,
    ImageID: fakeImageId(image, c.imageLabels),
    Command: '',
    Created: record.created,
    Ports: [],
    Labels: labelsOf(c),
    State: c.state ?? 'running',
    Status: statusText(c),
    HostConfig: { NetworkMode: 'none' },
    NetworkSettings: { Networks: {} },
    Mounts: (c.mounts ?? []).map((m) => {
      const type = m.type ?? (m.name ? 'volume' : 'bind');
      return {
        Type: type,
        ...(m.name ? { Name: m.name } : {}),
        Source: m.source ?? (m.name ? `/var/lib/docker/volumes/${m.name}/_data` : ''),
        Destination: m.destination,
        Driver: type === 'volume' ? 'local' : '',
        Mode: '',
        RW: m.readOnly !== true,
        Propagation: '',
      };
    }),
  } as unknown as ListedInfo;
  return observeListed(info);
}
