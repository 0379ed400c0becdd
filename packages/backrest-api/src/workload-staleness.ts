import type { ConditionUpdate } from '@dockop/runtime';
import { nextCronFire, parseCron, type CronClock } from '@backrest-sidecar/backrest-model';
import {
  BACKREST_SCHEDULE_STALE_MS,
  WorkloadConditions,
  type WorkloadScheduleRecord,
  type WorkloadStatus,
} from './workload-status.js';

/** How many consecutive runs `schedulePeriodMs` looks at: a week of a weekday schedule and more. */
const PERIOD_SAMPLE_RUNS = 16;

/**
 * The longest gap between two consecutive runs of `expression` (Backrest's cron dialect, the same
 * next-fire computation Backrest runs), over the next runs after `from`. The longest, not the
 * mean: `0 2 * * 1-5` has a three-day gap every weekend, and that gap must not read as stale.
 * Throws CronError when the expression does not parse.
 */
export function schedulePeriodMs(
  expression: string,
  from: Date,
  clock: CronClock = 'local',
): number {
  const schedule = parseCron(expression, { now: from }).schedule;
  let previous = nextCronFire(schedule, from, clock);
  let longest = 0;
  for (let i = 0; previous && i < PERIOD_SAMPLE_RUNS; i++) {
    const next = nextCronFire(schedule, previous, clock);
    if (!next) break;
    longest = Math.max(longest, next.getTime() - previous.getTime());
    previous = next;
  }
  // A schedule with one run left in five years: treat it as yearly rather than never stale.
  return longest > 0 ? longest : 366 * 86_400_000;
}

/**
 * Who schedules a workload's backups and its Stale window: twice the period of our
 * `--backup-schedule`, or 26 h when Backrest runs the plan on its own schedule.
 */
export function scheduleRecord(
  ours: { expression: string; clock?: CronClock } | undefined,
  now: number,
): WorkloadScheduleRecord {
  if (!ours) return { owner: 'backrest', staleAfterMs: BACKREST_SCHEDULE_STALE_MS };
  const periodMs = schedulePeriodMs(ours.expression, new Date(now), ours.clock);
  return { owner: 'sidecar', expression: ours.expression, periodMs, staleAfterMs: 2 * periodMs };
}

export interface StaleEvaluation {
  condition: ConditionUpdate;
  stale: boolean;
  /** Epoch ms at which the workload turns (or turned) Stale without a new backup. */
  staleAt: number;
}

/** `90061000` → `1d1h1m1s`; whole seconds, largest units first. */
export function formatDuration(ms: number): string {
  let s = Math.max(0, Math.round(ms / 1000));
  const parts: string[] = [];
  for (const [unit, size] of [
    ['d', 86_400],
    ['h', 3_600],
    ['m', 60],
    ['s', 1],
  ] as const) {
    if (s >= size) {
      parts.push(`${Math.floor(s / size)}${unit}`);
      s %= size;
    }
  }
  return parts.join('') || '0s';
}

/**
 * The Stale condition at `now`: True when the last successful backup (or, before any, the time
 * the workload was first seen) is older than the window. Pure: the caller's clock decides `now`,
 * so it is tested on virtual time and re-evaluated by a requeue at `staleAt`.
 */
export function evaluateStale(
  status: Pick<WorkloadStatus, 'lastBackup' | 'firstSeen' | 'lastFailure'>,
  schedule: WorkloadScheduleRecord,
  now: number,
): StaleEvaluation {
  const last = status.lastBackup ? Date.parse(status.lastBackup.time) : NaN;
  const since = Number.isFinite(last) ? last : Date.parse(status.firstSeen);
  const reference = Number.isFinite(since) ? since : now;
  const staleAt = reference + schedule.staleAfterMs;
  const window =
    schedule.owner === 'sidecar' && schedule.periodMs !== undefined
      ? `2 × the ${formatDuration(schedule.periodMs)} period of --backup-schedule "${schedule.expression ?? ''}"`
      : `${formatDuration(schedule.staleAfterMs)}, Backrest owns the schedule`;
  const failure = status.lastFailure ? `; last failure: ${status.lastFailure.message}` : '';
  if (now >= staleAt) {
    const reason = Number.isFinite(last) ? 'NoRecentBackup' : 'NeverBackedUp';
    const what = Number.isFinite(last)
      ? `no successful backup since ${new Date(last).toISOString()}`
      : `no successful backup since the workload was first seen at ${new Date(reference).toISOString()}`;
    return {
      stale: true,
      staleAt,
      condition: {
        type: WorkloadConditions.Stale,
        status: 'True',
        reason,
        message: `${what} (${formatDuration(now - reference)} ago; window ${window})${failure}`,
      },
    };
  }
  return {
    stale: false,
    staleAt,
    condition: {
      type: WorkloadConditions.Stale,
      status: 'False',
      reason: Number.isFinite(last) ? 'RecentBackup' : 'WithinFirstWindow',
      message: `stale at ${new Date(staleAt).toISOString()} without a new backup (window ${window})`,
    },
  };
}
