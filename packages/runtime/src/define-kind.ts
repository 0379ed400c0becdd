/**
 * One call for a label kind: its `ResourceDefinition` and the JSON Schema of its spec, which a
 * plugin otherwise writes as two objects with a shared `$id` and binds separately.
 */
import type { ContainerModuleLoadOptions } from 'inversify';
import { ResourceDefinition } from './resource-definition.js';
import { makeKey, type Resource, type ResourceKey } from './resource.js';
import { JsonSchema } from './schema-registry.js';

export interface KindOptions {
  /** CamelCase, unique across the manager, e.g. `HealthHook`. */
  kind: string;
  /** API group, e.g. `healthhook.example.com`. */
  group: string;
  /** Default `v1alpha1`. */
  version?: string;
  /** Default: the kind in lower case plus `s`. */
  plural?: string;
  description?: string;
  /** Label prefix(es) the kind owns, each ending in `.`: `healthhook.url` → `spec.url`. */
  prefix: string | string[];
  /**
   * Only containers whose label has the value `true` belong to the kind. Default
   * `<first prefix>enable`; `false`: every container with a label under a prefix belongs.
   */
  enableLabel?: string | false;
  /** Spec paths that make the plugin run commands or read paths (see `LabelSelector`). */
  sensitivePaths?: string[];
  /** Explicit label key → spec path mappings (see `LabelSelector.paths`). */
  paths?: Record<string, string>;
  /**
   * The spec's JSON Schema properties (draft-07). Label values are strings; the cache coerces them
   * to the types asked for and fills `default`s. An `enable` boolean is added when the enable
   * label lies under a prefix and no `enable` property is given.
   */
  properties?: Record<string, unknown>;
  required?: string[];
  /** Default false: a label under the prefix that no property names is dropped with an `UnknownField` warning. */
  additionalProperties?: boolean;
  /** The schema's `$id`. Default `https://dockop.dev/schemas/<group>/<version>/<plural>.json`. */
  schemaId?: string;
}

/** A kind as plugins use it: the definition and schema to bind, plus typed helpers. */
export interface ResourceKind<Spec = unknown> {
  readonly kind: string;
  readonly definition: ResourceDefinition;
  readonly schema: JsonSchema;
  /** `<kind>/<name>`: the key of the resource built from container `name`. */
  key(name: string): ResourceKey;
  /** Binds the definition and the schema (what `definePlugin` calls). */
  bind(options: ContainerModuleLoadOptions): void;
  /** Narrows a resource of any kind to this one (the spec type is the caller's promise). */
  is(resource: Resource | undefined): resource is Resource<Spec>;
}

const KIND_NAME = /^[A-Z][A-Za-z0-9]{0,62}$/;

/** Builds a `ResourceKind`; throws naming the option when the definition could never work. */
export function defineKind<Spec = Record<string, unknown>>(
  options: KindOptions,
): ResourceKind<Spec> {
  const { kind, group } = options;
  if (!KIND_NAME.test(kind)) {
    throw new Error(`defineKind: kind "${kind}" must be CamelCase letters and digits`);
  }
  if (!group) throw new Error(`defineKind(${kind}): group is required`);
  const prefixes = typeof options.prefix === 'string' ? [options.prefix] : [...options.prefix];
  if (prefixes.length === 0 || prefixes.some((p) => !p.endsWith('.') || p.length < 2)) {
    throw new Error(
      `defineKind(${kind}): prefix ${JSON.stringify(options.prefix)} must be one or more label prefixes ending in "."`,
    );
  }
  const version = options.version ?? 'v1alpha1';
  const plural = options.plural ?? `${kind.toLowerCase()}s`;
  const schemaId =
    options.schemaId ?? `https://dockop.dev/schemas/${group}/${version}/${plural}.json`;
  const enableLabel =
    options.enableLabel === false ? undefined : (options.enableLabel ?? `${prefixes[0]}enable`);

  const properties: Record<string, unknown> = { ...(options.properties ?? {}) };
  // The enable label decodes into the spec like any owned label: without a property for it, a
  // closed schema would warn about the very label that selects the container.
  const enablePath = enableLabel && prefixes.find((p) => enableLabel.startsWith(p));
  if (enableLabel && enablePath) {
    const field = enableLabel.slice(enablePath.length);
    if (!field.includes('.') && !Object.hasOwn(properties, field)) {
      properties[field] = { type: 'boolean' };
    }
  }
  const schema: JsonSchema = {
    $id: schemaId,
    $schema: 'http://json-schema.org/draft-07/schema#',
    type: 'object',
    properties,
    ...(options.required?.length ? { required: [...options.required] } : {}),
    additionalProperties: options.additionalProperties ?? false,
  };
  const definition: ResourceDefinition = {
    group,
    version,
    kind,
    plural,
    ...(options.description ? { description: options.description } : {}),
    selector: {
      prefixes,
      ...(enableLabel ? { enableLabel } : {}),
      ...(options.paths ? { paths: { ...options.paths } } : {}),
      ...(options.sensitivePaths ? { sensitivePaths: [...options.sensitivePaths] } : {}),
    },
    schemaId,
  };
  return {
    kind,
    definition,
    schema,
    key: (name) => makeKey(kind, name),
    bind(o) {
      o.bind<ResourceDefinition>(ResourceDefinition).toConstantValue(definition);
      o.bind<JsonSchema>(JsonSchema).toConstantValue(schema);
    },
    is: (resource): resource is Resource<Spec> => resource?.kind === kind,
  };
}
