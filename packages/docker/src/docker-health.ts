import { inject, injectable } from 'inversify';
import type { HealthCheck } from '@dockop/runtime';
import { DockerSource } from './docker-source.js';

/** `/readyz`: the first full list was delivered and the events stream is connected. */
@injectable()
export class DockerReadinessCheck implements HealthCheck {
  readonly name = 'docker-source';
  readonly kind = 'readiness' as const;

  constructor(@inject(DockerSource) private readonly source: DockerSource) {}

  check(): boolean | string {
    if (!this.source.hasSynced()) return false;
    if (!this.source.healthy()) return false;
    return 'synced, events stream connected';
  }
}

/**
 * `/healthz`: the events stream is connected, or was lost less than `livenessGraceMs` ago (the
 * informer is reconnecting; restarting us would not bring the engine back sooner).
 */
@injectable()
export class DockerLivenessCheck implements HealthCheck {
  readonly name = 'docker-events';
  readonly kind = 'liveness' as const;

  constructor(@inject(DockerSource) private readonly source: DockerSource) {}

  check(): boolean | string {
    if (this.source.healthy()) return 'events stream connected';
    return this.source.live() ? 'events stream reconnecting' : false;
  }
}
