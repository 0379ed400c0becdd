import { ExitCode } from '@backrest-sidecar/controller-plan';
import { redactText } from '@dockop/runtime';
import { UsageError } from './options.js';

/** Last-resort handler: one JSON line on stderr, exit code 1. */
export function fatal(err: unknown): number {
  // No shared redactor this late: the rules still mask credentials an error message quotes.
  const message = redactText(err instanceof Error ? err.message : String(err));
  const line = {
    level: 'error',
    action: err instanceof UsageError ? 'usage.error' : 'cli.fatal',
    error: message,
  };
  process.stderr.write(`${JSON.stringify(line)}\n`);
  return ExitCode.Fatal;
}
