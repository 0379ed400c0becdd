import type { MetricsRegistry } from '@dockop/runtime';

type Labels = Record<string, string>;

/** A labelled gauge or counter the runtime's prom-client registry can expose (duck-typed). */
class SimpleMetric {
  readonly aggregator = 'sum' as const;
  readonly #values = new Map<string, { labels: Labels; value: number }>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'gauge' | 'counter',
    readonly labelNames: readonly string[],
  ) {}

  set(labels: Labels, value: number): void {
    this.#values.set(JSON.stringify(labels), { labels, value });
  }

  inc(labels: Labels): void {
    const key = JSON.stringify(labels);
    this.set(labels, (this.#values.get(key)?.value ?? 0) + 1);
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
 * `backrest_sidecar_apply_deferred{container}`: 1 while a restart waits for Backrest to be idle.
 * `backrest_sidecar_apply_total{container,outcome}`: applies by outcome (applied, deferred,
 * not-running, failed, skipped).
 */
export class ApplyMetrics {
  readonly deferred = new SimpleMetric(
    'backrest_sidecar_apply_deferred',
    '1 while a Backrest restart is deferred because Backrest is running an operation',
    'gauge',
    ['container'],
  );
  readonly applies = new SimpleMetric(
    'backrest_sidecar_apply_total',
    'Config applies by outcome',
    'counter',
    ['container', 'outcome'],
  );

  constructor(registry?: MetricsRegistry) {
    for (const m of [this.deferred, this.applies]) {
      if (registry && !registry.getSingleMetric(m.name)) {
        registry.registerMetric(m as unknown as Parameters<MetricsRegistry['registerMetric']>[0]);
      }
    }
  }
}
