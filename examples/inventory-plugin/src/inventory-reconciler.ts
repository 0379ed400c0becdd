import {
  ConditionTypes,
  type ReconcileContext,
  type ReconcileRequest,
  type Reconciler,
} from '@dockop/runtime';
import { inject, injectable } from 'inversify';
import { renderInventory } from './inventory-document.js';
import { INVENTORY_ITEM_KIND, inventoryItemKey, type InventoryItem } from './inventory-item.js';
import { InventoryOptions, type ResolvedInventoryOptions } from './inventory-options.js';
import { writeIfChanged } from './write-if-changed.js';

/** Event reasons this plugin records. */
export const InventoryReasons = { Written: 'InventoryWritten', Listed: 'Listed' } as const;

/**
 * Level-triggered: whatever changed, the whole file is rendered again from the cache (only valid
 * items are there) and written when its bytes differ. A failed write throws, so the runtime
 * retries it with backoff.
 */
@injectable()
export class InventoryReconciler implements Reconciler {
  readonly #file: string;

  constructor(@inject(InventoryOptions) options: ResolvedInventoryOptions) {
    this.#file = options.file;
  }

  async reconcile(request: ReconcileRequest, ctx: ReconcileContext): Promise<void> {
    const items = ctx.cache.list<InventoryItem>(INVENTORY_ITEM_KIND);
    const written = await writeIfChanged(this.#file, renderInventory(items));
    for (const item of items) {
      ctx.conditions.set(inventoryItemKey(item.metadata.name), {
        type: ConditionTypes.Ready,
        status: 'True',
        reason: InventoryReasons.Listed,
        message: `listed in ${this.#file}`,
      });
    }
    if (written) {
      ctx.logger.info('inventory.written', { file: this.#file, services: items.length });
      ctx.recorder.event(
        request.key,
        'Normal',
        InventoryReasons.Written,
        `wrote ${items.length} service(s) to ${this.#file}`,
      );
    }
  }
}
