import { ControllerContribution, JsonSchema, ResourceDefinition } from '@dockop/runtime';
import { ContainerModule } from 'inversify';
import { InventoryController } from './inventory-controller.js';
import { inventoryItemDefinition } from './inventory-item.js';
import { inventoryItemSchema } from './inventory-item-schema.js';
import {
  InventoryOptions,
  resolveInventoryOptions,
  type ResolvedInventoryOptions,
} from './inventory-options.js';
import { InventoryReconciler } from './inventory-reconciler.js';

/**
 * The plugin: the InventoryItem kind, its schema and the controller. Options are resolved when
 * the module is loaded, so `INVENTORY_FILE` is read then.
 */
export function inventoryModule(options: InventoryOptions = {}): ContainerModule {
  return new ContainerModule((o) => {
    o.bind<ResolvedInventoryOptions>(InventoryOptions).toConstantValue(
      resolveInventoryOptions(options),
    );
    o.bind<ResourceDefinition>(ResourceDefinition).toConstantValue(inventoryItemDefinition);
    o.bind<JsonSchema>(JsonSchema).toConstantValue(inventoryItemSchema);
    o.bind(InventoryReconciler).toSelf().inSingletonScope();
    o.bind<ControllerContribution>(ControllerContribution)
      .to(InventoryController)
      .inSingletonScope();
  });
}

/** What `--plugin` and `manager.loadPlugin` load: the module with options from the environment. */
export default inventoryModule();
