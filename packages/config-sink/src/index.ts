// Public API of @backrest-sidecar/config-sink: the Backrest config file, both formats.
export * from './plan-spec.js';
export * from './config-error.js';
export * from './config-sink-options.js';
export * from './config-sink.js';
export * from './apply-changes.js';
export * from './render-config.js';
export * from './validate-config.js';
export * from './assert-loadable.js';
export * from './backrest-plan.js';
export * from './sidecar-plan.js';
export * from './detect-format.js';
export * from './backrest-instance.js';
export * from './go-template.js';
export * from './line-diff.js';
export * from './config-secrets.js';
export * from './schemas.js';
// Backrest's cron dialect and the keep grammar moved to @backrest-sidecar/backrest-model;
// re-exported so this package's API is unchanged.
export * from '@backrest-sidecar/backrest-model';
