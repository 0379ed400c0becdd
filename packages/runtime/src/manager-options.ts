import type { Container } from 'inversify';
import type { Clock } from './clock.js';
import type { HttpServerOptions } from './http-server.js';
import type { LeaderElectionOptions } from './leader-election.js';
import type { Logger, LoggerOptions } from './logger.js';

export interface ManagerOptions {
  /** A ready `Logger`, or options for `createLogger`. Default: `createLogger()` (info, auto format). */
  logger?: Logger | LoggerOptions;
  /** Default: `new SystemClock()`. Tests pass a `VirtualClock`. */
  clock?: Clock;
  /** Serve `/healthz`, `/readyz`, `/metrics`. Default: off. `true` means port 8080 on 0.0.0.0. */
  http?: boolean | HttpServerOptions;
  /** Only the lease holder runs controllers. Default: off. */
  leaderElection?: false | LeaderElectionOptions;
  /** How long `start` waits for every source's first list. Default 120 000 ms. */
  cacheSyncTimeoutMs?: number;
  /** How long `stop` lets in-flight reconciles finish before aborting them. Default 30 000 ms. */
  gracefulShutdownMs?: number;
  /** Use this container instead of a new one (its bindings win over the runtime's defaults). */
  container?: Container;
}

/** The options the manager was created with, bound for modules that want them. */
export const ManagerOptions = Symbol.for('dockop.ManagerOptions');
