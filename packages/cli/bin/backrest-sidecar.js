#!/usr/bin/env node
// The backrest-sidecar command. Build first (`npm run build`): this imports the compiled CLI.
import '../dist/main.js';
