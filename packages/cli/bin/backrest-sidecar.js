#!/usr/bin/env node
// The backrest-sidecar command: runs the bundle `npm run build` makes (tsc, then
// packages/cli/scripts/bundle.mjs). One file to load instead of ~500 modules; see
// docs/adr/0005-bundled-cli.md.
import { existsSync } from 'node:fs';
import module from 'node:module';

// V8's code cache on disk (Node >= 22.1): later starts skip compiling the bundle. Node 20 has no
// such API; NODE_COMPILE_CACHE / NODE_DISABLE_COMPILE_CACHE are honoured by Node itself.
module.enableCompileCache?.();

const bundle = new URL('../dist/backrest-sidecar.bundle.js', import.meta.url);
if (existsSync(bundle)) {
  await import(bundle.href);
} else if (existsSync(new URL('../dist/main.js', import.meta.url))) {
  // Compiled but not bundled (a checkout without esbuild installed): same program, slower start.
  await import('../dist/main.js');
} else {
  process.stderr.write('backrest-sidecar: the CLI is not built: run `npm run build`\n');
  process.exitCode = 1;
}
