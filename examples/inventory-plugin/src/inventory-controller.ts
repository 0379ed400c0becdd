import {
  makeKey,
  type ControllerContribution,
  type ControllerOptions,
  type Watch,
} from '@dockop/runtime';
import { inject, injectable } from 'inversify';
import { INVENTORY_ITEM_KIND } from './inventory-item.js';
import { InventoryOptions, type ResolvedInventoryOptions } from './inventory-options.js';
import { InventoryReconciler } from './inventory-reconciler.js';

/** Every item change maps to this one key: the inventory file is one aggregate. */
export const INVENTORY_KEY = makeKey('Inventory', 'inventory');

/** Watches InventoryItems; reconciles the file once at start (even with no item) and on changes. */
@injectable()
export class InventoryController implements ControllerContribution {
  readonly name = 'inventory';
  readonly watches: Watch[] = [{ kind: INVENTORY_ITEM_KIND, map: () => [INVENTORY_KEY] }];
  readonly options: ControllerOptions;

  constructor(
    @inject(InventoryReconciler) readonly reconciler: InventoryReconciler,
    @inject(InventoryOptions) options: ResolvedInventoryOptions,
  ) {
    this.options = {
      initialKeys: [INVENTORY_KEY],
      debounce: options.debounce,
      resyncPeriodMs: options.resyncPeriodMs,
    };
  }
}
