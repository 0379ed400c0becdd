// A kind without an enable label (any `job.*` label selects), shared by the source/tracker specs.
import type { ResourceDefinition } from '@dockop/runtime';

export const job: ResourceDefinition = {
  group: 'jobs.example.io',
  version: 'v1',
  kind: 'Job',
  plural: 'jobs',
  selector: { prefixes: ['job.'] },
  schemaId: 'job',
};
