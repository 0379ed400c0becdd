#!/usr/bin/env node
// The backrest-sidecar command: runs the bundle `npm run build` makes (tsc, then
// packages/cli/scripts/bundle.mjs). One file to load instead of ~500 modules; see
// docs/adr/0005-bundled-cli.md.
import module from 'node:module';

// V8's code cache on disk (Node >= 22.1): later starts skip compiling the bundle. Node 20 has no
// such API; NODE_COMPILE_CACHE / NODE_DISABLE_COMPILE_CACHE are honoured by Node itself.
module.enableCompileCache?.();

try {
  await import('../dist/backrest-sidecar.bundle.js');
} catch (err) {
  if (
    err?.code === 'ERR_MODULE_NOT_FOUND' &&
    String(err.message).includes('backrest-sidecar.bundle.js')
  ) {
    process.stderr.write('backrest-sidecar: the CLI is not built: run `npm run build`\n');
    process.exit(1);
  }
  throw err;
}
