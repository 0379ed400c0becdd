/**
 * The resource model: the shape every kind shares, modelled on Kubernetes objects so that
 * controllers written against it read like controller-runtime code.
 */
export interface ObjectMeta {
  /** Unique within a kind. For Docker-derived resources: the container name. */
  name: string;
  /** Stable identity of the underlying object (Docker: the container id). */
  uid: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** Bumped by the source whenever the spec changes. */
  generation: number;
  /** Opaque; changes whenever anything in the object changes. */
  resourceVersion: string;
  /** ISO-8601. */
  creationTimestamp: string;
}

export interface Resource<Spec = unknown, Status = unknown> {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec: Spec;
  status?: Status;
}

/** A key names one resource across kinds: `<kind>/<name>`. Queues and stores hold keys. */
export type ResourceKey = string;

export function keyOf(resource: Pick<Resource, 'kind' | 'metadata'>): ResourceKey {
  return makeKey(resource.kind, resource.metadata.name);
}

export function makeKey(kind: string, name: string): ResourceKey {
  return `${kind}/${name}`;
}

/**
 * `s === \`${head}/${tail}\``, without building that string: whether a key names `kind` and
 * `name` (`makeKey`), or a string is a definition's `group/version`. Asked per resource of a list
 * of thousands, where a string made only to be compared is garbage.
 */
export function isSlashJoined(s: string, head: string, tail: string): boolean {
  return (
    s.length === head.length + 1 + tail.length &&
    s.charCodeAt(head.length) === SLASH &&
    s.startsWith(head) &&
    s.endsWith(tail)
  );
}

const SLASH = 0x2f;

export function splitKey(key: ResourceKey): { kind: string; name: string } {
  const slash = key.indexOf('/');
  if (slash <= 0) throw new Error(`malformed resource key "${key}" (expected <kind>/<name>)`);
  return { kind: key.slice(0, slash), name: key.slice(slash + 1) };
}
