import type { Logger } from './logger.js';

/** What the signal handlers drive (the Manager). */
export interface SignalTarget {
  readonly logger: Logger;
  stop(reason: string): Promise<void>;
  resync(): Promise<void>;
}

/**
 * SIGTERM/SIGINT → graceful `stop`; a second one exits at once (code 130). SIGHUP → `resync`.
 * Returns a function that removes the handlers.
 */
export function installSignalHandlers(target: SignalTarget, proc: NodeJS.Process): () => void {
  let received = 0;
  const onStop = (signal: NodeJS.Signals): void => {
    received++;
    if (received > 1) {
      target.logger.warn('signal.forced_exit', { signal });
      proc.exit(130);
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
