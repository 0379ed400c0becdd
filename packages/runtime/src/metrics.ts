import { Counter, Gauge, Registry, type Metric } from 'prom-client';
import { logLinesDropped } from './logger.js';
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

/**
 * Every metric name the runtime registers: controller-runtime's and client-go's names, and the
 * log lines the process dropped (its log reader gone: see `logLinesDropped`).
 */
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
  'dockop_log_lines_dropped_total',
] as const;

/** controller-runtime's reconcile-time buckets (seconds). */
const RECONCILE_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9, 1,
  1.25, 1.5, 1.75, 2, 2.5, 3, 3.5, 4, 4.5, 5, 6, 7, 8, 9, 10, 15, 20, 25, 30, 40, 50, 60,
];
/** client-go's work-queue buckets: 10 ns × 10^0..9. */
const QUEUE_BUCKETS = Array.from({ length: 10 }, (_, i) => 1e-8 * Math.pow(10, i));

/**
 * A histogram with one label (`name` for the work queues, `controller` for reconcile times)
 * whose hot path is plain arithmetic: prom-client's `observe` (and `labels(...).observe`, even on
 * a bound child) hashes and validates the labels on every call (~270 ns per observation, the bulk
 * of the work-queue metrics cost). Exposed like a prom-client histogram (same names, `le` bounds,
 * `_sum`/`_count`, `le` before the label); a series appears with its first observation, as with
 * prom-client.
 */
export class LabelledHistogram<L extends string = 'name'> {
  readonly name: string;
  readonly help: string;
  readonly type = 'histogram' as const;
  readonly aggregator = 'sum' as const;
  /** As on prom-client metrics (dashboards and tests read it). */
  readonly labelNames: readonly [L];
  readonly upperBounds: readonly number[];
  readonly #series = new Map<string, HistogramSeries>();

  constructor(config: {
    name: string;
    help: string;
    /** The one label. */
    labelName: L;
    buckets: number[];
    registers: Registry[];
  }) {
    this.name = config.name;
    this.help = config.help;
    this.labelNames = [config.labelName];
    this.upperBounds = [...config.buckets].sort((a, b) => a - b);
    // The registry needs only name, help, type, aggregator, get() and reset() (duck-typed).
    for (const r of config.registers) r.registerMetric(this as unknown as Metric);
  }

  /** The series of label value `value`, created on first use. */
  series(value: string): HistogramSeries {
    let s = this.#series.get(value);
    if (!s) {
      s = new HistogramSeries(this.upperBounds);
      this.#series.set(value, s);
    }
    return s;
  }

  observe(labels: Record<L, string>, value: number): void {
    this.series(labels[this.labelNames[0]]).observe(value);
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
    const label = this.labelNames[0];
    for (const [value, s] of this.#series) {
      if (s.count === 0) continue;
      let cumulative = 0;
      this.upperBounds.forEach((le, i) => {
        cumulative += s.buckets[i] ?? 0;
        values.push({ labels: { le, [label]: value }, value: cumulative, metricName: bucket });
      });
      values.push({ labels: { le: '+Inf', [label]: value }, value: s.count, metricName: bucket });
      values.push({ labels: { [label]: value }, value: s.sum, metricName: `${this.name}_sum` });
      values.push({ labels: { [label]: value }, value: s.count, metricName: `${this.name}_count` });
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

/** One series of a LabelledHistogram: per-bucket (not cumulative) counts, sum and count. */
export class HistogramSeries {
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

const RESULTS: readonly ReconcileResultLabel[] = ['success', 'error', 'requeue', 'requeue_after'];

/**
 * Plain-number state of one controller, and its `ControllerMetrics`: a reconcile's hooks are field
 * updates and one histogram observation; the prom-client counters and gauge read the state at
 * scrape time (their `collect`), as the queues' do. prom-client's `inc` hashes the label object on
 * every call, even through `labels(...)` (issue #13: half the runtime's per-key cost).
 */
class ControllerState implements ControllerMetrics {
  readonly totals: Record<ReconcileResultLabel, number> = {
    success: 0,
    error: 0,
    requeue: 0,
    requeue_after: 0,
  };
  /** Totals already handed to the prom-client counters (they only take increments). */
  readonly totalsExported: Record<ReconcileResultLabel, number> = { ...this.totals };
  errors = 0;
  errorsExported = 0;
  active = 0;
  readonly #time: HistogramSeries;
  readonly #setMaxConcurrent: (n: number) => void;

  constructor(time: HistogramSeries, setMaxConcurrent: (n: number) => void) {
    this.#time = time;
    this.#setMaxConcurrent = setMaxConcurrent;
  }

  reconciled(result: ReconcileResultLabel, seconds: number): void {
    this.totals[result]++;
    this.#time.observe(seconds);
  }

  error(): void {
    this.errors++;
  }

  maxConcurrentReconciles(n: number): void {
    this.#setMaxConcurrent(n);
  }

  activeWorkers(delta: number): void {
    this.active += delta;
  }
}

export interface RuntimeMetrics extends WorkQueueMetricsProvider, ControllerMetricsProvider {
  readonly registry: Registry;
}

export class PrometheusMetrics implements RuntimeMetrics {
  readonly registry: Registry;
  readonly reconcileTotal: Counter<'controller' | 'result'>;
  readonly reconcileErrors: Counter<'controller'>;
  readonly reconcileTime: LabelledHistogram<'controller'>;
  readonly maxConcurrent: Gauge<'controller'>;
  readonly activeWorkersGauge: Gauge<'controller'>;
  readonly depth: Gauge<'name'>;
  readonly adds: Counter<'name'>;
  readonly queueLatency: LabelledHistogram;
  readonly workDuration: LabelledHistogram;
  readonly retries: Counter<'name'>;
  readonly unfinished: Gauge<'name'>;
  readonly longest: Gauge<'name'>;
  readonly logLinesDropped: Counter;
  /** By queue name; a queue re-created under the same name (manager restart) continues it. */
  readonly #queues = new Map<string, QueueState>();
  /** By controller name; a controller re-created under the same name continues its series. */
  readonly #controllers = new Map<string, ControllerState>();

  constructor(registry: Registry = new Registry()) {
    this.registry = registry;
    const registers = [registry];
    const queues = this.#queues;
    const controllers = this.#controllers;
    // Controller metrics, like the work-queue ones below, are read from plain-number state at
    // scrape time. Only increments since the last scrape are handed over, and none of 0: a
    // series that `registry.resetMetrics()` dropped comes back with its next reconcile, as before.
    this.reconcileTotal = new Counter({
      name: 'controller_runtime_reconcile_total',
      help: 'Total number of reconciliations per controller',
      labelNames: ['controller', 'result'],
      registers,
      collect() {
        for (const [controller, c] of controllers) {
          for (const result of RESULTS) {
            const delta = c.totals[result] - c.totalsExported[result];
            if (delta === 0) continue;
            this.inc({ controller, result }, delta);
            c.totalsExported[result] = c.totals[result];
          }
        }
      },
    });
    this.reconcileErrors = new Counter({
      name: 'controller_runtime_reconcile_errors_total',
      help: 'Total number of reconciliation errors per controller',
      labelNames: ['controller'],
      registers,
      collect() {
        for (const [controller, c] of controllers) {
          if (c.errors === c.errorsExported) continue;
          this.inc({ controller }, c.errors - c.errorsExported);
          c.errorsExported = c.errors;
        }
      },
    });
    this.reconcileTime = new LabelledHistogram({
      name: 'controller_runtime_reconcile_time_seconds',
      help: 'Length of time per reconciliation per controller',
      labelName: 'controller',
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
      collect() {
        for (const [controller, c] of controllers) this.set({ controller }, c.active);
      },
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
    this.queueLatency = new LabelledHistogram({
      name: 'workqueue_queue_duration_seconds',
      labelName: 'name',
      help: 'How long in seconds an item stays in workqueue before being requested',
      buckets: QUEUE_BUCKETS,
      registers,
    });
    this.workDuration = new LabelledHistogram({
      name: 'workqueue_work_duration_seconds',
      labelName: 'name',
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
    // Process-wide, read at scrape time: what this registry has not handed over yet.
    let droppedExported = 0;
    this.logLinesDropped = new Counter({
      name: 'dockop_log_lines_dropped_total',
      help: 'Log lines not written because their stream had failed or closed (the log reader went away)',
      registers,
      collect() {
        const dropped = logLinesDropped();
        if (dropped > droppedExported) this.inc(dropped - droppedExported);
        droppedExported = dropped;
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
    for (const result of RESULTS) this.reconcileTotal.inc({ controller: name, result }, 0);
    this.reconcileErrors.inc(labels, 0);
    this.activeWorkersGauge.set(labels, 0);
    // A controller re-created under the same name (manager restart) goes on with its totals;
    // nothing of the old one is in flight any more.
    let c = this.#controllers.get(name);
    if (c) c.active = 0;
    else {
      c = new ControllerState(this.reconcileTime.series(name), (n) =>
        this.maxConcurrent.set(labels, n),
      );
      this.#controllers.set(name, c);
    }
    return c;
  }

  /** Prometheus text exposition of the whole registry. */
  metrics(): Promise<string> {
    return this.registry.metrics();
  }
}
