import { expect } from 'chai';
import type { BackupOnceReport, WorkloadBackupResult } from './backup-result.js';
import { exitCodeOf } from './run-backup-once.js';
import { notificationPayload } from './notify-message.js';

const w = (
  status: WorkloadBackupResult['status'],
  extra: Partial<WorkloadBackupResult> = {},
): WorkloadBackupResult => ({
  container: `c-${status}`,
  path: '/volumes/x',
  status,
  durationMs: 1,
  warnings: [],
  ...extra,
});
function report(extra: Partial<BackupOnceReport>): BackupOnceReport {
  return {
    engine: 'restic',
    startedAt: '',
    finishedAt: '',
    durationMs: 0,
    workloads: [],
    quiesce: { stopped: [], stopFailed: [], started: [], startFailed: [] },
    exitCode: 0,
    ...extra,
  };
}

describe('backup-once exit codes (the seed: 0 ok, 3 partial, 1 fatal)', () => {
  it('0 when everything worked, also with skipped workloads', () => {
    expect(exitCodeOf(report({ workloads: [w('ok'), w('skipped')] }))).to.equal(0);
    expect(exitCodeOf(report({ engine: 'rcb', rcb: { exitCode: 0, durationMs: 1 } }))).to.equal(0);
  });
  it('3 for a failed or partial workload, a container not started again, or failed retention', () => {
    expect(exitCodeOf(report({ workloads: [w('ok'), w('failed')] }))).to.equal(3);
    expect(exitCodeOf(report({ workloads: [w('partial')] }))).to.equal(3);
    expect(
      exitCodeOf(
        report({
          quiesce: {
            stopped: ['a'],
            stopFailed: [],
            started: [],
            startFailed: [{ name: 'a', error: 'x' }],
          },
        }),
      ),
    ).to.equal(3);
    expect(exitCodeOf(report({ forget: { dryRun: false, workloads: [], exitCode: 3 } }))).to.equal(
      3,
    );
  });
  it('1 when the run failed as a whole', () => {
    expect(exitCodeOf(report({ fatal: 'busy' }))).to.equal(1);
    expect(exitCodeOf(report({ engine: 'rcb', rcb: { exitCode: 2, durationMs: 1 } }))).to.equal(1);
    expect(exitCodeOf(report({ workloads: [w('failed'), w('failed')] }))).to.equal(1);
  });
  it('the webhook payload carries outcome and figures, no env or repository', () => {
    const p = notificationPayload(
      report({
        exitCode: 3,
        workloads: [
          w('ok', { snapshotId: 'abcd1234', bytesAdded: 5 }),
          w('failed', { error: 'boom' }),
        ],
      }),
    );
    expect(p.event).to.equal('backup.failed');
    expect(p.workloads).to.deep.equal([
      {
        container: 'c-ok',
        path: '/volumes/x',
        status: 'ok',
        snapshotId: 'abcd1234',
        bytesAdded: 5,
        durationMs: 1,
      },
      { container: 'c-failed', path: '/volumes/x', status: 'failed', durationMs: 1, error: 'boom' },
    ]);
    expect(JSON.stringify(p)).to.not.match(/RESTIC_|password/i);
  });
});
