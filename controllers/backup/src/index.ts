// Public API of @backrest-sidecar/controller-backup: backup-once, quiesce and its journal, the scheduler.
export * from './backup-options.js';
export * from './backup-result.js';
export * from './backup-workloads.js';
export * from './quiesce-order.js';
export * from './quiesce-journal.js';
export * from './quiesce.js';
export * from './progress.js';
export * from './notify.js';
export * from './restic-engine.js';
export * from './rcb-engine.js';
export * from './backrest-engine.js';
export * from './run-backup-once.js';
export * from './backup-scheduler.js';
export * from './backup-module.js';
export * from './ensure-running.js';
export * from './own-container.js';
export * from './quiesce-journal-repairer.js';
