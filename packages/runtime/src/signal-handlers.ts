import type { Logger } from './logger.js';

/** What the signal handlers drive (the Manager). */
export interface SignalTarget {
  readonly logger: Logger;
  stop(reason: string): Promise<void>;
  resync(): Promise<void>;
}

/**
 * SIGTERM/SIGINT → graceful `stop`; a second one ends the process at once, as that signal's
 * default action would (`forceExit`: shells and Docker report 143 for SIGTERM, 130 for SIGINT).
 * SIGHUP → `resync`. Returns a function that removes the handlers.
 */
export function installSignalHandlers(target: SignalTarget, proc: NodeJS.Process): () => void {
  let received = 0;
  const onStop = (signal: NodeJS.Signals): void => {
    received++;
    if (received > 1) {
      target.logger.warn('signal.forced_exit', { signal });
      forceExit(proc, signal);
      return;
    }
    target.logger.info('signal.received', { signal });
    void target.stop(signal);
  };
  const onHup = (): void => {
    target.logger.info('signal.received', { signal: 'SIGHUP' });
    void target.resync();
  };
  const onTerm = (): void => onStop('SIGTERM');
  const onInt = (): void => onStop('SIGINT');
  proc.on('SIGTERM', onTerm);
  proc.on('SIGINT', onInt);
  proc.on('SIGHUP', onHup);
  return () => {
    proc.off('SIGTERM', onTerm);
    proc.off('SIGINT', onInt);
    proc.off('SIGHUP', onHup);
  };
}

/**
 * Ends the process by `signal`'s default action: once the log lines logged so far are written
 * (the logger writes a tick's lines at its end), every listener of `signal` is removed, which
 * gives the signal back its default action, and it is raised again.
 *
 * Not `process.exit`: from Node 22 on it joins V8's worker threads first, and a Maglev or
 * Sparkplug job waiting for a GC on the main thread at that moment never returns (nodejs/node#54918,
 * docs/adr/0005-bundled-cli.md): the forced exit, asked for because the graceful one takes too
 * long, could then hang for good. A signal's default action ends every thread at once.
 */
function forceExit(proc: NodeJS.Process, signal: NodeJS.Signals): void {
  setImmediate(() => {
    proc.removeAllListeners(signal);
    proc.kill(proc.pid, signal);
  });
}
