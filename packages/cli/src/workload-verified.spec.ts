import { expect } from 'chai';
import type { WorkloadStatus } from '@backrest-sidecar/api';
import {
  renderWorkloadDescription,
  renderWorkloads,
  verifiedCell,
  workloadRows,
} from './workload-output.js';
import type { WorkloadView } from './workload-view.js';

const NOW = Date.parse('2026-12-01T00:00:00Z');

function view(name: string, verification?: WorkloadStatus['verification']): WorkloadView {
  return {
    name,
    planId: `backrest_sidecar_${name}`,
    keep: '-',
    state: 'Ok',
    status: {
      name,
      firstSeen: '2026-11-01T00:00:00Z',
      conditions: [],
      events: [],
      ...(verification ? { verification } : {}),
    },
  } as WorkloadView;
}

describe('get workloads: VERIFIED', () => {
  const views = [
    view('never'),
    view('good', {
      time: '2026-11-28T00:00:00Z',
      passed: true,
      snapshotId: 'abcdef0123456789',
      snapshotTime: '2026-11-27T02:00:00Z',
      checks: ['restore', 'tree', 'repository'],
      durationMs: 12_300,
      message: 'restore drill OK',
    }),
    view('bad', {
      time: '2026-11-30T23:00:00Z',
      passed: false,
      checks: ['restore', 'repository'],
      durationMs: 50_000,
      message: 'restore drill FAILED',
    }),
  ];

  it('shows the age of the last passed drill, Failed after a failed one, - when never drilled', () => {
    const rows = workloadRows(views, NOW);
    expect(rows.map((r) => verifiedCell(r, NOW))).to.deep.equal(['-', '3d', 'Failed']);
    const table = renderWorkloads(rows, 'table', {}, NOW).split('\n');
    expect(table[0]).to.match(/STATUS\s+VERIFIED$/);
    expect(table[2]).to.match(/\s3d$/);
    expect(rows[1]!.verified).to.deep.equal({
      time: '2026-11-28T00:00:00Z',
      passed: true,
      snapshotId: 'abcdef0123456789',
    });
  });

  it('describe workload says when, which snapshot, what was checked and how long it took', () => {
    const text = renderWorkloadDescription(views[1]!, NOW);
    expect(text).to.include(
      'Verified:     2026-11-28T00:00:00Z (3d ago) passed, snapshot abcdef01 of 2026-11-27T02:00:00Z, checked restore, tree, repository in 12s',
    );
    expect(renderWorkloadDescription(views[0]!, NOW)).to.include('Verified:     <never>');
  });
});
