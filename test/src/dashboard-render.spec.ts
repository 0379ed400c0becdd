// scripts/dashboard/promql-lite.js, which draws docs/img/dashboard.png from real scrapes
// (scripts/render-dashboard.mjs): every query of the Grafana dashboard must parse, and rate,
// increase, aggregation, histogram_quantile and the binary operators give Prometheus' figures.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}
interface Scrape {
  t: number;
  samples: Sample[];
}
interface Series {
  labels: Record<string, string>;
  points: [number, number][];
}
interface PromqlLite {
  parseExposition(text: string): Sample[];
  parse(query: string): unknown;
  evalRange(query: string, scrapes: Scrape[]): Series[];
}

const lite = (await import(
  new URL('../../scripts/dashboard/promql-lite.js', import.meta.url).href
)) as PromqlLite;

const dashboard = JSON.parse(
  readFileSync(new URL('../../deploy/grafana/dockop-dashboard.json', import.meta.url), 'utf8'),
) as { panels: { title: string; targets?: { expr: string }[] }[] };

/** Three scrapes 10 s apart of a counter, a gauge and a histogram, in the exposition format. */
function scrapes(): Scrape[] {
  const text = (n: number) => `# HELP x
controller_runtime_reconcile_total{controller="plan",result="success"} ${10 + 5 * n}
controller_runtime_reconcile_total{controller="backup",result="success"} ${2 * n}
workqueue_depth{name="plan"} ${n}
controller_runtime_reconcile_time_seconds_bucket{controller="plan",le="0.1"} ${10 * n}
controller_runtime_reconcile_time_seconds_bucket{controller="plan",le="1"} ${20 * n}
controller_runtime_reconcile_time_seconds_bucket{controller="plan",le="+Inf"} ${20 * n}
controller_runtime_reconcile_time_seconds_sum{controller="plan"} ${4 * n}
controller_runtime_reconcile_time_seconds_count{controller="plan"} ${20 * n}
backrest_sidecar_workload_last_success_timestamp_seconds{workload="db"} 1000
`;
  return [0, 1, 2].map((n) => ({ t: 1000 + 10 * n, samples: lite.parseExposition(text(n)) }));
}

describe('promql-lite (the dashboard picture evaluator)', () => {
  it('parses every query of deploy/grafana/dockop-dashboard.json', () => {
    const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
    expect(exprs.length).to.be.at.least(20);
    for (const e of exprs) expect(() => lite.parse(e), e).to.not.throw();
  });

  it('rate, sum by, histogram_quantile, a ratio and time() - x give Prometheus figures', () => {
    const s = scrapes();
    const rate = lite.evalRange(
      'sum by (controller) (rate(controller_runtime_reconcile_total{controller=~"$controller"}[$__rate_interval]))',
      s,
    );
    const byController = Object.fromEntries(rate.map((r) => [r.labels.controller, r.points]));
    // The first scrape has no earlier sample: no value (as Prometheus).
    expect(byController.plan).to.deep.equal([
      [1010, 0.5],
      [1020, 0.5],
    ]);
    expect(byController.backup).to.deep.equal([
      [1010, 0.2],
      [1020, 0.2],
    ]);
    const p50 = lite.evalRange(
      'histogram_quantile(0.5, sum by (le, controller) (rate(controller_runtime_reconcile_time_seconds_bucket[1m])))',
      s,
    );
    // Half the observations are ≤ 0.1 s: the median is the top of that bucket.
    expect(p50[0]!.points.map((p) => p[1])).to.deep.equal([0.1, 0.1]);
    const p75 = lite.evalRange(
      'histogram_quantile(0.75, sum by (le) (rate(controller_runtime_reconcile_time_seconds_bucket[1m])))',
      s,
    );
    expect(p75[0]!.points[0]![1]).to.be.closeTo(0.55, 1e-9); // halfway through (0.1, 1]
    const mean = lite.evalRange(
      'sum by (controller) (rate(controller_runtime_reconcile_time_seconds_sum[1m])) / sum by (controller) (rate(controller_runtime_reconcile_time_seconds_count[1m]))',
      s,
    );
    expect(mean[0]!.points.map((p) => p[1])).to.deep.equal([0.2, 0.2]);
    const age = lite.evalRange(
      'max by (workload) (time() - backrest_sidecar_workload_last_success_timestamp_seconds)',
      s,
    );
    expect(age[0]).to.deep.equal({
      labels: { workload: 'db' },
      points: [
        [1000, 0],
        [1010, 10],
        [1020, 20],
      ],
    });
    const inc = lite.evalRange('sum(increase(controller_runtime_reconcile_total[1h]))', s);
    expect(inc[0]!.points.map((p) => p[1])).to.deep.equal([7, 14]);
  });
});
