// Public API of @backrest-sidecar/controller-retention: the per-workload restic forget loop.
export * from './env-file.js';
export * from './restic-json.js';
export * from './restic-runner.js';
export * from './workload-target.js';
export * from './no-match-explanation.js';
export * from './run-forget.js';
export * from './restic-runner-factory.js';
export * from './retention-module.js';
export * from './workload-label-trust.js';
export * from './path-collisions.js';
export * from './restic-host.js';
