// Entry point of the backrest-sidecar binary. reflect-metadata must load before any decorator.
import 'reflect-metadata';
import { CommanderError, type Command } from 'commander';
import { buildProgram } from './program.js';
import { fatal } from './exit.js';
import { noteCommand } from './compile-cache-command.js';
import { watchStdout } from './cli-output.js';

// `backrest-sidecar get plans | head -1`: the reader went away. No EPIPE stack trace; the command
// ends as it would have, its output dropped (cli-output.ts).
watchStdout();

/** The top-level command `action` belongs to (`get` for `get plans`). */
function topLevel(action: Command): Command {
  let cmd = action;
  while (cmd.parent?.parent) cmd = cmd.parent;
  return cmd;
}

// Not a top-level await: the bundle is CommonJS (see compile-cache.ts), which has none.
void (async () => {
  try {
    await buildProgram(process.argv.slice(2))
      // The code cache the bin keeps is per command (compile-cache.ts).
      .hook('preAction', (_program, action) => noteCommand(topLevel(action).name()))
      .parseAsync(process.argv);
  } catch (err) {
    // Commander already reported its own errors (one usage.error line) and knows the exit code
    // (0 for --help and --version).
    process.exitCode = err instanceof CommanderError ? err.exitCode : fatal(err);
  }
})();
