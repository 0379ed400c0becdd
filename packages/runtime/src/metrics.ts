import { Counter, Gauge, Histogram, Registry, type Metric } from 'prom-client';
import type { WorkQueueMetrics, WorkQueueMetricsProvider, WorkQueueProbe } from './workqueue.js';

/**
 * The prom-client `Registry` the manager serves on `/metrics`. Other packages inject it and
 * register their own metrics on it: `new Counter({ name, help, registers: [registry] })`.
 */
export const MetricsRegistry = Symbol.for('dockop.MetricsRegistry');
export type MetricsRegistry = Registry;

/** The runtime's controller and work-queue metrics (controller-runtime's names). */
export const RuntimeMetrics = Symbol.for('dockop.RuntimeMetrics');

export type ReconcileResultLabel = 'success' | 'error' | 'requeue' | 'requeue_after';

/** Hooks a controller calls; the prom-client implementation is `PrometheusMetrics`. */
export interface ControllerMetrics {
  reconciled(result: ReconcileResultLabel, seconds: number): void;
  error(): void;
  maxConcurrentReconciles(n: number): void;
  activeWorkers(delta: number): void;
}

export interface ControllerMetricsProvider {
  forController(name: string): ControllerMetrics;
}

/** Every metric name the runtime registers (controller-runtime's and client-go's names). */
export const RUNTIME_METRIC_NAMES = [
  'controller_runtime_reconcile_total',
  'controller_runtime_reconcile_errors_total',
  'controller_runtime_reconcile_time_seconds',
  'controller_runtime_max_concurrent_reconciles',
  'controller_runtime_active_workers',
  'workqueue_depth',
  'workqueue_adds_total',
  'workqueue_queue_duration_seconds',
  'workqueue_work_duration_seconds',
  'workqueue_retries_total',
  'workqueue_unfinished_work_seconds',
  'workqueue_longest_running_processor_seconds',
] as const;

/** controller-runtime's reconcile-time buckets (seconds). */
const RECONCILE_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9, 1,
  1.25, 1.5, 1.75, 2, 2.5, 3, 3.5, 4, 4.5, 5, 6, 7, 8, 9, 10, 15, 20, 25, 30, 40, 50, 60,
];
/** client-go's work-queue buckets: 10 ns × 10^0..9. */
const QUEUE_BUCKETS = Array.from({ length: 10 }, (_, i) => 1e-8 * Math.pow(10, i));

/**
 * A histogram labelled by queue `name` whose hot path is plain arithmetic: prom-client's
 * `labels(...).observe` hashes and validates the labels on every call, even on a bound child
 * (~270 ns per observation, the bulk of the work-queue metrics cost). Exposed like a prom-client
 * histogram (same names, `le` bounds, `_sum`/`_count`); a queue's series appears with its first
 * observation, as with prom-client.
 */
export class QueueHistogram {
  readonly name: string;
  readonly help: string;
  readonly type = 'histogram' as const;
  readonly aggregator = 'sum' as const;
  /** As on prom-client metrics (dashboards and tests read it). */
  readonly labelNames: readonly string[] = ['name'];
  readonly upperBounds: readonly number[];
  readonly #series = new Map<string, QueueHistogramSeries>();

  constructor(config: { name: string; help: string; buckets: number[]; registers: Registry[] }) {
    this.name = config.name;
    this.help = config.help;
    this.upperBounds = [...config.buckets].sort((a, b) => a - b);
    // The registry needs only name, help, type, aggregator, get() and reset() (duck-typed).
    for (const r of config.registers) r.registerMetric(this as unknown as Metric);
  }

  /** The series of queue `name`, created on first use. */
  series(name: string): QueueHistogramSeries {
    let s = this.#series.get(name);
    if (!s) {
      s = new QueueHistogramSeries(this.upperBounds);
      this.#series.set(name, s);
    }
    return s;
  }

  observe(labels: { name: string }, value: number): void {
    this.series(labels.name).observe(value);
  }

  get(): Promise<{
    name: string;
    help: string;
    type: 'histogram';
    aggregator: 'sum';
    values: HistogramValue[];
  }> {
    const values: HistogramValue[] = [];
    const bucket = `${this.name}_bucket`;
    for (const [name, s] of this.#series) {
      if (s.count === 0) continue;
      let cumulative = 0;
      this.upperBounds.forEach((le, i) => {
        cumulative += s.buckets[i] ?? 0;
        values.push({ labels: { le, name }, value: cumulative, metricName: bucket });
      });
      values.push({ labels: { le: '+Inf', name }, value: s.count, metricName: bucket });
      values.push({ labels: { name }, value: s.sum, metricName: `${this.name}_sum` });
      values.push({ labels: { name }, value: s.count, metricName: `${this.name}_count` });
    }
    return Promise.resolve({
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: this.aggregator,
      values,
    });
  }

  reset(): void {
    for (const s of this.#series.values()) s.reset();
  }
}

interface HistogramValue {
  labels: Record<string, string | number>;
  value: number;
  metricName: string;
}

/** One queue's series of a QueueHistogram: per-bucket (not cumulative) counts, sum and count. */
export class QueueHistogramSeries {
  readonly #bounds: readonly number[];
  /** `buckets[i]`: observations in (bounds[i-1], bounds[i]]; those above the last bound only count. */
  buckets: Float64Array;
  sum = 0;
  count = 0;

  constructor(bounds: readonly number[]) {
    this.#bounds = bounds;
    this.buckets = new Float64Array(bounds.length);
  }

  observe(value: number): void {
    if (!Number.isFinite(value)) throw new TypeError(`Value is not a valid number: ${value}`);
    const bounds = this.#bounds;
    for (let i = 0; i < bounds.length; i++) {
      if (value <= (bounds[i] as number)) {
        this.buckets[i] = (this.buckets[i] as number) + 1;
        break;
      }
    }
    this.sum += value;
    this.count++;
  }

  reset(): void {
    this.buckets = new Float64Array(this.#bounds.length);
    this.sum = 0;
    this.count = 0;
  }
}

/** Plain-number state of one queue: its hooks write here, scrapes read it. */
interface QueueState {
  probe: WorkQueueProbe;
  adds: number;
  retries: number;
  depth: number;
  /** Totals already handed to the prom-client counters (they only take increments). */
  addsExported: number;
  retriesExported: number;
}

export interface RuntimeMetrics extends WorkQueueMetricsProvider, ControllerMetricsProvider {
  readonly registry: Registry;
}

export class PrometheusMetrics implements RuntimeMetrics {
  readonly registry: Registry;
  readonly reconcileTotal: Counter<'controller' | 'result'>;
  readonly reconcileErrors: Counter<'controller'>;
  readonly reconcileTime: Histogram<'controller'>;
  readonly maxConcurrent: Gauge<'controller'>;
  readonly activeWorkersGauge: Gauge<'controller'>;
  readonly depth: Gauge<'name'>;
  readonly adds: Counter<'name'>;
  readonly queueLatency: QueueHistogram;
  readonly workDuration: QueueHistogram;
  readonly retries: Counter<'name'>;
  readonly unfinished: Gauge<'name'>;
  readonly longest: Gauge<'name'>;
  /** By queue name; a queue re-created under the same name (manager restart) continues it. */
  readonly #queues = new Map<string, QueueState>();

  constructor(registry: Registry = new Registry()) {
    this.registry = registry;
    const registers = [registry];
    const queues = this.#queues;
    this.reconcileTotal = new Counter({
      name: 'controller_runtime_reconcile_total',
      help: 'Total number of reconciliations per controller',
      labelNames: ['controller', 'result'],
      registers,
    });
    this.reconcileErrors = new Counter({
      name: 'controller_runtime_reconcile_errors_total',
      help: 'Total number of reconciliation errors per controller',
      labelNames: ['controller'],
      registers,
    });
    this.reconcileTime = new Histogram({
      name: 'controller_runtime_reconcile_time_seconds',
      help: 'Length of time per reconciliation per controller',
      labelNames: ['controller'],
      buckets: RECONCILE_BUCKETS,
      registers,
    });
    this.maxConcurrent = new Gauge({
      name: 'controller_runtime_max_concurrent_reconciles',
      help: 'Maximum number of concurrent reconciles per controller',
      labelNames: ['controller'],
      registers,
    });
    this.activeWorkersGauge = new Gauge({
      name: 'controller_runtime_active_workers',
      help: 'Number of currently used workers per controller',
      labelNames: ['controller'],
      registers,
    });
    // Work-queue metrics are read from the queues' plain-number state at scrape time (collect),
    // so a queue operation costs a few arithmetic operations, not a prom-client label lookup.
    this.depth = new Gauge({
      name: 'workqueue_depth',
      help: 'Current depth of workqueue',
      labelNames: ['name'],
      registers,
      collect() {
        for (const [name, q] of queues) this.set({ name }, q.depth);
      },
    });
    this.adds = new Counter({
      name: 'workqueue_adds_total',
      help: 'Total number of adds handled by workqueue',
      labelNames: ['name'],
      registers,
      collect() {
        for (const [name, q] of queues) {
          this.inc({ name }, q.adds - q.addsExported);
          q.addsExported = q.adds;
        }
      },
    });
    this.queueLatency = new QueueHistogram({
      name: 'workqueue_queue_duration_seconds',
      help: 'How long in seconds an item stays in workqueue before being requested',
      buckets: QUEUE_BUCKETS,
      registers,
    });
    this.workDuration = new QueueHistogram({
      name: 'workqueue_work_duration_seconds',
      help: 'How long in seconds processing an item from workqueue takes',
      buckets: QUEUE_BUCKETS,
      registers,
    });
    this.retries = new Counter({
      name: 'workqueue_retries_total',
      help: 'Total number of retries handled by workqueue',
      labelNames: ['name'],
      registers,
      collect() {
        for (const [name, q] of queues) {
          this.inc({ name }, q.retries - q.retriesExported);
          q.retriesExported = q.retries;
        }
      },
    });
    this.unfinished = new Gauge({
      name: 'workqueue_unfinished_work_seconds',
      help: "How many seconds of work has been done that is in progress and hasn't been observed by work_duration. Large values indicate stuck threads.",
      labelNames: ['name'],
      registers,
      collect() {
        for (const [name, q] of queues) this.set({ name }, q.probe.unfinishedWorkSeconds());
      },
    });
    this.longest = new Gauge({
      name: 'workqueue_longest_running_processor_seconds',
      help: 'How many seconds has the longest running processor for workqueue been running.',
      labelNames: ['name'],
      registers,
      collect() {
        for (const [name, q] of queues) {
          this.set({ name }, q.probe.longestRunningProcessorSeconds());
        }
      },
    });
  }

  forQueue(name: string, probe: WorkQueueProbe): WorkQueueMetrics {
    // A queue re-created under the same name (manager restart) replaces the old probe; its
    // counters and histograms go on from where the old queue left them.
    let q = this.#queues.get(name);
    if (q) {
      q.probe = probe;
      q.depth = 0;
    } else {
      q = { probe, adds: 0, retries: 0, depth: 0, addsExported: 0, retriesExported: 0 };
      this.#queues.set(name, q);
    }
    const state = q;
    const latency = this.queueLatency.series(name);
    const work = this.workDuration.series(name);
    return {
      add: () => void state.adds++,
      depth: (n) => void (state.depth = n),
      queueDuration: (s) => latency.observe(s),
      workDuration: (s) => work.observe(s),
      retry: () => void state.retries++,
    };
  }

  forController(name: string): ControllerMetrics {
    const labels = { controller: name };
    // Zero series exist from the start, so dashboards and alerts see the controller at once.
    for (const result of ['success', 'error', 'requeue', 'requeue_after'] as const) {
      this.reconcileTotal.inc({ controller: name, result }, 0);
    }
    this.reconcileErrors.inc(labels, 0);
    this.activeWorkersGauge.set(labels, 0);
    return {
      reconciled: (result, seconds) => {
        this.reconcileTotal.inc({ controller: name, result });
        this.reconcileTime.observe(labels, seconds);
      },
      error: () => this.reconcileErrors.inc(labels),
      maxConcurrentReconciles: (n) => this.maxConcurrent.set(labels, n),
      activeWorkers: (delta) => this.activeWorkersGauge.inc(labels, delta),
    };
  }

  /** Prometheus text exposition of the whole registry. */
  metrics(): Promise<string> {
    return this.registry.metrics();
  }
}
