import { expect } from 'chai';
import { VirtualClock } from '@dockop/runtime';
import {
  evaluateStale,
  formatDuration,
  scheduleRecord,
  schedulePeriodMs,
} from './workload-staleness.js';
import { BACKREST_SCHEDULE_STALE_MS, type WorkloadStatus } from './workload-status.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

describe('workload staleness', () => {
  it('takes the period from the Backrest-dialect cron: the longest gap between two runs', () => {
    const from = new Date(Date.UTC(2026, 0, 5, 12)); // a Monday
    expect(schedulePeriodMs('* * * * *', from, 'utc')).to.equal(60_000);
    expect(schedulePeriodMs('0 2 * * *', from, 'utc')).to.equal(DAY);
    expect(schedulePeriodMs('@hourly', from, 'utc')).to.equal(HOUR);
    // Weekdays only: the weekend gap (Friday 02:00 → Monday 02:00) is the period.
    expect(schedulePeriodMs('0 2 * * 1-5', from, 'utc')).to.equal(3 * DAY);
    // Backrest's AND of day-of-month and day-of-week: the 13th when it is a Friday.
    expect(schedulePeriodMs('0 0 13 * 5', from, 'utc')).to.be.greaterThan(27 * DAY);
  });

  it('windows: 2 × our schedule period, or 26 h when Backrest owns the schedule', () => {
    const now = Date.UTC(2026, 0, 5);
    expect(scheduleRecord({ expression: '0 * * * *', clock: 'utc' }, now)).to.deep.equal({
      owner: 'sidecar',
      expression: '0 * * * *',
      periodMs: HOUR,
      staleAfterMs: 2 * HOUR,
    });
    expect(scheduleRecord(undefined, now)).to.deep.equal({
      owner: 'backrest',
      staleAfterMs: BACKREST_SCHEDULE_STALE_MS,
    });
    expect(BACKREST_SCHEDULE_STALE_MS).to.equal(26 * HOUR);
  });

  it('turns Stale on virtual time when backups stop: False inside the window, True after it', () => {
    const clock = new VirtualClock(Date.UTC(2026, 0, 5, 12));
    const schedule = scheduleRecord({ expression: '0 * * * *', clock: 'utc' }, clock.now());
    const status: Pick<WorkloadStatus, 'firstSeen' | 'lastBackup' | 'lastFailure'> = {
      firstSeen: new Date(clock.now() - DAY).toISOString(),
      lastBackup: {
        time: new Date(clock.now()).toISOString(),
        engine: 'restic',
        source: 'run',
        snapshotId: 'abc',
      },
    };
    let e = evaluateStale(status, schedule, clock.now());
    expect(e.stale).to.equal(false);
    expect(e.condition).to.include({ type: 'Stale', status: 'False', reason: 'RecentBackup' });
    expect(e.staleAt).to.equal(clock.now() + 2 * HOUR);

    // Every later backup fails: one hour in, still within the window.
    clock.advance(HOUR);
    status.lastFailure = {
      time: new Date(clock.now()).toISOString(),
      engine: 'restic',
      reason: 'BackupFailed',
      message: 'restic backup exited with 1: repository is locked',
    };
    expect(evaluateStale(status, schedule, clock.now()).stale).to.equal(false);

    // One millisecond short of two periods: not yet; at two periods: Stale.
    clock.advance(HOUR - 1);
    expect(evaluateStale(status, schedule, clock.now()).stale).to.equal(false);
    clock.advance(1);
    e = evaluateStale(status, schedule, clock.now());
    expect(e.stale).to.equal(true);
    expect(e.condition).to.include({ type: 'Stale', status: 'True', reason: 'NoRecentBackup' });
    expect(e.condition.message).to.contain('(2h ago;').and.contain('repository is locked');
    expect(e.condition.message).to.contain('2 × the 1h period of --backup-schedule "0 * * * *"');
  });

  it('counts from first sight for a workload never backed up; 26 h under Backrest', () => {
    const start = Date.UTC(2026, 0, 5);
    const status = { firstSeen: new Date(start).toISOString() };
    const schedule = scheduleRecord(undefined, start);
    expect(evaluateStale(status, schedule, start + 26 * HOUR - 1).condition).to.include({
      status: 'False',
      reason: 'WithinFirstWindow',
    });
    const e = evaluateStale(status, schedule, start + 26 * HOUR);
    expect(e.condition).to.include({ status: 'True', reason: 'NeverBackedUp' });
    expect(e.condition.message).to.contain('Backrest owns the schedule');
  });

  it('formats durations', () => {
    expect(formatDuration(0)).to.equal('0s');
    expect(formatDuration(90_061_000)).to.equal('1d1h1m1s');
    expect(formatDuration(2 * HOUR)).to.equal('2h');
  });
});
