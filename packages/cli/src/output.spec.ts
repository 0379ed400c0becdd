import { expect } from 'chai';
import type { ReconcileSummary } from '@backrest-sidecar/api';
import { exitCodeOf } from '@backrest-sidecar/api';
import { parse as parseYaml } from 'yaml';
import { describeData, planRows, renderDescription, renderPlans, renderTable } from './output.js';
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
    expect(text).to.include('Plan ID:    backrest_sidecar_db');
    expect(text).to.match(/^ {2}Ready +True +UpToDate +in sync$/m);
    expect(text).to.match(/^ {2}Normal +PlanWritten +x2 +written$/m);
  });

  it('describes a skipped plan with its message once', () => {
    const entry = summary().entries[1]!;
    const text = renderDescription({
      entry,
      conditions: [
        {
          type: 'Ready',
          status: 'False',
          reason: 'NoSources',
          message: 'no mounts',
          lastTransitionTime: '',
        },
      ],
      events: [
        {
          key: 'BackupWorkload/x',
          type: 'Warning',
          reason: 'NoSources',
          message: 'no mounts',
          count: 1,
          firstTimestamp: '',
          lastTimestamp: '',
        },
      ],
    });
    expect(text.split('no mounts')).to.have.length(2);
    expect(text).to.match(/^ {2}Warning +NoSources +x1 +\(the Message above\)$/m);
    expect(describeData({ entry, conditions: [], events: [] })).to.include({
      planId: 'backrest_sidecar_x',
      reason: 'NoSources',
    });
  });

  it('renders every -o format and --no-headers', () => {
    const rows = planRows(summary());
    expect(renderPlans(rows, 'name')).to.equal(
      'plan/backrest_sidecar_db\nplan/backrest_sidecar_x\n',
    );
    expect(JSON.parse(renderPlans(rows, 'json'))).to.deep.equal(rows);
    expect(parseYaml(renderPlans(rows, 'yaml'))).to.deep.equal(rows);
    const wide = renderPlans(rows, 'wide').split('\n');
    expect(wide[0]).to.match(/STATUS\s+KEEP\s+MESSAGE$/);
    expect(wide[1]).to.match(/InSync\s+daily=7\s+-$/);
    expect(wide[2]).to.match(/Skipped\(NoSources\)\s+-\s+no mounts$/);
    const bare = renderPlans(rows, 'table', { noHeaders: true }).split('\n');
    expect(bare[0]).to.match(/^backrest_sidecar_db\s/);
    expect(bare.filter(Boolean)).to.have.length(2);
  });

  it('shows a workload whose labels were refused as Invalid', () => {
    const refused = summary({
      entries: [
        {
          planId: 'p',
          container: 'c',
          state: 'Skipped',
          reason: 'InvalidSpec',
          message: 'label backrest.keep="x"',
          changed: false,
        },
      ],
    });
    expect(planRows(refused)[0]).to.include({
      status: 'Invalid',
      message: 'label backrest.keep="x"',
    });
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
