import { registeredCounter, registeredGauge, type MetricsRegistry } from '@dockop/runtime';
import type { Counter, Gauge } from 'prom-client';

/**
 * `backrest_sidecar_apply_deferred{container}`: 1 while a restart waits for Backrest to be idle.
 * `backrest_sidecar_apply_total{container,outcome}`: applies by outcome (applied, deferred,
 * not-running, failed, skipped).
 */
export class ApplyMetrics {
  readonly deferred: Gauge<'container'>;
  readonly applies: Counter<'container' | 'outcome'>;

  constructor(registry?: MetricsRegistry) {
    this.deferred = registeredGauge(registry, {
      name: 'backrest_sidecar_apply_deferred',
      help: '1 while a Backrest restart is deferred because Backrest is running an operation',
      labelNames: ['container'],
    });
    this.applies = registeredCounter(registry, {
      name: 'backrest_sidecar_apply_total',
      help: 'Config applies by outcome',
      labelNames: ['container', 'outcome'],
    });
  }
}
