// Public API of @dockop/docker: Docker as the API server (informer, label resources, actions).
import 'reflect-metadata';

export * from './docker-connection.js';
export * from './docker-metrics.js';
export * from './docker-client.js';
export * from './engine-host-name.js';
export * from './create-container.js';
export * from './line-buffer.js';
export * from './event-stream.js';
// Backoff moved to @dockop/runtime (one backoff for the project); re-exported unchanged.
export { Backoff, BACKOFF_DEFAULTS, type BackoffOptions } from '@dockop/runtime';
export * from './label-decoder.js';
export * from './label-filter.js';
export * from './container-resource.js';
export * from './container-resource-tracker.js';
export * from './image-label-trust.js';
export * from './container-informer.js';
export * from './early-container-list.js';
export * from './docker-source.js';
export * from './docker-health.js';
export * from './container-actions.js';
export * from './container-exec.js';
export * from './docker-module.js';
export * from './volume-actions.js';
