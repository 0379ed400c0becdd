/**
 * Pure synthesis of Backrest plans from BackupWorkloads: labels + mounts → `PlanSpec`. No I/O, no
 * clock: everything it needs is in its arguments, so it is unit-tested exhaustively.
 *
 * Invariants:
 * - every workload yields exactly one outcome: a plan, or a skip with a reason and a message that
 *   names the container (and the label/value when one is at fault);
 * - ids are deterministic (`planIdFor`); replicas of one Compose or Swarm service share their id
 *   and ONE plan (union of sources, replica-merge.ts); two other workloads with the same id are
 *   BOTH skipped (`IdCollision`), never merged, and the message names every container involved;
 * - sources and excludes are host paths; sources de-duplicated and sorted (byte order, as Backrest
 *   sorts paths), excludes in label order (restic's last match wins), repeats dropped;
 * - output order is by plan id, so the same input always renders the same bytes.
 */
import { CronError, normalizeCron, type PlanSpec } from '@backrest-sidecar/config-sink';
import {
  DEFAULT_PLAN_ID_PREFIX,
  checkPlanIdPrefix,
  containerName,
  dumpHookCommand,
  normalizeAbsolutePath,
  planDumpDir,
  planIdentity,
  resolveDump,
  type BackupWorkloadSpec,
  type WorkloadIdentity,
} from '@backrest-sidecar/api';
import { mergeReplicas, sharedService, type WorkloadOutcome } from './replica-merge.js';

/** One mount as the Docker source reports it (a subset of @dockop/docker's ContainerStatus). */
export interface MountInfo {
  type: string;
  /** Host path for binds; Docker's own path for volumes (ignored: see `volumePrefix`). */
  source: string;
  /** Volume name (volumes only). */
  name?: string | undefined;
  destination: string;
  readOnly?: boolean;
}

export interface WorkloadStatus extends WorkloadIdentity {
  mounts: MountInfo[];
}

/** What the builder reads of a BackupWorkload resource. */
export interface WorkloadInput {
  /** Resource name = container name. */
  name: string;
  spec: BackupWorkloadSpec;
  status: WorkloadStatus;
}

export interface PlanDefaults {
  /** Plan id prefix. Default `backrest_sidecar_` (`--plan-id-prefix`, BACKREST_PLAN_ID_PREFIX). */
  prefix: string;
  /** Repo for workloads without `backrest.repo`; empty or unknown → the config's first repo. */
  defaultRepo: string;
  /** Default `0 2 * * *`. */
  defaultSchedule: string;
  /** Default `daily=7,weekly=4` (`--default-retention`, BACKREST_DEFAULT_RETENTION). */
  defaultRetention: string;
  /** Ignore bind mounts when deriving sources. Default false. */
  excludeBindMounts: boolean;
  /** Host directory holding named volumes. Default `/var/lib/docker/volumes`. */
  volumePrefix: string;
  /**
   * `--dump-dir`: host directory for `backrest.dump` dumps, shared with Backrest's container at
   * the same path; each plan dumps into `<dumpDir>/<plan id>`. Default '' (a dump label then
   * skips the plan with `DumpDirMissing`).
   */
  dumpDir?: string;
}

export const DEFAULT_DOCKER_ROOT = '/var/lib/docker';
export const DEFAULT_SCHEDULE = '0 2 * * *';
export const DEFAULT_RETENTION = 'daily=7,weekly=4';

/** Throws when `prefix` is empty or holds characters a plan id may not contain. */
export function defaultPlanDefaults(overrides: Partial<PlanDefaults> = {}): PlanDefaults {
  const defaults: PlanDefaults = {
    prefix: DEFAULT_PLAN_ID_PREFIX,
    defaultRepo: 'default',
    defaultSchedule: DEFAULT_SCHEDULE,
    defaultRetention: DEFAULT_RETENTION,
    excludeBindMounts: false,
    volumePrefix: `${DEFAULT_DOCKER_ROOT}/volumes`,
    ...overrides,
  };
  checkPlanIdPrefix(defaults.prefix);
  return defaults;
}

/** Facts from the current config the builder needs. */
export interface ConfigFacts {
  /** Repo ids declared in the config, in file order. */
  repoIds: string[];
}

export type SkipReason =
  | 'RepoMissing'
  | 'NoSources'
  | 'IdCollision'
  | 'ReplicaConflict'
  | 'InvalidSchedule'
  | 'UnsafeName'
  | 'InvalidDump'
  | 'DumpDirMissing';

export interface BuiltPlan {
  /** The container the plan comes from; for replicas, the first by name. */
  container: string;
  /** Every replica the plan covers, sorted by name (only when the service has several). */
  replicas?: string[];
  /** `compose service shop/db` (only for replicas). */
  service?: string;
  plan: PlanSpec;
  /** What the author should be told, naming container, label and value (e.g. `@daily` translated). */
  notes?: string[];
}

export interface SkippedPlan {
  container: string;
  planId: string;
  reason: SkipReason;
  message: string;
}

export interface BuildResult {
  /** Sorted by plan id. */
  plans: BuiltPlan[];
  /** Sorted by container name. */
  skipped: SkippedPlan[];
  /** Every id a current workload maps to, built or skipped (used to tell orphans apart). */
  ids: Set<string>;
}

export type PlanOutcome = { ok: true; built: BuiltPlan } | { ok: false; skipped: SkippedPlan };

/**
 * Builds every plan, then resolves shared ids: replicas of one service become one plan
 * (`mergeReplicas`), any other sharing is an `IdCollision` skip of every workload involved.
 * `outcomeOf`: one workload's own outcome, `buildPlan` by default (the daemon passes its memo of
 * unchanged workloads' outcomes, plan-memo.ts).
 */
export function buildPlans(
  workloads: readonly WorkloadInput[],
  defaults: PlanDefaults,
  facts: ConfigFacts,
  outcomeOf: (workload: WorkloadInput) => PlanOutcome = (w) => buildPlan(w, defaults, facts),
): BuildResult {
  const sorted = [...workloads].sort((a, b) => compare(a.name, b.name));
  const byId = new Map<string, WorkloadOutcome[]>();
  const plans: BuiltPlan[] = [];
  const skipped: SkippedPlan[] = [];
  // Indexed: a for-of allocates an iterator result per workload in cold code.
  for (let i = 0; i < sorted.length; i++) {
    const workload = sorted[i]!;
    const outcome = outcomeOf(workload);
    // A refused name has no real id: it must not knock out the workload whose id it imitates.
    if (!outcome.ok && outcome.skipped.reason === 'UnsafeName') {
      skipped.push(outcome.skipped);
      continue;
    }
    const id = outcome.ok ? outcome.built.plan.id : outcome.skipped.planId;
    const list = byId.get(id) ?? [];
    list.push({ workload, outcome });
    byId.set(id, list);
  }
  // forEach, not for-of over entries: no [id, members] pair per plan in cold code.
  byId.forEach((members, id) => {
    const only = members.length === 1 ? members[0]!.outcome : undefined;
    if (only) {
      if (only.ok) plans.push(only.built);
      else skipped.push(only.skipped);
      return;
    }
    const service = sharedService(members);
    if (service) {
      const merged = mergeReplicas(service, members, compare);
      if (merged.plan) plans.push(merged.plan);
      skipped.push(...merged.skipped);
      return;
    }
    const sharing = members.map(
      (m) => (m.outcome.ok ? m.outcome.built : m.outcome.skipped).container,
    );
    for (const container of sharing) {
      skipped.push({
        container,
        planId: id,
        reason: 'IdCollision',
        message:
          `plan id "${id}" is produced by ${sharing.length} containers (${sharing.join(', ')}) ` +
          `that are not replicas of one service; none of them is written: rename a container or a service`,
      });
    }
  });
  plans.sort((a, b) => compare(a.plan.id, b.plan.id));
  skipped.sort((a, b) => compare(a.container, b.container));
  // Every id a current workload maps to, refused names too: their plans are kept, not orphaned.
  const ids = new Set(byId.keys());
  for (const s of skipped) ids.add(s.planId);
  return { plans, skipped, ids };
}

/** One workload → one plan, or the reason it can't have one. */
export function buildPlan(
  workload: WorkloadInput,
  defaults: PlanDefaults,
  facts: ConfigFacts,
): PlanOutcome {
  const { status } = workload;
  const container = containerName(status.name || workload.name);
  // The identity fields only: the status (a container's id, image, labels, mounts...) is not copied.
  const identity: WorkloadIdentity = {
    name: container,
    compose: status.compose,
    swarm: status.swarm,
  };
  const { id, problem: unsafe } = planIdentity(identity, defaults.prefix);

  // `com.docker.compose.service=../usr` and the like: refused, never part of an id or a path.
  if (unsafe !== undefined) return skip(container, id, 'UnsafeName', unsafe);

  // The spec was decoded from labels: read own fields only, never an inherited member.
  const spec = workload.spec;
  const paths = ownField(spec, 'paths');
  const rcb = ownField(spec, 'rcb');
  const rcbVolumes = rcb ? ownField(rcb, 'volumes') : undefined;
  const repo = resolveRepo(ownField(spec, 'repo'), defaults.defaultRepo, facts.repoIds);
  if (!repo.ok)
    return skip(container, id, 'RepoMissing', `container ${container}: ${repo.message}`);

  // `backrest.dump`: a fatal pre hook dumps into <dumpDir>/<plan id>, which the plan backs up.
  const dump = resolveDump(workload.spec, container);
  if (!dump.ok) return skip(container, id, 'InvalidDump', dump.message);
  const dumpSettings = dump.settings;
  let dumpDir: string | undefined;
  if (dumpSettings) {
    if (!defaults.dumpDir) {
      return skip(
        container,
        id,
        'DumpDirMissing',
        `container ${container}: label backrest.dump=${dumpSettings.preset} needs --dump-dir (a host directory Backrest's container mounts at the same path); the plan is not written rather than backing up without the dump`,
      );
    }
    dumpDir = planDumpDir(normalizeAbsolutePath(defaults.dumpDir), id);
  }

  const mounts = status.mounts ?? [];
  const include = paths ? ownField(paths, 'include') : undefined;
  let sources: string[];
  if (include && include.length > 0) {
    sources = hostPaths(include, mounts, defaults.volumePrefix);
  } else if (dumpSettings?.only) {
    // dump.only: the dump replaces the data directories (explicit includes are still honoured).
    sources = [];
  } else {
    const volumes = rcbVolumes && {
      include: ownField(rcbVolumes, 'include'),
      exclude: ownField(rcbVolumes, 'exclude'),
    };
    sources = deriveSources(mounts, defaults, volumes);
  }
  if (dumpDir) sources.push(dumpDir);
  sources = uniqueSorted(sources);
  if (sources.length === 0) {
    return skip(
      container,
      id,
      'NoSources',
      `container ${container}: no backrest.paths.include label and no ` +
        `${defaults.excludeBindMounts ? 'named volume (bind mounts excluded)' : 'bind mount or named volume'} to derive sources from`,
    );
  }
  // Label order: restic's last matching pattern wins (`!negation` after its pattern).
  const exclude = uniqueKeepLast(
    hostPaths((paths && ownField(paths, 'exclude')) ?? [], mounts, defaults.volumePrefix),
  );

  const labeled = stringOr(ownField(spec, 'schedule'), '');
  // Backrest's cron dialect: descriptors become five fields (with a note), the rest as written.
  let schedule: { expression: string; notes: string[] };
  try {
    schedule = normalizeCron(labeled || defaults.defaultSchedule);
  } catch (err) {
    if (!(err instanceof CronError)) throw err;
    return skip(
      container,
      id,
      'InvalidSchedule',
      `container ${container}: ${scheduleOrigin(labeled, defaults)}: ${err.message}`,
    );
  }

  const keep = stringOr(ownField(spec, 'keep'), '');
  // `dump` set after, not spread in: an object spread is a runtime call in cold code (2,000 plans).
  const hooks: PlanSpec['hooks'] = {
    pre: expandHooks(ownField(spec, 'pre'), container),
    post: expandHooks(ownField(spec, 'post'), container),
  };
  if (dumpSettings && dumpDir) hooks.dump = [dumpHookCommand(container, dumpDir, dumpSettings)];
  const plan: PlanSpec = {
    id,
    repo: repo.id,
    schedule: schedule.expression,
    sources,
    exclude,
    hooks,
    // Without a keep label, an existing plan keeps the retention in the file (a hand edit wins).
    retention: keep ? { spec: keep } : { spec: defaults.defaultRetention, defaulted: true },
  };
  if (schedule.notes.length === 0) return { ok: true, built: { container, plan } };
  const notes: string[] = [];
  const origin = scheduleOrigin(labeled, defaults);
  for (let i = 0; i < schedule.notes.length; i++) {
    notes.push(`container ${container}: ${origin}: ${schedule.notes[i]}`);
  }
  return { ok: true, built: { container, plan, notes } };
}

function skip(container: string, planId: string, reason: SkipReason, message: string): PlanOutcome {
  return { ok: false, skipped: { container, planId, reason, message } };
}

/** Where a workload's schedule came from, named only in a skip or a note. */
function scheduleOrigin(labeled: string, defaults: PlanDefaults): string {
  return labeled
    ? `label backrest.schedule=${JSON.stringify(labeled)}`
    : `--default-schedule ${JSON.stringify(defaults.defaultSchedule)}`;
}

/**
 * `backrest.repo` must name a declared repo (never created). Without the label: the default
 * repo when declared, else the config's first repo.
 */
export function resolveRepo(
  label: string | undefined,
  defaultRepo: string,
  repoIds: readonly string[],
): { ok: true; id: string } | { ok: false; message: string } {
  const wanted = label?.trim();
  if (wanted) {
    return repoIds.includes(wanted)
      ? { ok: true, id: wanted }
      : {
          ok: false,
          message: `label backrest.repo="${wanted}" names a repo the config does not declare (declared: ${describeRepos(repoIds)})`,
        };
  }
  if (defaultRepo && repoIds.includes(defaultRepo)) return { ok: true, id: defaultRepo };
  const first = repoIds[0];
  if (first !== undefined) return { ok: true, id: first };
  return {
    ok: false,
    message: `no backrest.repo label and the config declares no repo (default "${defaultRepo}")`,
  };
}

function describeRepos(repoIds: readonly string[]): string {
  return repoIds.length === 0 ? 'none' : repoIds.join(', ');
}

/**
 * Sources from mounts, as the seed derives them: bind → its host source (unless excluded),
 * named volume → `<volumePrefix>/<name>/_data`; tmpfs and others carry no data to back up.
 * rcb's `volumes.include`/`volumes.exclude` filter by substring of the volume name or source,
 * as restic-compose-backup does.
 */
export function deriveSources(
  mounts: readonly MountInfo[],
  defaults: Pick<PlanDefaults, 'excludeBindMounts' | 'volumePrefix'>,
  rcbVolumes?: { include?: string[] | undefined; exclude?: string[] | undefined },
): string[] {
  const out: string[] = [];
  // Indexed: a for-of makes an iterator per plan in cold code.
  for (let i = 0; i < mounts.length; i++) {
    const m = mounts[i]!;
    const ident = `${m.name ?? ''} ${m.source}`;
    if (rcbVolumes?.include?.length && !rcbVolumes.include.some((s) => ident.includes(s))) continue;
    if (rcbVolumes?.exclude?.some((s) => ident.includes(s))) continue;
    if (m.type === 'bind') {
      if (!defaults.excludeBindMounts && m.source) out.push(normalizeAbsolutePath(m.source));
    } else if (m.type === 'volume') {
      if (m.name) out.push(volumeDataPath(defaults.volumePrefix, m.name));
    }
  }
  return out;
}

export function volumeDataPath(volumePrefix: string, name: string): string {
  return normalizeAbsolutePath(`${volumePrefix}/${name}/_data`);
}

/**
 * Rewrites a labeled path that lies under a container mount's destination to the host path
 * (the deepest mount wins, as in the container's view): bind → source + rest, volume →
 * `<volumePrefix>/<name>/_data` + rest. Paths under no mount are taken as host paths.
 */
export function toHostPath(p: string, mounts: readonly MountInfo[], volumePrefix: string): string {
  const path = normalizeAbsolutePath(p);
  let best: MountInfo | undefined;
  for (const m of mounts) {
    if (m.type !== 'bind' && m.type !== 'volume') continue;
    const dest = normalizeAbsolutePath(m.destination);
    if (!isUnder(path, dest)) continue;
    if (!best || dest.length > normalizeAbsolutePath(best.destination).length) best = m;
  }
  if (!best) return path;
  const rest = path.slice(normalizeAbsolutePath(best.destination).length);
  const root =
    best.type === 'bind'
      ? best.source
      : best.name
        ? volumeDataPath(volumePrefix, best.name)
        : undefined;
  return root ? normalizeAbsolutePath(`${root}/${rest}`) : path;
}

/** toHostPath of each of `paths`. */
function hostPaths(
  paths: readonly string[],
  mounts: readonly MountInfo[],
  volumePrefix: string,
): string[] {
  const out: string[] = [];
  for (let i = 0; i < paths.length; i++) out.push(toHostPath(paths[i]!, mounts, volumePrefix));
  return out;
}

function isUnder(path: string, dir: string): boolean {
  return dir === '/' || path === dir || path.startsWith(`${dir}/`);
}

/** `$SELF` / `${SELF}` → the container name (Docker names are `[a-zA-Z0-9][a-zA-Z0-9_.-]*`). */
export function expandHooks(commands: readonly string[] | undefined, container: string): string[] {
  if (!commands?.length) return [];
  return commands
    .map((c) => c.trim())
    .filter((c) => c !== '')
    .map((c) => c.replace(/\$\{SELF\}|\$SELF\b/g, container));
}

/**
 * `obj[k]` when `k` is an own enumerable field of `obj`, else undefined: what a hostile spec can't
 * smuggle in by inheritance. (It read fields of a prototype-less copy, which V8 builds key by key
 * as a hash table: three per plan, ~3 µs of a plan in a fresh process.)
 */
export function ownField<T extends object, K extends keyof T>(obj: T, k: K): T[K] | undefined {
  return Object.prototype.propertyIsEnumerable.call(obj, k) ? obj[k] : undefined;
}

function stringOr(value: unknown, fallback: string): string {
  return (typeof value === 'string' ? value.trim() : '') || fallback;
}

/** Order kept, a repeated value only at its last position (same outcome for restic). */
function uniqueKeepLast(values: readonly string[]): string[] {
  return values.filter((v, i) => values.lastIndexOf(v) === i);
}

function uniqueSorted(values: readonly string[]): string[] {
  // Most workloads have one source: nothing to de-duplicate or sort.
  if (values.length < 2) return [...values];
  return [...new Set(values)].sort(compare);
}

/** Byte-order comparison (Go's sort.Strings), independent of the locale. */
export function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
