// Public API of @backrest-sidecar/controller-retention: the RetentionController and the
// per-workload restic forget loop it runs.
// Its default export is the ContainerModule. restic running and parsing live in
// @backrest-sidecar/restic, the report shapes and workload helpers in @backrest-sidecar/api.
export * from './run-forget.js';
export * from './forget-retention.js';
export * from './backrest-plan-forget.js';
export * from './retention-controller-options.js';
export * from './retention-controller.js';
export * from './retention-reconciler.js';
export * from './retention-due.js';
export * from './retention-metrics.js';
export { retentionModule } from './retention-module.js';
export { default } from './retention-module.js';
