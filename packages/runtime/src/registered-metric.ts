import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** What every metric needs; `labelNames` defaults to none. */
export interface MetricConfig<L extends string> {
  name: string;
  help: string;
  labelNames?: readonly L[];
}

/**
 * The metric named `name` on `registry`, created and registered there on first use. A shared
 * registry may already hold it (a second module instance in the same app, a one-shot command
 * built twice in one test process): both instances then update the same series instead of one
 * of them writing to a metric nobody serves. Without a registry the metric is private.
 */
function registered<M>(
  registry: Registry | undefined,
  name: string,
  create: (registers: Registry[]) => M,
): M {
  return (registry?.getSingleMetric(name) as M | undefined) ?? create(registry ? [registry] : []);
}

/** A prom-client `Gauge` on `registry` (see `registered`). */
export function registeredGauge<L extends string = string>(
  registry: Registry | undefined,
  config: MetricConfig<L>,
): Gauge<L> {
  return registered(
    registry,
    config.name,
    (registers) => new Gauge<L>({ ...config, labelNames: config.labelNames ?? [], registers }),
  );
}

/** A prom-client `Counter` on `registry` (see `registered`). */
export function registeredCounter<L extends string = string>(
  registry: Registry | undefined,
  config: MetricConfig<L>,
): Counter<L> {
  return registered(
    registry,
    config.name,
    (registers) => new Counter<L>({ ...config, labelNames: config.labelNames ?? [], registers }),
  );
}

/** A prom-client `Histogram` on `registry` (see `registered`). */
export function registeredHistogram<L extends string = string>(
  registry: Registry | undefined,
  config: MetricConfig<L> & { buckets: number[] },
): Histogram<L> {
  return registered(
    registry,
    config.name,
    (registers) => new Histogram<L>({ ...config, labelNames: config.labelNames ?? [], registers }),
  );
}
