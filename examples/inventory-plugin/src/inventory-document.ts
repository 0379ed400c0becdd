import {
  INVENTORY_GROUP,
  INVENTORY_VERSION,
  type InventoryItem,
  type Tier,
} from './inventory-item.js';

/** One service in the file. No timestamps: the bytes change only when the inventory does. */
export interface InventoryEntry {
  name: string;
  image: string;
  state: string;
  tier: Tier;
  tags: string[];
  owner?: string;
  compose?: { project: string; service: string };
}

export interface InventoryDocument {
  apiVersion: string;
  kind: 'Inventory';
  services: InventoryEntry[];
}

export function toEntry(item: InventoryItem): InventoryEntry {
  const entry: InventoryEntry = {
    name: item.metadata.name,
    image: item.status?.image ?? '',
    state: item.status?.state ?? 'unknown',
    tier: item.spec.tier,
    tags: [...item.spec.tags].sort(),
  };
  if (item.spec.owner) entry.owner = item.spec.owner;
  const compose = item.status?.compose;
  if (compose) entry.compose = { project: compose.project, service: compose.service };
  return entry;
}

/** The whole file, services sorted by name, as the exact bytes to write. */
export function renderInventory(items: InventoryItem[]): string {
  const doc: InventoryDocument = {
    apiVersion: `${INVENTORY_GROUP}/${INVENTORY_VERSION}`,
    kind: 'Inventory',
    services: items.map(toEntry).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}
