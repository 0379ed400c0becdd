// Public API of @backrest-sidecar/api: the BackupWorkload kind and helpers shared by controllers.
export * from './backup-workload.js';
export * from './backup-workload-schema.js';
export * from './formats.js';
export * from './schedule.js';
export * from './plan-id.js';
export * from './module.js';
export * from './workload-target.js';
export * from './workload-label-trust.js';
export * from './path-collisions.js';
export * from './retention-report.js';
export * from './plan-report.js';
export * from './workload-status.js';
export * from './workload-status-store.js';
export * from './workload-status-module.js';
export * from './workload-staleness.js';
export * from './dump-preset.js';
export * from './dump-settings.js';
