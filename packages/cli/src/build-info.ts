/** What `backrest-sidecar version` prints. The bundler stamps it; the tsc output says "dev". */
export interface BuildInfo {
  version: string;
  /** Short git commit the bundle was built from, or "unknown". */
  commit: string;
  /** ISO 8601 UTC build time (SOURCE_DATE_EPOCH when set), or "unknown". */
  date: string;
}

declare const __DOCKOP_BUILD_INFO__: BuildInfo | undefined;

export function buildInfo(fallbackVersion: string): BuildInfo {
  return typeof __DOCKOP_BUILD_INFO__ !== 'undefined'
    ? __DOCKOP_BUILD_INFO__
    : { version: fallbackVersion, commit: 'unknown (not bundled)', date: 'unknown' };
}
