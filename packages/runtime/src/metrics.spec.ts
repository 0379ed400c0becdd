import { expect } from 'chai';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { createLogger, logLinesDropped, MemoryLogStream } from './logger.js';
import { PrometheusMetrics, RUNTIME_METRIC_NAMES } from './metrics.js';

// Written out again (not imported) so a renamed metric fails this test.
const METRIC_NAMES = [
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
];

describe('PrometheusMetrics', () => {
  it('registers exactly the controller-runtime and workqueue names, and dropped log lines', async () => {
    const m = new PrometheusMetrics();
    const names = (await m.registry.getMetricsAsJSON()).map((x) => x.name);
    expect(names).to.have.members(METRIC_NAMES);
    expect([...RUNTIME_METRIC_NAMES]).to.have.members(METRIC_NAMES);
  });

  it('serves the log lines the process dropped, counted since it started', async () => {
    const m = new PrometheusMetrics();
    const dropped = async (): Promise<number> =>
      Number(/^dockop_log_lines_dropped_total (\d+)$/m.exec(await m.metrics())?.[1]);
    const before = await dropped();
    expect(before).to.equal(logLinesDropped());
    const out = new MemoryLogStream();
    const log = createLogger({ format: 'json', stream: out.writable });
    log.info('m.kept');
    out.writable.end();
    log.info('m.dropped');
    log.warn('m.dropped');
    expect(await dropped()).to.equal(before + 2);
    expect(await dropped()).to.equal(before + 2);
  });

  it('records controller hooks with controller/result labels, zero series from the start', async () => {
    const m = new PrometheusMetrics();
    const c = m.forController('plan');
    let text = await m.metrics();
    expect(text).to.contain(
      'controller_runtime_reconcile_total{controller="plan",result="requeue_after"} 0',
    );
    c.reconciled('success', 0.2);
    c.reconciled('error', 0.1);
    c.error();
    c.maxConcurrentReconciles(3);
    c.activeWorkers(1);
    c.activeWorkers(1);
    c.activeWorkers(-1);
    text = await m.metrics();
    expect(text).to.contain(
      'controller_runtime_reconcile_total{controller="plan",result="success"} 1',
    );
    expect(text).to.contain(
      'controller_runtime_reconcile_total{controller="plan",result="error"} 1',
    );
    expect(text).to.contain('controller_runtime_reconcile_errors_total{controller="plan"} 1');
    expect(text).to.contain('controller_runtime_reconcile_time_seconds_count{controller="plan"} 2');
    expect(text).to.contain('controller_runtime_max_concurrent_reconciles{controller="plan"} 3');
    expect(text).to.contain('controller_runtime_active_workers{controller="plan"} 1');
  });

  it('records queue hooks and reads the in-flight probes at scrape time', async () => {
    const m = new PrometheusMetrics();
    let unfinished = 0;
    const q = m.forQueue('plan', {
      unfinishedWorkSeconds: () => unfinished,
      longestRunningProcessorSeconds: () => unfinished / 2,
    });
    q.add();
    q.add();
    q.depth(2);
    q.queueDuration(0.5);
    q.workDuration(1.5);
    q.retry();
    unfinished = 4;
    const text = await m.metrics();
    expect(text).to.contain('workqueue_adds_total{name="plan"} 2');
    expect(text).to.contain('workqueue_depth{name="plan"} 2');
    expect(text).to.contain('workqueue_queue_duration_seconds_count{name="plan"} 1');
    expect(text).to.contain('workqueue_work_duration_seconds_sum{name="plan"} 1.5');
    expect(text).to.contain('workqueue_retries_total{name="plan"} 1');
    expect(text).to.contain('workqueue_unfinished_work_seconds{name="plan"} 4');
    expect(text).to.contain('workqueue_longest_running_processor_seconds{name="plan"} 2');
  });

  it('exposes queue histograms exactly as a prom-client histogram would', async () => {
    const m = new PrometheusMetrics();
    const reference = new Registry();
    const buckets = Array.from({ length: 10 }, (_, i) => 1e-8 * Math.pow(10, i));
    const ref = (name: string): Histogram<'name'> =>
      new Histogram({ name, help: 'x', labelNames: ['name'], buckets, registers: [reference] });
    const refQueue = ref('workqueue_queue_duration_seconds');
    const refWork = ref('workqueue_work_duration_seconds');
    const probe = { unfinishedWorkSeconds: () => 0, longestRunningProcessorSeconds: () => 0 };
    const plan = m.forQueue('plan', probe);
    const other = m.forQueue('other', probe);
    const samples = [0, 1e-8, 2e-8, 1e-7, 0.003, 0.5, 1, 9.99, 10, 11, 1e9];
    for (const v of samples) {
      plan.queueDuration(v);
      refQueue.observe({ name: 'plan' }, v);
      plan.workDuration(v * 3);
      refWork.observe({ name: 'plan' }, v * 3);
    }
    other.workDuration(0.2);
    refWork.observe({ name: 'other' }, 0.2);
    const lines = (text: string, prefix: string): string[] =>
      text.split('\n').filter((l) => l.startsWith(prefix));
    const ours = await m.metrics();
    const theirs = await reference.metrics();
    for (const name of ['workqueue_queue_duration_seconds', 'workqueue_work_duration_seconds']) {
      const expected = lines(theirs, name);
      expect(expected.length).to.be.greaterThan(10);
      expect(lines(ours, name)).to.deep.equal(expected);
    }
    expect(() => plan.queueDuration(Number.NaN)).to.throw(TypeError);
    for (const h of [m.queueLatency, m.workDuration]) {
      expect(m.registry.getSingleMetric(h.name)).to.equal(h);
      expect(h.labelNames).to.deep.equal(['name']);
    }
  });

  it('exports counter totals once across scrapes and continues them for a re-created queue', async () => {
    const m = new PrometheusMetrics();
    const probe = { unfinishedWorkSeconds: () => 0, longestRunningProcessorSeconds: () => 0 };
    const first = m.forQueue('plan', probe);
    first.add();
    first.retry();
    first.depth(3);
    expect(await m.metrics()).to.contain('workqueue_adds_total{name="plan"} 1');
    first.add();
    let text = await m.metrics();
    expect(text).to.contain('workqueue_adds_total{name="plan"} 2');
    expect(text).to.contain('workqueue_retries_total{name="plan"} 1');
    const second = m.forQueue('plan', { ...probe, unfinishedWorkSeconds: () => 7 });
    second.add();
    text = await m.metrics();
    expect(text).to.contain('workqueue_adds_total{name="plan"} 3');
    expect(text).to.contain('workqueue_depth{name="plan"} 0');
    expect(text).to.contain('workqueue_unfinished_work_seconds{name="plan"} 7');
    second.queueDuration(1);
    m.registry.resetMetrics();
    second.add();
    text = await m.metrics();
    expect(text).to.contain('workqueue_adds_total{name="plan"} 1');
    expect(text).not.to.contain('workqueue_queue_duration_seconds_count{name="plan"}');
  });

  it('exposes reconcile totals, errors, active workers and times exactly as prom-client metrics would', async () => {
    const m = new PrometheusMetrics();
    const reference = new Registry();
    const registers = [reference];
    // The metrics as they were written before they moved to plain numbers (issue #13).
    const total = new Counter({
      name: 'controller_runtime_reconcile_total',
      help: 'Total number of reconciliations per controller',
      labelNames: ['controller', 'result'],
      registers,
    });
    const errors = new Counter({
      name: 'controller_runtime_reconcile_errors_total',
      help: 'Total number of reconciliation errors per controller',
      labelNames: ['controller'],
      registers,
    });
    const time = new Histogram({
      name: 'controller_runtime_reconcile_time_seconds',
      help: 'Length of time per reconciliation per controller',
      labelNames: ['controller'],
      buckets: [
        0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8,
        0.9, 1, 1.25, 1.5, 1.75, 2, 2.5, 3, 3.5, 4, 4.5, 5, 6, 7, 8, 9, 10, 15, 20, 25, 30, 40, 50,
        60,
      ],
      registers,
    });
    const active = new Gauge({
      name: 'controller_runtime_active_workers',
      help: 'Number of currently used workers per controller',
      labelNames: ['controller'],
      registers,
    });
    const results = ['success', 'error', 'requeue', 'requeue_after'] as const;
    const ref = {
      start(controller: string): void {
        for (const result of results) total.inc({ controller, result }, 0);
        errors.inc({ controller }, 0);
        active.set({ controller }, 0);
      },
      reconciled(controller: string, result: (typeof results)[number], s: number): void {
        total.inc({ controller, result });
        time.observe({ controller }, s);
      },
    };
    const plan = m.forController('plan');
    ref.start('plan');
    const other = m.forController('other');
    ref.start('other');
    const lines = (text: string, prefix: string): string[] =>
      text.split('\n').filter((l) => l.startsWith(prefix));
    const same = async (): Promise<void> => {
      const ours = await m.metrics();
      const theirs = await reference.metrics();
      for (const name of [
        'controller_runtime_reconcile_total',
        'controller_runtime_reconcile_errors_total',
        'controller_runtime_reconcile_time_seconds',
        'controller_runtime_active_workers',
      ]) {
        expect(lines(ours, name), name).to.deep.equal(lines(theirs, name));
      }
    };
    await same();
    const samples = [0, 0.004, 0.005, 0.3, 1, 59.9, 60, 61, 1e6];
    samples.forEach((v, i) => {
      const result = results[i % results.length]!;
      plan.reconciled(result, v);
      ref.reconciled('plan', result, v);
    });
    plan.error();
    errors.inc({ controller: 'plan' });
    plan.activeWorkers(1);
    plan.activeWorkers(1);
    active.inc({ controller: 'plan' }, 2);
    other.reconciled('success', 0.02);
    ref.reconciled('other', 'success', 0.02);
    await same();
    expect(lines(await m.metrics(), 'controller_runtime_reconcile_time_seconds').length).to.equal(
      2 * (40 + 3),
    );
    // Increments are handed over once: a second scrape shows the same totals.
    plan.activeWorkers(-1);
    active.dec({ controller: 'plan' });
    await same();
    expect(() => plan.reconciled('success', Number.NaN)).to.throw(TypeError);
    expect(m.registry.getSingleMetric(m.reconcileTime.name)).to.equal(m.reconcileTime);
    expect(m.reconcileTime.labelNames).to.deep.equal(['controller']);
  });

  it('controller totals continue for a re-created controller; a reset drops series until used', async () => {
    const m = new PrometheusMetrics();
    const first = m.forController('plan');
    first.reconciled('success', 0.1);
    first.activeWorkers(1);
    expect(await m.metrics()).to.contain(
      'controller_runtime_reconcile_total{controller="plan",result="success"} 1',
    );
    const second = m.forController('plan');
    second.reconciled('success', 0.1);
    let text = await m.metrics();
    expect(text).to.contain(
      'controller_runtime_reconcile_total{controller="plan",result="success"} 2',
    );
    expect(text).to.contain('controller_runtime_reconcile_time_seconds_count{controller="plan"} 2');
    expect(text).to.contain('controller_runtime_active_workers{controller="plan"} 0');
    m.registry.resetMetrics();
    second.reconciled('error', 0.1);
    second.error();
    text = await m.metrics();
    expect(text).to.contain(
      'controller_runtime_reconcile_total{controller="plan",result="error"} 1',
    );
    expect(text).to.contain('controller_runtime_reconcile_errors_total{controller="plan"} 1');
    expect(text).to.contain('controller_runtime_reconcile_time_seconds_count{controller="plan"} 1');
    // As with prom-client counters: a reset series comes back with its next increment only.
    expect(text).not.to.contain('result="success"');
  });

  it('shares its registry with metrics of other packages', async () => {
    const registry = new Registry();
    const m = new PrometheusMetrics(registry);
    new Counter({ name: 'backrest_sidecar_plans_total', help: 'x', registers: [registry] }).inc(3);
    expect(await m.metrics()).to.contain('backrest_sidecar_plans_total 3');
  });
});
