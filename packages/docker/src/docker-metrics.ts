import { registeredCounter, registeredHistogram } from '@dockop/runtime';
import { Registry, type Counter, type Histogram } from 'prom-client';

/**
 * Metric hooks of the Docker layer. The informer and the client call these; the default
 * implementation records prom-client metrics, tests may pass their own.
 */
export const DockerMetrics = Symbol.for('dockop.DockerMetrics');

export type RequestOutcome = 'ok' | 'error';

export interface DockerMetrics {
  /** One Docker API request `op` (e.g. `containers.inspect`) finished after `seconds`. */
  request(op: string, seconds: number, outcome: RequestOutcome): void;
  /** One event read from the events stream (after filtering). */
  event(action: string): void;
  /** The events stream was reopened after it ended or failed. */
  reconnect(): void;
  /** A full relist ran (`reason`: initial, reconnect, periodic, manual). */
  resync(reason: string): void;
}

/**
 * prom-client implementation: registers its metrics on `registry` (the runtime's metrics
 * registry when the app has one; a private one otherwise, so two containers in one process
 * don't collide on metric names).
 */
export class PromDockerMetrics implements DockerMetrics {
  readonly registry: Registry;
  readonly #events: Counter<'action'>;
  readonly #reconnects: Counter;
  readonly #resyncs: Counter<'reason'>;
  readonly #requests: Counter<'op' | 'outcome'>;
  readonly #durations: Histogram<'op'>;

  constructor(registry: Registry = new Registry()) {
    this.registry = registry;
    this.#events = registeredCounter(registry, {
      name: 'dockop_docker_events_total',
      help: 'Docker container events received',
      labelNames: ['action'],
    });
    this.#reconnects = registeredCounter(registry, {
      name: 'dockop_docker_reconnects_total',
      help: 'Reconnections of the Docker events stream',
    });
    this.#resyncs = registeredCounter(registry, {
      name: 'dockop_docker_resyncs_total',
      help: 'Full container relists',
      labelNames: ['reason'],
    });
    this.#requests = registeredCounter(registry, {
      name: 'dockop_docker_api_requests_total',
      help: 'Docker API requests by operation and outcome',
      labelNames: ['op', 'outcome'],
    });
    this.#durations = registeredHistogram(registry, {
      name: 'dockop_docker_api_request_duration_seconds',
      help: 'Docker API request duration by operation',
      labelNames: ['op'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    });
  }

  request(op: string, seconds: number, outcome: RequestOutcome): void {
    this.#requests.inc({ op, outcome });
    this.#durations.observe({ op }, seconds);
  }
  event(action: string): void {
    this.#events.inc({ action });
  }
  reconnect(): void {
    this.#reconnects.inc();
  }
  resync(reason: string): void {
    this.#resyncs.inc({ reason });
  }
}
