import { expect } from 'chai';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { VirtualClock } from '@dockop/runtime';
import { WorkloadStatusStore, scheduleRecord } from '@backrest-sidecar/api';
import type { BackupOnceReport } from './backup-result.js';
import { recordBackupReport } from './backup-status.js';

const HOUR = 3_600_000;

function report(over: Partial<BackupOnceReport>): BackupOnceReport {
  return {
    engine: 'restic',
    startedAt: '2026-01-05T12:00:00.000Z',
    finishedAt: '2026-01-05T12:00:05.000Z',
    durationMs: 5000,
    workloads: [],
    quiesce: { stopped: [], stopFailed: [], started: [], startFailed: [] },
    exitCode: 0,
    ...over,
  };
}

describe('recordBackupReport', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'backup-status-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('records snapshots, failures, retention and conditions; a failing workload turns Stale on virtual time', async () => {
    const clock = new VirtualClock(Date.parse('2026-01-05T12:00:05.000Z'));
    const store = new WorkloadStatusStore({ stateDir: dir, now: () => clock.now() });
    const schedule = scheduleRecord({ expression: '0 * * * *', clock: 'utc' }, clock.now());
    await recordBackupReport(
      store,
      report({
        workloads: [
          {
            container: 'ok',
            path: '/volumes/ok',
            status: 'ok',
            snapshotId: 'a1b2c3d4',
            filesTotal: 3,
            bytesTotal: 300,
            bytesAdded: 10,
            durationMs: 1,
            warnings: [],
          },
          {
            container: 'bad',
            path: '/volumes/bad',
            status: 'ok',
            snapshotId: 'e5f6',
            durationMs: 1,
            warnings: [],
          },
        ],
        forget: {
          dryRun: false,
          exitCode: 0,
          workloads: [
            {
              containers: ['ok'],
              path: '/volumes/ok',
              keep: 'last=2',
              flags: ['--keep-last', '2'],
              status: 'forgotten',
              kept: ['a1b2c3d4', 'x'],
              removed: ['y'],
              warnings: [],
            },
          ],
        },
      }),
      { schedule },
    );
    let ok = (await store.get('ok'))!;
    expect(ok.lastBackup).to.deep.include({
      snapshotId: 'a1b2c3d4',
      filesTotal: 3,
      bytesTotal: 300,
      engine: 'restic',
      time: '2026-01-05T12:00:05.000Z',
    });
    expect(ok.retention).to.deep.include({
      keep: 'last=2',
      kept: 2,
      removed: 1,
      outcome: 'forgotten',
    });
    const byType = (s: typeof ok) =>
      Object.fromEntries(s.conditions.map((c) => [c.type, `${c.status}/${c.reason}`]));
    expect(byType(ok)).to.deep.equal({
      BackedUp: 'True/BackupSucceeded',
      RetentionSatisfied: 'True/PolicyApplied',
      Stale: 'False/RecentBackup',
    });

    // From now on every backup of "bad" fails.
    for (let i = 0; i < 2; i++) {
      clock.advance(HOUR);
      await recordBackupReport(
        store,
        report({
          finishedAt: new Date(clock.now()).toISOString(),
          workloads: [
            {
              container: 'bad',
              path: '/volumes/bad',
              status: 'failed',
              error: 'restic backup exited with 1: Fatal: wrong password',
              durationMs: 1,
              warnings: [],
            },
          ],
          exitCode: 1,
        }),
        { schedule },
      );
    }
    const bad = (await store.get('bad'))!;
    expect(bad.lastBackup?.snapshotId).to.equal('e5f6');
    expect(bad.lastFailure).to.deep.include({
      reason: 'BackupFailed',
      time: '2026-01-05T14:00:05.000Z',
    });
    expect(byType(bad)).to.deep.include({
      BackedUp: 'False/BackupFailed',
      Stale: 'True/NoRecentBackup',
    });
    expect(bad.events.map((e) => `${e.reason}x${e.count}`)).to.deep.equal([
      'BackedUpx1',
      'BackupFailedx2',
    ]);
    ok = (await store.get('ok'))!;
    expect(byType(ok).Stale).to.equal('False/RecentBackup'); // not touched by the later runs
  });

  it('rcb: records the one run on each workload it covered, saying what is not known', async () => {
    const clock = new VirtualClock(Date.parse('2026-01-05T12:00:05.000Z'));
    const store = new WorkloadStatusStore({ stateDir: dir, now: () => clock.now() });
    const written = await recordBackupReport(
      store,
      report({
        engine: 'rcb',
        runId: 'r1',
        rcb: { exitCode: 0, durationMs: 10, workloads: ['web', 'db'] },
      }),
    );
    expect(written.sort()).to.deep.equal(['db', 'web']);
    const web = (await store.get('web'))!;
    expect(web.lastBackup).to.deep.equal({
      time: '2026-01-05T12:00:05.000Z',
      engine: 'rcb',
      source: 'run',
    });
    const backedUp = web.conditions.find((c) => c.type === 'BackedUp')!;
    expect(backedUp).to.include({ status: 'True', reason: 'RcbRunSucceeded' });
    expect(backedUp.message).to.contain('rcb run r1 covered all 2 opted-in workloads at once');
    expect(backedUp.message).to.contain('snapshot id, size and files are not known');
    expect(web.conditions.find((c) => c.type === 'Stale')?.status).to.equal('False');
    // Another workload nobody opted in is not touched.
    expect(await store.get('other')).to.equal(undefined);

    clock.advance(HOUR);
    await recordBackupReport(
      store,
      report({
        engine: 'rcb',
        runId: 'r2',
        rcb: { exitCode: 2, durationMs: 10, workloads: ['web', 'db'] },
        exitCode: 1,
      }),
    );
    const db = (await store.get('db'))!;
    expect(db.lastBackup?.time).to.equal('2026-01-05T12:00:05.000Z'); // the last success stays
    expect(db.lastFailure).to.deep.include({ engine: 'rcb', reason: 'RcbRunFailed' });
    expect(db.lastFailure?.message).to.contain('exited 2');
    expect(db.lastFailure?.message).to.contain('none of them is known to be backed up');
    expect(db.conditions.find((c) => c.type === 'BackedUp')).to.include({
      status: 'False',
      reason: 'RcbRunFailed',
    });
  });

  it("records a replicated service once, on its first replica, retention of the replicas' path group included", async () => {
    const store = new WorkloadStatusStore({ stateDir: dir });
    const written = await recordBackupReport(
      store,
      report({
        workloads: [
          {
            container: 'shop-web-1',
            replicas: ['shop-web-1', 'shop-web-2'],
            path: '/volumes/web',
            status: 'ok',
            snapshotId: 'abcd1234',
            durationMs: 1,
            warnings: [],
          },
        ],
        forget: {
          dryRun: false,
          exitCode: 0,
          workloads: [
            {
              containers: ['shop-web-1', 'shop-web-2'],
              path: '/volumes/web',
              keep: 'last=1',
              flags: ['--keep-last', '1'],
              status: 'forgotten',
              kept: ['abcd1234'],
              removed: [],
              warnings: [],
            },
          ],
        },
      }),
    );
    expect(written).to.deep.equal(['shop-web-1']);
    expect((await store.list()).map((s) => s.name)).to.deep.equal(['shop-web-1']);
    const s = (await store.get('shop-web-1'))!;
    expect(s.lastBackup?.snapshotId).to.equal('abcd1234');
    expect(s.retention?.keep).to.equal('last=1');
  });
});
