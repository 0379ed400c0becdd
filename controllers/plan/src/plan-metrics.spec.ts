import { expect } from 'chai';
import { CacheReasons, PrometheusMetrics } from '@dockop/runtime';
import { PlanMetrics } from './plan-metrics.js';
import type { PlanEntry, ReconcileSummary } from './plan-report.js';

function summary(entries: Partial<PlanEntry>[], fatal = false): ReconcileSummary {
  return {
    config: '/c.json',
    dryRun: false,
    seen: entries.length,
    entries: entries.map((e, i) => ({
      planId: `p${i}`,
      container: `c${i}`,
      state: 'Ready',
      reason: '',
      message: '',
      changed: false,
      ...e,
    })),
    changed: false,
    written: false,
    diff: '',
    after: '',
    ...(fatal ? { fatal: { code: 'X', message: 'y' } } : {}),
    finishedAt: '2026-01-01T00:00:00Z',
  };
}

describe('PlanMetrics', () => {
  it('counts managed, skipped, invalid and orphaned plans; a skipped or invalid one is never managed', async () => {
    const { registry } = new PrometheusMetrics();
    const m = new PlanMetrics(registry);
    m.observe(
      summary([
        { state: 'Ready' },
        { state: 'Ready' },
        { state: 'Skipped', reason: 'IdCollision' },
        { state: 'Skipped', reason: CacheReasons.InvalidSpec },
        { state: 'Orphaned' },
      ]),
    );
    const text = await registry.metrics();
    expect(text).to.contain('backrest_sidecar_plans{state="managed"} 2');
    expect(text).to.contain('backrest_sidecar_plans{state="skipped"} 1');
    expect(text).to.contain('backrest_sidecar_plans{state="invalid"} 1');
    expect(text).to.contain('backrest_sidecar_plans{state="orphaned"} 1');
    // A fatal reconcile decided nothing: the last counts stay.
    m.observe(summary([], true));
    expect(await registry.metrics()).to.contain('backrest_sidecar_plans{state="managed"} 2');
    // One registry, one gauge: a second instance reuses it.
    expect(() => new PlanMetrics(registry)).to.not.throw();
  });
});
