// The inventory example plugin. `backrest-sidecar daemon --plugin <this package>` loads the default
// export; tests and embedders use `inventoryModule(options)`.
import 'reflect-metadata';

export * from './inventory-item.js';
export * from './inventory-item-schema.js';
export * from './inventory-options.js';
export * from './inventory-document.js';
export * from './write-if-changed.js';
export * from './inventory-reconciler.js';
export * from './inventory-controller.js';
export { inventoryModule } from './module.js';
export { default } from './module.js';
