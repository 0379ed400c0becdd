// Entry point of the backrest-sidecar binary. reflect-metadata must load before any decorator.
import 'reflect-metadata';
import { CommanderError } from 'commander';
import { buildProgram } from './program.js';
import { fatal } from './exit.js';

// `backrest-sidecar get plans | head -1`: the reader went away. Stop quietly, like other Unix
// tools, instead of an unhandled EPIPE stack trace.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

try {
  await buildProgram().parseAsync(process.argv);
} catch (err) {
  // Commander already reported its own errors (one usage.error line) and knows the exit code
  // (0 for --help and --version).
  process.exitCode = err instanceof CommanderError ? err.exitCode : fatal(err);
}
