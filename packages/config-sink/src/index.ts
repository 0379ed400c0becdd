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
export * from './cron.js';
export * from './line-diff.js';
export * from './schemas.js';
export * from './keep-spec.js';
