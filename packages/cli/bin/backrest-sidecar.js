#!/usr/bin/env node
// The backrest-sidecar command: runs the bundle `npm run build` makes (tsc, then
// packages/cli/scripts/bundle.mjs), one CommonJS file instead of ~500 modules, with V8's code
// cache kept on disk (src/compile-cache.cts); see docs/adr/0005-bundled-cli.md. CommonJS itself
// (bin/package.json) because Node starts a CommonJS entry a few ms sooner than an ES module.
'use strict';
const { existsSync } = require('node:fs');
const path = require('node:path');
const { setImmediate } = require('node:timers');

const dist = path.join(__dirname, '..', 'dist');
const bundle = path.join(dist, 'backrest-sidecar.bundle.cjs');
if (existsSync(bundle)) {
  // `--help`, `version`, `completion <shell>`: text the build printed, no program to load
  // (src/static-answers.cts).
  if (!answeredStatically()) {
    const run = () => require(path.join(dist, 'compile-cache.cjs')).runBundle(bundle);
    // A listing one-shot's container list goes out first (src/early-list.cts); one turn of the
    // event loop connects and writes it, then the program loads while the engine answers, and
    // the rest of the wait warms the young generation up (src/heap-warmup.cts).
    const warmUp = startedEarlyList();
    if (warmUp) {
      setImmediate(() => {
        run();
        warmUp();
      });
    } else run();
  }
} else if (existsSync(path.join(dist, 'main.js'))) {
  // Compiled but not bundled (a checkout without esbuild installed): same program, slower start.
  import('../dist/main.js');
} else {
  process.stderr.write('backrest-sidecar: the CLI is not built: run `npm run build`\n');
  process.exitCode = 1;
}

function answeredStatically() {
  try {
    return require(path.join(dist, 'static-answers.cjs')).answerStatically(dist, bundle);
  } catch (err) {
    // A dist/ from before stored answers existed: the program answers everything.
    if (err && err.code === 'MODULE_NOT_FOUND') return false;
    throw err;
  }
}

/** Sends the early list; when one went out, returns what warms the heap up while it is pending. */
function startedEarlyList() {
  try {
    const early = require(path.join(dist, 'early-list.cjs'));
    if (!early.startEarlyList(process.argv.slice(2))) return undefined;
    return () => early.warmHeapWhileListing();
  } catch {
    // A dist/ from before the early list, or a failure of its own: the program lists, as before.
    return undefined;
  }
}
