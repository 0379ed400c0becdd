import { expect } from 'chai';
import type { ReconcileSummary } from '@backrest-sidecar/controller-plan';
import { exitCodeOf } from '@backrest-sidecar/controller-plan';
import { planRows, renderDescription, renderTable } from './output.js';
import { parseHttpAddr } from './commands/daemon.js';

const plan = {
  id: 'backrest_sidecar_db',
  repo: 'default',
  schedule: '0 2 * * *',
  sources: ['/a', '/b'],
  exclude: [],
  hooks: { pre: [], post: [] },
  retention: { spec: 'daily=7' },
};

function summary(over: Partial<ReconcileSummary> = {}): ReconcileSummary {
  return {
    config: '/c.json',
    dryRun: false,
    seen: 2,
    entries: [
      {
        planId: plan.id,
        container: 'db',
        state: 'Ready',
        reason: 'UpToDate',
        message: '',
        plan,
        changed: false,
      },
      {
        planId: 'backrest_sidecar_x',
        container: 'x',
        state: 'Skipped',
        reason: 'NoSources',
        message: 'no mounts',
        changed: false,
      },
    ],
    changed: false,
    written: false,
    diff: '',
    after: '',
    finishedAt: '',
    ...over,
  };
}

describe('CLI output', () => {
  it('renders the plans table with the documented columns', () => {
    const table = renderTable(planRows(summary()));
    const lines = table.trimEnd().split('\n');
    expect(lines[0]).to.match(/^PLAN ID\s+CONTAINER\s+REPO\s+SCHEDULE\s+SOURCES\s+STATUS$/);
    expect(lines[1]).to.match(
      /^backrest_sidecar_db\s+db\s+default\s+0 2 \* \* \*\s+\/a,\/b\s+InSync$/,
    );
    expect(lines[2]).to.match(/Skipped\(NoSources\)$/);
  });

  it('describes a plan with its conditions and events', () => {
    const text = renderDescription({
      entry: summary().entries[0]!,
      conditions: [
        {
          type: 'Ready',
          status: 'True',
          reason: 'UpToDate',
          message: 'in sync',
          lastTransitionTime: '',
        },
      ],
      events: [
        {
          key: 'BackupWorkload/db',
          type: 'Normal',
          reason: 'PlanWritten',
          message: 'written',
          count: 2,
          firstTimestamp: '',
          lastTimestamp: '',
        },
      ],
    });
    expect(text)
      .to.include('Plan ID:    backrest_sidecar_db')
      .and.include('Ready=True')
      .and.include('PlanWritten  x2');
  });

  it('maps summaries to the exit codes: 1 fatal > 3 partial > 2 dry-run/unchanged > 0 written', () => {
    const ok = { ...summary(), entries: [summary().entries[0]!] };
    expect(exitCodeOf(undefined)).to.equal(1);
    expect(exitCodeOf({ ...ok, fatal: { code: 'InvalidJson', message: 'x' } })).to.equal(1);
    expect(exitCodeOf(summary({ written: true }))).to.equal(3);
    expect(
      exitCodeOf({
        ...ok,
        written: true,
        apply: { status: 'failed', rolledBack: true, message: '' },
      }),
    ).to.equal(3);
    expect(exitCodeOf({ ...ok, dryRun: true, changed: true })).to.equal(2);
    expect(exitCodeOf(ok)).to.equal(2);
    expect(exitCodeOf({ ...ok, written: true, changed: true })).to.equal(0);
  });

  it('parses --http-addr', () => {
    expect(parseHttpAddr(':9090')).to.deep.equal({ host: '0.0.0.0', port: 9090 });
    expect(parseHttpAddr('127.0.0.1:80')).to.deep.equal({ host: '127.0.0.1', port: 80 });
    expect(parseHttpAddr('8080')).to.deep.equal({ host: '0.0.0.0', port: 8080 });
    expect(() => parseHttpAddr('host:99999')).to.throw(/--http-addr/);
  });
});
