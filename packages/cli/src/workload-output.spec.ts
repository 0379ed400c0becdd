import { expect } from 'chai';
import type { WorkloadStatus } from '@backrest-sidecar/api';
import type { VolumeCoverage } from '@backrest-sidecar/controller-backup';
import {
  formatAge,
  renderVolumes,
  renderWorkloadDescription,
  renderWorkloads,
  workloadRows,
} from './workload-output.js';
import { stateOf, type WorkloadView } from './workload-view.js';

const NOW = Date.parse('2026-01-05T12:00:00Z');

function view(name: string, status: Partial<WorkloadStatus>, gone = false): WorkloadView {
  const s: WorkloadStatus = {
    name,
    firstSeen: '2026-01-01T00:00:00Z',
    conditions: [],
    events: [],
    ...status,
  };
  return {
    name,
    planId: `backrest_sidecar_${name}`,
    containerState: 'running',
    keep: 'last=3',
    state: stateOf(s, gone),
    status: s,
  };
}

const cond = (
  type: string,
  status: 'True' | 'False' | 'Unknown',
  reason: string,
  message = '',
) => ({
  type,
  status,
  reason,
  message,
  lastTransitionTime: '2026-01-05T00:00:00Z',
});

describe('workload output', () => {
  const views = [
    view('db', {
      lastBackup: {
        time: '2026-01-05T11:00:00.000Z',
        engine: 'restic',
        source: 'run',
        snapshotId: 'a1b2c3d4e5',
        bytesTotal: 1536,
      },
      snapshots: { count: 7, observedAt: '2026-01-05T11:00:01Z', sidecar: 5, backrest: 2 },
      conditions: [
        cond('BackedUp', 'True', 'BackupSucceeded'),
        cond('Stale', 'False', 'RecentBackup'),
        cond('Verified', 'True', 'RestoreVerified'),
        cond('DumpReady', 'True', 'ToolsFound'),
      ],
    }),
    view('web', {
      conditions: [
        cond('BackedUp', 'False', 'BackupFailed', 'boom'),
        cond('Stale', 'True', 'NeverBackedUp', 'no successful backup since\nlong ago'),
      ],
      events: [
        {
          type: 'Warning',
          reason: 'BackupFailed',
          message: 'boom',
          count: 3,
          firstTimestamp: 't1',
          lastTimestamp: 't2',
        },
      ],
    }),
  ];

  it('derives the STATUS column from the conditions', () => {
    expect(views.map((v) => v.state)).to.deep.equal(['Ok', 'Stale']);
    expect(stateOf(views[0]!.status, true)).to.equal('Gone');
  });

  it('renders the table, wide, name and --no-headers like get plans', () => {
    const rows = workloadRows(views, NOW);
    expect(renderWorkloads(rows, 'table', {}, NOW)).to.equal(
      [
        'NAME   LAST BACKUP            AGE   SNAPSHOTS   STATUS   VERIFIED',
        'db     2026-01-05T11:00:00Z   60m   7           Ok       -',
        'web    -                      -     -           Stale    -',
        '',
      ].join('\n'),
    );
    const wide = renderWorkloads(rows, 'wide', { noHeaders: true }, NOW).split('\n');
    expect(wide[0]).to.match(
      /^db .* last=3 +restic +ready +1\.5KiB +a1b2c3d4 +backrest_sidecar_db +-$/,
    );
    expect(wide[1]).to.match(/Stale .* last=3 +- +- .* no successful backup since long ago$/);
    const notReady = view('pg', { conditions: [cond('DumpReady', 'False', 'DumpNotReady')] });
    expect(renderWorkloads(workloadRows([notReady], NOW), 'wide', {}, NOW)).to.match(
      / DUMP .*\npg .* last=3 +- +not ready +- /,
    );
    expect(renderWorkloads(rows, 'name')).to.equal('workload/db\nworkload/web\n');
    const json = JSON.parse(renderWorkloads(rows, 'json')) as {
      name: string;
      ageSeconds: number | null;
      snapshots: number | null;
    }[];
    expect(json.map((r) => [r.name, r.ageSeconds, r.snapshots])).to.deep.equal([
      ['db', 3600, 7],
      ['web', null, null],
    ]);
  });

  it('describes conditions and events', () => {
    const text = renderWorkloadDescription(views[1]!, NOW);
    expect(text).to.match(/Status:\s+Stale/);
    expect(text).to.match(/Stale\s+True\s+NeverBackedUp/);
    expect(text).to.match(/Warning\s+BackupFailed\s+x3\s+t2\s+boom/);
    expect(text).to.contain('Last backup:  <none>');
  });

  it('lists volumes in use, and the stopped-only ones apart', () => {
    const rows: VolumeCoverage[] = [
      {
        type: 'volume',
        source: 'loose',
        state: 'Uncovered',
        users: [{ container: 'cache', state: 'running', destination: '/d', readOnly: false }],
        coveredBy: [],
      },
      {
        type: 'volume',
        source: 'pg',
        state: 'Covered',
        users: [{ container: 'db', state: 'running', destination: '/pg', readOnly: false }],
        coveredBy: [{ planId: 'p_db', container: 'db' }],
      },
      {
        type: 'bind',
        source: '/srv/old',
        state: 'StoppedOnly',
        users: [{ container: 'old', state: 'exited', destination: '/o', readOnly: false }],
        coveredBy: [],
      },
    ];
    expect(renderVolumes(rows, 'table')).to.equal(
      [
        'VOLUME   TYPE     COVERED BY   CONTAINERS',
        'loose    volume   UNCOVERED    cache',
        'pg       volume   p_db         db',
        '',
        'Used only by stopped containers:',
        'VOLUME     TYPE   COVERED BY   CONTAINERS',
        '/srv/old   bind   -            old (exited)',
        '',
      ].join('\n'),
    );
    const data = JSON.parse(renderVolumes(rows, 'json')) as {
      inUse: unknown[];
      stoppedOnly: unknown[];
    };
    expect([data.inUse.length, data.stoppedOnly.length]).to.deep.equal([2, 1]);
  });

  it('formats ages and sizes', () => {
    expect([
      formatAge(null),
      formatAge(5),
      formatAge(600),
      formatAge(10_000),
      formatAge(300_000),
    ]).to.deep.equal(['-', '5s', '10m', '2h', '3d']);
  });
});
