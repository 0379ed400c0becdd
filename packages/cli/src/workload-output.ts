/**
 * `get workloads`, `describe workload` and `get volumes` in kubectl's output formats, the same
 * way output.ts renders plans (`-o table|wide|name|json|yaml`, `--no-headers`).
 */
import { WorkloadConditions, formatDuration } from '@backrest-sidecar/api';
import type { VolumeCoverage } from '@backrest-sidecar/controller-backup';
import { formatBytes } from '@backrest-sidecar/restic';
import { columns, renderAs, type OutputFormat, type TableOptions } from './output.js';
import type { WorkloadView } from './workload-view.js';

/** One line of `get workloads -o json`: the columns as data, and the whole status. */
export interface WorkloadRow {
  name: string;
  planId: string;
  /** The STATUS column: Invalid, Ok, Partial, Failing, Stale, NeverBackedUp, Gone. */
  state: string;
  /** A replicated service: every replica's container name (the row is named after the first). */
  replicas?: string[];
  /**
   * State Invalid: why its labels are refused (`reason` InvalidSpec or the decoder's, `message`
   * naming container, label and value), as the daemon reports it; null otherwise.
   */
  invalid: { reason: string; message: string } | null;
  /** ISO time of the last successful snapshot, or null. */
  lastBackup: string | null;
  /** Seconds since then, or null. */
  ageSeconds: number | null;
  /** Snapshots in the repository as last listed, or null when never listed. */
  snapshots: number | null;
  keep: string;
  engine: string | null;
  /** Bytes the last snapshot covered (restic's total_bytes_processed), or null. */
  sizeBytes: number | null;
  /** The last restore drill (`verify`): when, passed or not, which snapshot; null when none. */
  verified: { time: string; passed: boolean; snapshotId: string | null } | null;
  status: WorkloadView['status'];
}

export function workloadRows(views: WorkloadView[], now: number): WorkloadRow[] {
  return views.map((v) => {
    const last = v.status.lastBackup;
    const t = last ? Date.parse(last.time) : NaN;
    return {
      name: v.name,
      planId: v.planId,
      state: v.state,
      ...(v.replicas ? { replicas: v.replicas } : {}),
      invalid: v.invalid ?? null,
      lastBackup: last?.time ?? null,
      ageSeconds: Number.isFinite(t) ? Math.max(0, Math.round((now - t) / 1000)) : null,
      snapshots: v.status.snapshots?.count ?? null,
      keep: v.keep,
      engine: last?.engine ?? null,
      sizeBytes: last?.bytesTotal ?? null,
      verified: v.status.verification
        ? {
            time: v.status.verification.time,
            passed: v.status.verification.passed,
            snapshotId: v.status.verification.snapshotId ?? null,
          }
        : null,
      status: v.status,
    };
  });
}

/** kubectl's AGE: `45s`, `12m`, `5h`, `3d`. */
export function formatAge(seconds: number | null): string {
  if (seconds === null) return '-';
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7200) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 172_800) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86_400)}d`;
}

/** The VERIFIED column: the age of the last passed drill, `Failed` after a failed one, `-` never. */
export function verifiedCell(r: Pick<WorkloadRow, 'verified'>, now: number): string {
  if (!r.verified) return '-';
  if (!r.verified.passed) return 'Failed';
  const t = Date.parse(r.verified.time);
  return Number.isFinite(t) ? formatAge(Math.max(0, Math.round((now - t) / 1000))) : '-';
}

/** `ready` / `not ready` (DumpReady: the dump tools and settings were checked), `-` without a dump. */
function dumpCell(r: WorkloadRow): string {
  const c = r.status.conditions.find((x) => x.type === WorkloadConditions.DumpReady);
  if (!c) return '-';
  return c.status === 'True' ? 'ready' : c.status === 'False' ? 'not ready' : 'unknown';
}

/** Why the row is not Ok, in one line (the refusal, Stale's or BackedUp's message). */
export function messageOf(r: WorkloadRow): string {
  const cond = (t: string) => r.status.conditions.find((c) => c.type === t);
  const m = r.invalid
    ? `${r.invalid.reason}: ${r.invalid.message}`
    : r.state === 'Stale'
      ? cond('Stale')?.message
      : r.state === 'Failing' || r.state === 'Partial'
        ? cond('BackedUp')?.message
        : '';
  return (m ?? '').replace(/\s+/g, ' ') || '-';
}

export function renderWorkloads(
  rows: WorkloadRow[],
  format: OutputFormat,
  options: TableOptions = {},
  now: number = Date.now(),
): string {
  return renderAs(rows, format, {
    names: () => rows.map((r) => `workload/${r.name}`),
    table: (wide) => {
      const header = ['NAME', 'LAST BACKUP', 'AGE', 'SNAPSHOTS', 'STATUS', 'VERIFIED'];
      if (wide) header.push('KEEP', 'ENGINE', 'DUMP', 'SIZE', 'SNAPSHOT', 'PLAN ID', 'MESSAGE');
      const cells = rows.map((r) => {
        const c = [
          r.name,
          r.lastBackup ? r.lastBackup.replace(/\.\d+Z$/, 'Z') : '-',
          formatAge(r.ageSeconds),
          r.snapshots === null ? '-' : String(r.snapshots),
          r.state,
          verifiedCell(r, now),
        ];
        if (wide) {
          c.push(
            r.keep,
            r.engine ?? '-',
            dumpCell(r),
            formatBytes(r.sizeBytes),
            r.status.lastBackup?.snapshotId?.slice(0, 8) ?? '-',
            r.planId || '-',
            messageOf(r),
          );
        }
        return c;
      });
      return columns(header, cells, options.noHeaders === true);
    },
  });
}

/** kubectl-describe style: the status, its conditions and recent events. */
export function renderWorkloadDescription(v: WorkloadView, now: number): string {
  const s = v.status;
  const out: string[] = [];
  out.push(`Name:         ${v.name}`);
  out.push(`Plan ID:      ${v.planId || '-'}`);
  out.push(`Container:    ${v.containerState ?? 'gone'}`);
  if (v.replicas) out.push(`Replicas:     ${v.replicas.join(', ')}`);
  out.push(`Status:       ${v.state}`);
  if (v.invalid) out.push(`  Refused:    ${v.invalid.reason}: ${v.invalid.message}`);
  out.push(`Keep:         ${v.keep}`);
  if (s.schedule) {
    const who =
      s.schedule.owner === 'sidecar'
        ? `--backup-schedule "${s.schedule.expression ?? ''}"`
        : 'Backrest (the plan’s schedule)';
    out.push(`Schedule:     ${who}; Stale after ${formatDuration(s.schedule.staleAfterMs)}`);
  }
  out.push(`First seen:   ${s.firstSeen}`);
  const b = s.lastBackup;
  if (b) {
    const age = formatAge(Math.round((now - Date.parse(b.time)) / 1000));
    out.push(`Last backup:  ${b.time} (${age} ago) by ${b.engine}, from the ${b.source}`);
    if (b.snapshotId) out.push(`  Snapshot:   ${b.snapshotId}${b.partial ? ' (partial)' : ''}`);
    if (b.filesTotal !== undefined || b.bytesTotal !== undefined) {
      out.push(
        `  Files:      ${b.filesTotal ?? '-'} (${b.filesNew ?? 0} new, ${b.filesChanged ?? 0} changed), ${formatBytes(b.bytesTotal ?? null)}, ${formatBytes(b.bytesAdded ?? null)} added`,
      );
    }
  } else out.push('Last backup:  <none>');
  if (s.lastFailure) {
    out.push(
      `Last failure: ${s.lastFailure.time} ${s.lastFailure.reason} (${s.lastFailure.engine})`,
    );
    out.push(`  ${s.lastFailure.message}`);
  }
  if (s.snapshots) {
    const latest = s.snapshots.latest
      ? `, newest ${s.snapshots.latest.id} at ${s.snapshots.latest.time}`
      : '';
    out.push(
      `Snapshots:    ${s.snapshots.count} (${s.snapshots.sidecar} ours, ${s.snapshots.backrest} Backrest’s${latest}; listed ${s.snapshots.observedAt})`,
    );
  } else out.push('Snapshots:    <never listed>');
  if (s.retention) {
    const r = s.retention;
    out.push(
      `Retention:    ${r.time} keep ${r.keep}: ${r.outcome}, kept ${r.kept}, removed ${r.removed}${r.dryRun ? ' (dry run)' : ''}`,
    );
    if (r.message) out.push(`  ${r.message}`);
  }
  if (s.verification) {
    const v = s.verification;
    const age = formatAge(Math.max(0, Math.round((now - Date.parse(v.time)) / 1000)));
    out.push(
      `Verified:     ${v.time} (${age} ago) ${v.passed ? 'passed' : 'FAILED'}, snapshot ${v.snapshotId?.slice(0, 8) ?? '-'}${v.snapshotTime ? ` of ${v.snapshotTime}` : ''}, checked ${v.checks.join(', ') || '-'} in ${formatDuration(v.durationMs)}`,
    );
  } else out.push('Verified:     <never>');
  out.push('Conditions:');
  if (s.conditions.length === 0) out.push('  <none>');
  else {
    const rows = s.conditions.map((c) => [
      c.type,
      c.status,
      c.reason,
      c.lastTransitionTime,
      c.message || '-',
    ]);
    for (const l of columns(['TYPE', 'STATUS', 'REASON', 'SINCE', 'MESSAGE'], rows, false).split(
      '\n',
    )) {
      if (l) out.push(`  ${l}`);
    }
  }
  out.push('Events:');
  if (s.events.length === 0) out.push('  <none>');
  else {
    const rows = s.events.map((e) => [e.type, e.reason, `x${e.count}`, e.lastTimestamp, e.message]);
    for (const l of columns(['TYPE', 'REASON', 'COUNT', 'LAST SEEN', 'MESSAGE'], rows, false).split(
      '\n',
    )) {
      if (l) out.push(`  ${l}`);
    }
  }
  return out.join('\n') + '\n';
}

/** `get volumes -o json`: volumes in use by running containers, and the stopped-only ones apart. */
export interface VolumesData {
  inUse: VolumeCoverage[];
  stoppedOnly: VolumeCoverage[];
}

export function volumesData(rows: VolumeCoverage[]): VolumesData {
  return {
    inUse: rows.filter((r) => r.state !== 'StoppedOnly'),
    stoppedOnly: rows.filter((r) => r.state === 'StoppedOnly'),
  };
}

export function renderVolumes(
  rows: VolumeCoverage[],
  format: OutputFormat,
  options: TableOptions = {},
): string {
  const data = volumesData(rows);
  return renderAs(data, format, {
    names: () => data.inUse.map((r) => `${r.type}/${r.source}`),
    table: (wide) => {
      const header = ['VOLUME', 'TYPE', 'COVERED BY', 'CONTAINERS'];
      if (wide) header.push('MOUNTED AT');
      const cells = (list: VolumeCoverage[]) =>
        list.map((r) => {
          const c = [
            r.source,
            r.type,
            r.state === 'Uncovered'
              ? 'UNCOVERED'
              : r.coveredBy.map((p) => p.planId).join(',') || '-',
            r.users
              .map((u) => (u.state === 'running' ? u.container : `${u.container} (${u.state})`))
              .join(','),
          ];
          if (wide) c.push([...new Set(r.users.map((u) => u.destination))].join(','));
          return c;
        });
      let text = columns(header, cells(data.inUse), options.noHeaders === true);
      if (data.stoppedOnly.length > 0) {
        text += `${text ? '\n' : ''}Used only by stopped containers:\n`;
        text += columns(header, cells(data.stoppedOnly), options.noHeaders === true);
      }
      return text;
    },
  });
}
