import type { Resource, ResourceKey } from './resource.js';

/** Injection token of the manager's `Cache` (a `ResourceCache`). */
export const Cache = Symbol.for('dockop.Cache');

/** Read-only view of every valid resource the sources delivered, by kind. */
export interface Cache {
  get<T extends Resource = Resource>(key: ResourceKey): T | undefined;
  list<T extends Resource = Resource>(kind: string): T[];
  /** Resources of `kind` carrying label `key` (with `value`, when given). */
  byLabel<T extends Resource = Resource>(kind: string, key: string, value?: string): T[];
  /** True once every registered source delivered its first full list. */
  hasSynced(): boolean;
}
