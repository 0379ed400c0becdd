/** Format-neutral desired plan (the seed's shape). */
export interface PlanSpec {
  id: string;
  repo: string;
  /** 5-field cron, as Backrest's parser accepts it (see cron.ts). */
  schedule: string;
  sources: string[];
  exclude: string[];
  /**
   * `dump`: commands that write a database dump before the snapshot (`backrest.dump`); they run
   * before `pre` and a failing one fails the backup (Backrest `ON_ERROR_FATAL`). Default none.
   */
  hooks: { pre: string[]; post: string[]; dump?: string[] };
  /**
   * `spec`: raw backrest.keep grammar, e.g. "daily=7,weekly=4" or "within=90d,last=3".
   * `defaulted`: true when no `backrest.keep` label set it (it is `--default-retention`): then a
   * plan already in the file keeps the retention it has there (an operator's hand edit wins) and
   * only a new plan gets the default. Default false: the spec is written.
   */
  retention: { spec: string; defaulted?: boolean };
}
