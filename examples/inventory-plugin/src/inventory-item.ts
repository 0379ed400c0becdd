import type { ContainerStatus } from '@dockop/docker';
import { makeKey, type Resource, type ResourceDefinition } from '@dockop/runtime';

export const INVENTORY_GROUP = 'inventory.examples.dockop.dev';
export const INVENTORY_VERSION = 'v1alpha1';
/** One labeled container = one InventoryItem resource, named after the container. */
export const INVENTORY_ITEM_KIND = 'InventoryItem';
export const INVENTORY_ITEM_SCHEMA_ID = 'https://dockop.dev/schemas/examples/inventory-item.json';

/** The labels this plugin reads (all under its own prefix, so it never clashes with `backrest.`). */
export const InventoryLabels = {
  enable: 'inventory.enable',
  owner: 'inventory.owner',
  tier: 'inventory.tier',
  tags: 'inventory.tags',
} as const;

export type Tier = 'gold' | 'silver' | 'bronze';

/** The spec after the runtime decoded the labels and validated them against the schema. */
export interface InventoryItemSpec {
  enable: true;
  owner?: string;
  tier: Tier;
  tags: string[];
}

export type InventoryItem = Resource<InventoryItemSpec, ContainerStatus>;

/**
 * The kind: the Docker source selects containers with `inventory.enable=true`, strips the
 * `inventory.` prefix from their labels and hands the spec to the schema below.
 */
export const inventoryItemDefinition: ResourceDefinition = {
  group: INVENTORY_GROUP,
  version: INVENTORY_VERSION,
  kind: INVENTORY_ITEM_KIND,
  plural: 'inventoryitems',
  description: 'A container listed in the inventory file',
  selector: { prefixes: ['inventory.'], enableLabel: InventoryLabels.enable },
  schemaId: INVENTORY_ITEM_SCHEMA_ID,
};

export function inventoryItemKey(containerName: string): string {
  return makeKey(INVENTORY_ITEM_KIND, containerName);
}
