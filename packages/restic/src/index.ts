// Public API of @backrest-sidecar/restic: running restic and reading what it prints. A leaf
// package (it knows restic, not workloads or labels), shared by the backup and retention controllers.
export * from './env-file.js';
export * from './restic-json.js';
export * from './restic-runner.js';
export * from './restic-runner-factory.js';
export * from './restic-host.js';
export * from './no-match-explanation.js';
export * from './format-bytes.js';
