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
