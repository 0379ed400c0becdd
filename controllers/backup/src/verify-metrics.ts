import type { MetricsRegistry } from '@dockop/runtime';

/** Name of the last-verified gauge (docs/deploy.md lists it). */
export const LAST_VERIFIED_METRIC = 'backrest_sidecar_last_verified_timestamp_seconds';

/**
 * A labelled gauge the runtime's prom-client registry can expose (duck-typed, as the plan
 * controller's apply metrics: no prom-client dependency here).
 */
class LabelledGauge {
  readonly type = 'gauge' as const;
  readonly aggregator = 'max' as const;
  readonly #values = new Map<string, { labels: Record<string, string>; value: number }>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
  ) {}

  set(labels: Record<string, string>, value: number): void {
    this.#values.set(JSON.stringify(labels), { labels, value });
  }

  value(labels: Record<string, string>): number | undefined {
    return this.#values.get(JSON.stringify(labels))?.value;
  }

  get(): Promise<object> {
    return Promise.resolve({
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: this.aggregator,
      values: [...this.#values.values()],
    });
  }

  reset(): void {
    this.#values.clear();
  }
}

/**
 * `backrest_sidecar_last_verified_timestamp_seconds{workload}`: Unix time of the workload's last
 * passed restore drill. Alert on `time() - … > 8 * 86400` with a weekly `--verify-schedule`.
 */
export class VerifyMetrics {
  readonly lastVerified = new LabelledGauge(
    LAST_VERIFIED_METRIC,
    'Unix time of the last passed restore drill (verify) of the workload',
    ['workload'],
  );

  constructor(registry?: MetricsRegistry) {
    if (registry && !registry.getSingleMetric(this.lastVerified.name)) {
      registry.registerMetric(
        this.lastVerified as unknown as Parameters<MetricsRegistry['registerMetric']>[0],
      );
    }
  }

  verified(workload: string, unixSeconds: number): void {
    this.lastVerified.set({ workload }, unixSeconds);
  }
}
