import { expect } from 'chai';
import { Registry } from 'prom-client';
import { registeredCounter, registeredGauge, registeredHistogram } from './registered-metric.js';

describe('registered metrics', () => {
  it('a second instance on the same registry updates the served series, not a private copy', async () => {
    const registry = new Registry();
    const config = { name: 'test_gauge', help: 'h', labelNames: ['w'] as const };
    const first = registeredGauge(registry, config);
    const second = registeredGauge(registry, config);
    second.set({ w: 'a' }, 7);
    expect(second).to.equal(first);
    expect(await registry.getSingleMetricAsString('test_gauge')).to.contain('test_gauge{w="a"} 7');
  });

  it('counters and histograms are registered once and served', async () => {
    const registry = new Registry();
    registeredCounter(registry, { name: 'test_total', help: 'h' }).inc();
    registeredCounter(registry, { name: 'test_total', help: 'h' }).inc();
    const h = registeredHistogram(registry, { name: 'test_seconds', help: 'h', buckets: [1] });
    h.observe(0.5);
    const text = await registry.metrics();
    expect(text).to.contain('test_total 2');
    expect(text).to.contain('test_seconds_bucket{le="1"} 1');
  });

  it('without a registry the metric is private and works', async () => {
    const g = registeredGauge(undefined, { name: 'test_private', help: 'h' });
    g.set(3);
    expect((await g.get()).values[0]?.value).to.equal(3);
  });
});
