import { ExitCode } from '@backrest-sidecar/api';
import { errorLogger } from './cli-output.js';
import { UsageError } from './options.js';

/**
 * Last-resort handler: one error line on stderr in the chosen log format (`usage.error` for bad
 * flags, `cli.fatal` otherwise), exit code 1.
 */
export function fatal(err: unknown): number {
  const message = err instanceof Error ? err.message : String(err);
  errorLogger().error(err instanceof UsageError ? 'usage.error' : 'cli.fatal', { error: message });
  return ExitCode.Fatal;
}
