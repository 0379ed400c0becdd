// Public API of @backrest-sidecar/controller-plan. Its default export is the ContainerModule, so
// `manager.loadPlugin('@backrest-sidecar/controller-plan')` loads it like any plugin.
export * from './apply.js';
export * from './apply-controller.js';
export * from './apply-metrics.js';
export * from './apply-reconciler.js';
export * from './apply-state.js';
export * from './backrest-activity.js';
export * from './backrest-api-store.js';
export * from './orphan-tracker.js';
export * from './plan-builder.js';
export * from './plan-controller.js';
export * from './plan-controller-options.js';
export * from './plan-reconciler.js';
export * from './plan-metrics.js';
export * from './plan-report.js';
export * from './plan-store.js';
export { planControllerModule } from './module.js';
export { default } from './module.js';
