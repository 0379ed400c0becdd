/**
 * Where the CLI writes what: stdout carries only a command's output (a table, a description, a
 * dry-run diff); every log line and every error goes to stderr, in the `--log-format` chosen
 * (`auto`: human-readable on a TTY, JSON lines otherwise), so `cmd | jq` and `cmd 2>log` both work.
 */
import { createLogger, type LogFormat, type Logger } from '@dockop/runtime';

const FORMATS: readonly LogFormat[] = ['json', 'pretty', 'auto'];

/**
 * The `--log-format` of `argv`, read before commander has parsed it (an unknown command or a bad
 * flag is reported before any option is known). Default `auto`; an invalid value falls back to
 * `auto` (commander then reports it).
 */
export function logFormatOf(argv: readonly string[]): LogFormat {
  let found: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') break;
    if (arg === '--log-format') found = argv[i + 1];
    else if (arg?.startsWith('--log-format=')) found = arg.slice('--log-format='.length);
  }
  return FORMATS.includes(found as LogFormat) ? (found as LogFormat) : 'auto';
}

/** The logger of CLI errors: stderr, the format of `argv`. */
export function errorLogger(argv: readonly string[] = process.argv): Logger {
  return createLogger({ level: 'error', format: logFormatOf(argv), stream: process.stderr });
}

const stdoutGone = new AbortController();

/**
 * Aborted once the reader of stdout went away (`get plans -w | head -3`): a command that would
 * go on printing stops, as on SIGINT. One that has work left (a backup between stopping a
 * database and starting it again, a config to write) finishes it; its output is dropped.
 */
export const stdoutClosed: AbortSignal = stdoutGone.signal;

/**
 * Watches `stream` (stdout) for its reader going away. Not `process.exit()`: that ends the
 * process wherever it is (a stopped container not started again), and on Node ≥ 22 it can hang
 * joining V8's compiler threads (compile-cache.cts, `fastExitIsSafe`). Node destroys the stream
 * on the failed write, so later writes are dropped quietly. Any other error is thrown, as before.
 */
export function watchStdout(stream: NodeJS.WriteStream = process.stdout): void {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    stdoutGone.abort();
  });
}
