import {
  WorkloadConditions,
  planIdFor,
  type WorkloadSnapshotsRecord,
  type WorkloadStatus,
  type WorkloadStatusStore,
  type WorkloadIdentity,
  type WorkloadTarget,
} from '@backrest-sidecar/api';
import {
  parseSnapshotsOutput,
  runResticChecked,
  type ResticRunner,
  type ResticSnapshot,
} from '@backrest-sidecar/restic';
import { applyStale } from './backup-status.js';
import { workloadTags } from './backup-workloads.js';

/** One workload's snapshots in the repository: ours (by tag) and Backrest's from its plan. */
export interface WorkloadSnapshots {
  name: string;
  planId: string;
  /** Made by our restic engine: tags `backrest-sidecar` and `container:<name>`, our `--host`. */
  sidecar: ResticSnapshot[];
  /** Made by Backrest from our plan: tag `plan:<id>`. */
  backrest: ResticSnapshot[];
}

export interface SnapshotInventoryOptions {
  /** restic `--host` of our snapshots (a shared repository holds other hosts' too). */
  host?: string;
  /** `--plan-id-prefix`. Default `backrest_sidecar_`. */
  planIdPrefix?: string;
  signal?: AbortSignal;
}

/** `restic snapshots --json`: the whole list, filtered here (one call for every workload). */
export async function listSnapshots(
  runner: ResticRunner,
  signal?: AbortSignal,
): Promise<ResticSnapshot[]> {
  const res = await runResticChecked(runner, ['snapshots', '--json'], signal ? { signal } : {});
  return parseSnapshotsOutput(res.stdout);
}

function time(s: ResticSnapshot): number {
  const t = Date.parse(s.time);
  return Number.isFinite(t) ? t : 0;
}

/**
 * Sorts `snapshots` to `targets`: a snapshot is a workload's when it carries our tags for it
 * (and our host, when given), or Backrest's `plan:<id>` tag of the workload's plan. Snapshots
 * are hostile input: a tag list that is not an array of strings matches nothing.
 */
export function snapshotsByWorkload(
  snapshots: readonly ResticSnapshot[],
  targets: readonly WorkloadIdentity[],
  options: Omit<SnapshotInventoryOptions, 'signal'> = {},
): WorkloadSnapshots[] {
  const tagsOf = (s: ResticSnapshot): string[] =>
    Array.isArray(s.tags) ? s.tags.filter((t): t is string => typeof t === 'string') : [];
  return targets.map((t) => {
    // The first two of the tags our restic engine puts on every snapshot: ours, and whose.
    const ours = workloadTags({ name: t.name } as WorkloadTarget).slice(0, 2);
    let planId = '';
    try {
      planId = planIdFor(
        { name: t.name, compose: t.compose },
        options.planIdPrefix !== undefined ? { prefix: options.planIdPrefix } : {},
      );
    } catch {
      // No plan id, no Backrest snapshots to find.
    }
    const sidecar: ResticSnapshot[] = [];
    const backrest: ResticSnapshot[] = [];
    for (const s of snapshots) {
      const tags = tagsOf(s);
      if (
        ours.every((tag) => tags.includes(tag)) &&
        (options.host === undefined || s.hostname === options.host)
      ) {
        sidecar.push(s);
      } else if (planId && tags.includes(`plan:${planId}`)) {
        backrest.push(s);
      }
    }
    return { name: t.name, planId, sidecar, backrest };
  });
}

/** The status record of one workload's snapshots. */
export function snapshotsRecord(w: WorkloadSnapshots, observedAt: number): WorkloadSnapshotsRecord {
  const all = [...w.sidecar, ...w.backrest];
  const latest = all.reduce<ResticSnapshot | undefined>(
    (a, s) => (a === undefined || time(s) > time(a) ? s : a),
    undefined,
  );
  return {
    count: all.length,
    observedAt: new Date(observedAt).toISOString(),
    sidecar: w.sidecar.length,
    backrest: w.backrest.length,
    ...(latest ? { latest: { id: latest.short_id || latest.id, time: latest.time } } : {}),
  };
}

/**
 * Writes what the repository says into each workload's status: the snapshot count, and, when the
 * newest snapshot is newer than the last backup we recorded (Backrest ran the plan, or another
 * host's backup-once), that snapshot as the last backup; then `Stale` again.
 */
export async function recordSnapshotInventory(
  store: WorkloadStatusStore,
  inventory: readonly WorkloadSnapshots[],
): Promise<WorkloadStatus[]> {
  const out: WorkloadStatus[] = [];
  for (const w of inventory) {
    const record = snapshotsRecord(w, store.now());
    out.push(
      await store.update(w.name, (s) => {
        s.snapshots = record;
        const latest = record.latest;
        const known = s.lastBackup ? Date.parse(s.lastBackup.time) : NaN;
        const newest = latest ? Date.parse(latest.time) : NaN;
        if (latest && Number.isFinite(newest) && !(known >= newest - 1000)) {
          const byBackrest = w.backrest.some((b) => (b.short_id || b.id) === latest.id);
          s.lastBackup = {
            time: new Date(newest).toISOString(),
            snapshotId: latest.id,
            engine: byBackrest ? 'backrest' : 'restic',
            source: 'repository',
          };
          store.applyCondition(s, {
            type: WorkloadConditions.BackedUp,
            status: 'True',
            reason: 'SnapshotInRepository',
            message: `snapshot ${latest.id} ${byBackrest ? `made by Backrest (plan:${w.planId})` : 'found in the repository'}`,
          });
        }
        applyStale(store, s);
      }),
    );
  }
  return out;
}
