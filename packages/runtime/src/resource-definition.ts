/**
 * Resource definitions ("crd-like"): what a kind is called, how a source selects and decodes the
 * objects that belong to it, and which JSON Schema its spec must satisfy.
 */
export const ResourceDefinition = Symbol.for('dockop.ResourceDefinition');

export interface LabelSelector {
  /**
   * Label key prefixes the kind owns, e.g. `['backrest.']`. Keys under them are decoded into the
   * spec: the prefix is stripped and dots nest (`backrest.paths.include` → `paths.include`).
   */
  prefixes: string[];
  /**
   * When set, an object is selected only when this label's value is `true` (case-insensitive).
   * Sources use it as a server-side filter where they can (Docker: `label=<key>=true`).
   */
  enableLabel?: string;
  /**
   * Explicit label key → spec path (dot separated) for keys that plain nesting cannot express,
   * e.g. a key that is both a value and a parent of other keys.
   */
  paths?: Record<string, string>;
  /**
   * Spec paths (decoded, dot separated) that make the controller run commands or read paths
   * (hooks, include paths); a path under one counts too. When a label that decodes to one of them
   * is inherited from the image (a third-party Dockerfile's LABEL, under any prefix or alias) or
   * the image can't be inspected, sources drop it and emit a Warning, unless image labels are
   * trusted. Deciding on spec paths, not keys, covers every alias of the same field.
   */
  sensitivePaths?: string[];
  /** Legacy form of `sensitivePaths`: label keys, reduced to the spec paths they decode to. */
  sensitiveLabels?: string[];
}

export interface ResourceDefinition {
  /** API group, e.g. `backrest.dockop.io`. */
  group: string;
  /** e.g. `v1alpha1`. */
  version: string;
  /** CamelCase kind, unique across the manager, e.g. `BackupWorkload`. */
  kind: string;
  /** Lower-case plural used in CLI output, e.g. `backupworkloads`. */
  plural: string;
  description?: string;
  selector: LabelSelector;
  /** `$id` of the JSON Schema (registered with the SchemaRegistry) that the spec must satisfy. */
  schemaId: string;
}

export function apiVersionOf(def: Pick<ResourceDefinition, 'group' | 'version'>): string {
  return `${def.group}/${def.version}`;
}

/**
 * Where label `key` goes in the spec, or undefined when the selector does not own it: an
 * explicit `paths` mapping wins; otherwise the longest matching prefix is stripped. Sources decode
 * with it and the cache maps validation errors back to labels with it, so both agree.
 */
export function ownedPath(selector: LabelSelector, key: string): string | undefined {
  // Own properties only: a label named `constructor` must not find Object's constructor.
  const paths = selector.paths;
  if (paths !== undefined && Object.hasOwn(paths, key)) {
    const explicit = paths[key];
    if (typeof explicit === 'string') return explicit;
  }
  let best: string | undefined;
  // Indexed: asked for every label of every listed container, mostly in cold code, where a
  // for-of allocates an iterator and a result per step.
  const prefixes = selector.prefixes;
  for (let i = 0; i < prefixes.length; i++) {
    const p = prefixes[i] as string;
    if (key.startsWith(p) && (best === undefined || p.length > best.length)) best = p;
  }
  return best === undefined ? undefined : key.slice(best.length);
}
