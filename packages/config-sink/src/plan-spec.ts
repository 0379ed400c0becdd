import type { PlanSpec } from '@backrest-sidecar/backrest-model';

// PlanSpec lives in @backrest-sidecar/backrest-model (the API package reads it too, and must not
// depend on the sink); re-exported so this package's API is unchanged.
export type { PlanSpec } from '@backrest-sidecar/backrest-model';

/** The two on-disk shapes: the seed's file model, and Backrest's native protojson. */
export type ConfigFormat = 'sidecar' | 'backrest';

/** Plans to upsert (by id) and plan ids to remove, applied in one commit. */
export interface PlanChanges {
  upsert: PlanSpec[];
  /** Plan ids. Removing an id that is not present is a no-op. */
  remove: string[];
}
