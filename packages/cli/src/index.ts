// Public API of @backrest-sidecar/cli (the binary is bin/backrest-sidecar.js).
export * from './options.js';
export * from './app.js';
export * from './output.js';
export * from './program.js';
export { runReconcile } from './commands/reconcile.js';
export { runDaemon, parseHttpAddr } from './commands/daemon.js';
