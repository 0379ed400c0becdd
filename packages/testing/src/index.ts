// Public API of @dockop/testing: unit-test a plugin on virtual time against a fake Docker, then
// run the same plugin against the real local engine.
import 'reflect-metadata';

export * from './fake-container.js';
export * from './fake-docker-source.js';
export * from './test-manager.js';
export * from './real-engine.js';
