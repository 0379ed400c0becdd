// The Grafana dashboard in deploy/grafana queries only metrics the manager exports: the
// controller-runtime names (so existing dashboards work) and the Docker source's own counters.
import { BackupMetrics, VerifyMetrics } from '@backrest-sidecar/controller-backup';
import { ApplyMetrics, PlanMetrics } from '@backrest-sidecar/controller-plan';
import { RetentionMetrics } from '@backrest-sidecar/controller-retention';
import { PromDockerMetrics } from '@dockop/docker';
import { PrometheusMetrics } from '@dockop/runtime';
import { expect } from 'chai';
import { readFileSync } from 'node:fs';

const dashboardUrl = new URL('../../deploy/grafana/dockop-dashboard.json', import.meta.url);

/** Every metric name a dashboard may query (DESIGN.md "Metrics", docker source counters). */
const EXPORTED = [
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
  'dockop_docker_events_total',
  'dockop_docker_reconnects_total',
  'dockop_docker_resyncs_total',
  'backrest_sidecar_workload_last_success_timestamp_seconds',
  'backrest_sidecar_workload_snapshots',
  'backrest_sidecar_workload_stale',
  'backrest_sidecar_uncovered_volumes',
  'backrest_sidecar_plans',
] as const;

/** Every metric class the daemon registers, on one registry, as the manager wires them. */
function registeredMetrics(): PrometheusMetrics {
  const runtime = new PrometheusMetrics();
  new PromDockerMetrics(runtime.registry);
  new BackupMetrics(runtime.registry);
  new PlanMetrics(runtime.registry);
  new ApplyMetrics(runtime.registry);
  // The restore-drill gauge (daemon --verify-schedule).
  new VerifyMetrics(runtime.registry);
  // The retention controller's gauges (daemon).
  new RetentionMetrics(runtime.registry);
  return runtime;
}
/** The histograms: Prometheus exposes them as _bucket, _sum and _count series. */
const HISTOGRAMS = new Set<string>([
  'controller_runtime_reconcile_time_seconds',
  'workqueue_queue_duration_seconds',
  'workqueue_work_duration_seconds',
]);

const KEYWORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'offset',
  'and',
  'or',
  'unless',
  'inf',
  'nan',
]);

/**
 * Metric names in a PromQL expression: identifiers that are not function calls, keywords,
 * grouping labels, label matchers, ranges, strings or Grafana variables.
 */
function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""') // string literals (label values, regexes)
    .replace(/\{[^}]*\}/g, ' ') // label matchers
    .replace(/\[[^\]]*\]/g, ' ') // range and subquery selectors
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ') // label lists
    .replace(/\$\{?[A-Za-z_][A-Za-z0-9_]*\}?/g, ' '); // Grafana variables
  const names: string[] = [];
  const re = /[A-Za-z_:][A-Za-z0-9_:]*/g;
  for (let m = re.exec(stripped); m !== null; m = re.exec(stripped)) {
    const word = m[0];
    const before = stripped[m.index - 1];
    if (before !== undefined && /[0-9.]/.test(before)) continue; // 1e3, 0.95 exponent parts
    const rest = stripped.slice(m.index + word.length);
    if (/^\s*\(/.test(rest)) continue; // a function call
    if (KEYWORDS.has(word.toLowerCase())) continue;
    names.push(word);
  }
  return names;
}

/** `label_values(metric{...}, label)`: the metric is the first argument. */
function templatingMetric(query: string): string[] {
  const m = /^\s*label_values\(\s*([A-Za-z_:][A-Za-z0-9_:]*)/.exec(query);
  if (m?.[1] !== undefined) return [m[1]];
  if (/^\s*label_values\(/.test(query)) return []; // label_values(label): no metric
  return metricNames(query);
}

/** The exported name a series belongs to (histogram suffixes mapped to their histogram). */
function baseName(series: string): string {
  const m = /^(.*)_(bucket|sum|count)$/.exec(series);
  if (m?.[1] !== undefined && HISTOGRAMS.has(m[1])) return m[1];
  return series;
}

interface Target {
  expr?: string;
}
interface Panel {
  title?: string;
  type?: string;
  targets?: Target[];
  panels?: Panel[];
}
interface Dashboard {
  uid?: string;
  title?: string;
  panels?: Panel[];
  templating?: { list?: { name: string; type: string; query?: string | { query?: string } }[] };
}

function allPanels(panels: Panel[] | undefined): Panel[] {
  return (panels ?? []).flatMap((p) => [p, ...allPanels(p.panels)]);
}

describe('deploy: Grafana dashboard', () => {
  const dashboard = JSON.parse(readFileSync(dashboardUrl, 'utf8')) as Dashboard;
  const queries: { where: string; metrics: string[] }[] = [];
  for (const panel of allPanels(dashboard.panels)) {
    for (const t of panel.targets ?? []) {
      if (t.expr !== undefined)
        queries.push({ where: `panel "${panel.title}"`, metrics: metricNames(t.expr) });
    }
  }
  for (const v of dashboard.templating?.list ?? []) {
    if (v.type !== 'query') continue;
    const q = typeof v.query === 'string' ? v.query : (v.query?.query ?? '');
    queries.push({ where: `variable $${v.name}`, metrics: templatingMetric(q) });
  }

  it('finds a foreign metric in an expression (the extractor can fail)', () => {
    expect(
      metricNames('sum by (job) (rate(http_requests_total{code=~"5.."}[5m])) / 1e3'),
    ).to.deep.equal(['http_requests_total']);
    expect(
      metricNames(
        'histogram_quantile(0.95, sum by (le) (rate(a_seconds_bucket[$__rate_interval]))) > bool 0.5',
      ),
    ).to.deep.equal(['a_seconds_bucket']);
    expect(metricNames('a_total offset 5m unless on (instance) b_total')).to.deep.equal([
      'a_total',
      'b_total',
    ]);
  });

  it('has a uid, a title and at least one query per panel', () => {
    expect(dashboard.uid).to.be.a('string').and.not.equal('');
    expect(dashboard.title).to.be.a('string').and.not.equal('');
    const graphs = allPanels(dashboard.panels).filter((p) => p.type !== 'row');
    expect(graphs).to.not.be.empty;
    for (const p of graphs) expect(p.targets ?? [], `panel "${p.title}"`).to.not.be.empty;
  });

  it('queries only exported metric names', () => {
    const exported = new Set<string>(EXPORTED);
    const unknown = queries.flatMap((q) =>
      q.metrics.filter((m) => !exported.has(baseName(m))).map((m) => `${q.where}: ${m}`),
    );
    expect(unknown, 'metrics the manager does not export').to.deep.equal([]);
    // Histogram suffixes only on histograms: `workqueue_depth_count` is not a series.
    const misSuffixed = queries.flatMap((q) =>
      q.metrics.filter((m) => /_(bucket|sum|count)$/.test(m) && !HISTOGRAMS.has(baseName(m))),
    );
    expect(misSuffixed).to.deep.equal([]);
  });

  it('shows every exported metric somewhere', () => {
    const used = new Set(queries.flatMap((q) => q.metrics.map(baseName)));
    expect(
      EXPORTED.filter((m) => !used.has(m)),
      'exported metrics without a panel',
    ).to.deep.equal([]);
  });

  it('matches what the runtime and the Docker source register: names and grouping labels', () => {
    // The real metric classes on one registry, as the manager wires them.
    const runtime = registeredMetrics();
    const registered = new Map<string, string[]>();
    for (const m of runtime.registry.getMetricsAsArray()) {
      const labelNames = (m as unknown as { labelNames?: string[] }).labelNames ?? [];
      registered.set((m as unknown as { name: string }).name, labelNames);
    }
    expect(
      EXPORTED.filter((m) => !registered.has(m)),
      'not registered by the code',
    ).to.deep.equal([]);

    // `by (...)` may only name labels the metric has (plus Prometheus' target labels and `le`).
    const problems: string[] = [];
    for (const panel of allPanels(dashboard.panels)) {
      for (const t of panel.targets ?? []) {
        const expr = t.expr ?? '';
        const groups = [...expr.matchAll(/\bby\s*\(([^)]*)\)/g)].flatMap((g) =>
          (g[1] ?? '')
            .split(',')
            .map((l) => l.trim())
            .filter(Boolean),
        );
        for (const metric of metricNames(expr)) {
          const base = baseName(metric);
          const labels = new Set([...(registered.get(base) ?? []), 'instance', 'job']);
          if (HISTOGRAMS.has(base)) labels.add('le');
          for (const g of groups) {
            if (!labels.has(g))
              problems.push(`panel "${panel.title}": ${base} has no label "${g}"`);
          }
        }
      }
    }
    expect(problems).to.deep.equal([]);
  });

  it('docs/deploy.md lists every metric the code registers, with its labels', () => {
    const runtime = registeredMetrics();
    const doc = readFileSync(new URL('../../docs/deploy.md', import.meta.url), 'utf8');
    const rows = doc.split('\n').filter((l) => l.startsWith('| `'));
    const missing: string[] = [];
    for (const m of runtime.registry.getMetricsAsArray()) {
      const { name, labelNames = [] } = m as unknown as { name: string; labelNames?: string[] };
      const row = rows.find((r) => r.includes(`\`${name}\``));
      if (!row) missing.push(name);
      else for (const l of labelNames) if (!row.includes(`\`${l}\``)) missing.push(`${name}{${l}}`);
    }
    expect(missing, 'metrics or labels missing from docs/deploy.md').to.deep.equal([]);
  });

  it('reads p50 and p95 from each histogram', () => {
    const exprs = allPanels(dashboard.panels).flatMap((p) =>
      (p.targets ?? []).map((t) => t.expr ?? ''),
    );
    for (const h of HISTOGRAMS) {
      for (const q of ['0.5', '0.95']) {
        const found = exprs.some(
          (e) => e.includes(`histogram_quantile(${q},`) && e.includes(`${h}_bucket`),
        );
        expect(found, `histogram_quantile(${q}, ... ${h}_bucket ...)`).to.equal(true);
      }
    }
  });
});
