// Public API of @dockop/runtime. reflect-metadata must be loaded before inversify decorators run.
import 'reflect-metadata';

export * from './resource.js';
export * from './resource-definition.js';
export * from './source.js';
export * from './cache.js';
export * from './clock.js';
export * from './conditions.js';
export * from './event-recorder.js';
export * from './logger.js';
export * from './lifecycle.js';
export * from './reconciler.js';
export * from './controller-contribution.js';
export * from './virtual-clock.js';
export * from './system-clock.js';
export * from './rate-limiter.js';
export * from './workqueue.js';
export * from './schema-registry.js';
export * from './resource-cache.js';
export * from './in-memory-source.js';
export * from './redactor.js';
export * from './child-env.js';
export * from './metrics.js';
export * from './controller.js';
export * from './health.js';
export * from './http-server.js';
export * from './leader-election.js';
export * from './manager.js';
