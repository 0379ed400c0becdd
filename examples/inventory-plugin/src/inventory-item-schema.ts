import type { JsonSchema } from '@dockop/runtime';
import { INVENTORY_ITEM_SCHEMA_ID } from './inventory-item.js';

/**
 * JSON Schema of an InventoryItem spec (the labels without `inventory.`). The runtime validates
 * every spec against it before the reconciler sees it: a bad value keeps the container out of
 * the inventory with an `InvalidSpec` condition and a Warning event naming label and value.
 * `tags` is a comma-separated label value; the runtime splits it because the schema wants an array.
 */
export const inventoryItemSchema: JsonSchema = {
  $id: INVENTORY_ITEM_SCHEMA_ID,
  $schema: 'http://json-schema.org/draft-07/schema#',
  title: 'InventoryItem',
  type: 'object',
  required: ['enable'],
  properties: {
    enable: {
      type: 'boolean',
      const: true,
      description: 'inventory.enable=true opts the container in',
    },
    owner: { type: 'string', format: 'email', description: 'who to ask about this service' },
    tier: { enum: ['gold', 'silver', 'bronze'], default: 'bronze' },
    tags: {
      type: 'array',
      items: { type: 'string', pattern: '^[a-z0-9][a-z0-9_.-]{0,62}$' },
      uniqueItems: true,
      default: [],
    },
  },
  additionalProperties: false,
};
