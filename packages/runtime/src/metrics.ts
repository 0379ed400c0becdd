import { Counter, Gauge, Histogram, Registry } from 'prom-client';
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
  readonly queueLatency: Histogram<'name'>;
  readonly workDuration: Histogram<'name'>;
  readonly retries: Counter<'name'>;
  readonly unfinished: Gauge<'name'>;
  readonly longest: Gauge<'name'>;
  readonly #probes = new Map<string, WorkQueueProbe>();

  constructor(registry: Registry = new Registry()) {
    this.registry = registry;
    const registers = [registry];
    const probes = this.#probes;
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
    this.depth = new Gauge({
      name: 'workqueue_depth',
      help: 'Current depth of workqueue',
      labelNames: ['name'],
      registers,
    });
    this.adds = new Counter({
      name: 'workqueue_adds_total',
      help: 'Total number of adds handled by workqueue',
      labelNames: ['name'],
      registers,
    });
    this.queueLatency = new Histogram({
      name: 'workqueue_queue_duration_seconds',
      help: 'How long in seconds an item stays in workqueue before being requested',
      labelNames: ['name'],
      buckets: QUEUE_BUCKETS,
      registers,
    });
    this.workDuration = new Histogram({
      name: 'workqueue_work_duration_seconds',
      help: 'How long in seconds processing an item from workqueue takes',
      labelNames: ['name'],
      buckets: QUEUE_BUCKETS,
      registers,
    });
    this.retries = new Counter({
      name: 'workqueue_retries_total',
      help: 'Total number of retries handled by workqueue',
      labelNames: ['name'],
      registers,
    });
    this.unfinished = new Gauge({
      name: 'workqueue_unfinished_work_seconds',
      help: "How many seconds of work has been done that is in progress and hasn't been observed by work_duration. Large values indicate stuck threads.",
      labelNames: ['name'],
      registers,
      collect() {
        for (const [name, p] of probes) this.set({ name }, p.unfinishedWorkSeconds());
      },
    });
    this.longest = new Gauge({
      name: 'workqueue_longest_running_processor_seconds',
      help: 'How many seconds has the longest running processor for workqueue been running.',
      labelNames: ['name'],
      registers,
      collect() {
        for (const [name, p] of probes) this.set({ name }, p.longestRunningProcessorSeconds());
      },
    });
  }

  forQueue(name: string, probe: WorkQueueProbe): WorkQueueMetrics {
    // A queue re-created under the same name (manager restart) replaces the old probe.
    this.#probes.set(name, probe);
    const labels = { name };
    // Bound children: label hashing once per queue, not once per add (the hot path).
    const depth = this.depth.labels(labels);
    const adds = this.adds.labels(labels);
    const retries = this.retries.labels(labels);
    const latency = this.queueLatency.labels(labels);
    const work = this.workDuration.labels(labels);
    depth.set(0);
    adds.inc(0);
    retries.inc(0);
    return {
      add: () => adds.inc(),
      depth: (n) => depth.set(n),
      queueDuration: (s) => latency.observe(s),
      workDuration: (s) => work.observe(s),
      retry: () => retries.inc(),
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
