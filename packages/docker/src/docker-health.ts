import { inject, injectable } from 'inversify';
import type { HealthCheck } from '@dockop/runtime';
import { DockerSource } from './docker-source.js';

/**
 * `/readyz`: the first full list was delivered and the events stream is connected (without
 * `watchEvents`: the last relist succeeded).
 */
@injectable()
export class DockerReadinessCheck implements HealthCheck {
  readonly name = 'docker-source';
  readonly kind = 'readiness' as const;

  constructor(@inject(DockerSource) private readonly source: DockerSource) {}

  check(): boolean | string {
    if (!this.source.hasSynced()) return false;
    if (!this.source.healthy()) return false;
    return this.source.informer.watchEvents
      ? 'synced, events stream connected'
      : 'synced, last relist succeeded';
  }
}

/**
 * `/healthz`: the events stream is connected (without `watchEvents`: the last relist succeeded),
 * or was lost less than `livenessGraceMs` ago (the informer is reconnecting or relisting again;
 * restarting us would not bring the engine back sooner).
 */
@injectable()
export class DockerLivenessCheck implements HealthCheck {
  readonly name = 'docker-events';
  readonly kind = 'liveness' as const;

  constructor(@inject(DockerSource) private readonly source: DockerSource) {}

  check(): boolean | string {
    const events = this.source.informer.watchEvents;
    if (this.source.healthy()) return events ? 'events stream connected' : 'last relist succeeded';
    if (!this.source.live()) return false;
    return events ? 'events stream reconnecting' : 'relist failing, retrying';
  }
}
