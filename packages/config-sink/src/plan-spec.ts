/** Format-neutral desired plan (the seed's shape). */
export interface PlanSpec {
  id: string;
  repo: string;
  /** 5-field cron, as Backrest's parser accepts it (see cron.ts). */
  schedule: string;
  sources: string[];
  exclude: string[];
  hooks: { pre: string[]; post: string[] };
  /** Raw backrest.keep grammar, e.g. "daily=7,weekly=4" or "within=90d,last=3". */
  retention: { spec: string };
}

/** The two on-disk shapes: the seed's file model, and Backrest's native protojson. */
export type ConfigFormat = 'sidecar' | 'backrest';

/** Plans to upsert (by id) and plan ids to remove, applied in one commit. */
export interface PlanChanges {
  upsert: PlanSpec[];
  /** Plan ids. Removing an id that is not present is a no-op. */
  remove: string[];
}
