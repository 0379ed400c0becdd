// Public API of @backrest-sidecar/backrest-model: what a Backrest plan is, independent of any file
// or API: the format-neutral PlanSpec, Backrest's cron dialect and the backrest.keep grammar.
// A leaf: the API package (label formats, staleness) and the config sink (rendering) both read it.
export * from './plan-spec.js';
export * from './cron.js';
export * from './keep-spec.js';
