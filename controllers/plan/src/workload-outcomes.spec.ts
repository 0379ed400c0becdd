import { expect } from 'chai';
import { TerminalError, type ResourceKey } from '@dockop/runtime';
import type { PlanEntry } from './plan-report.js';
import { entriesByKey } from './plan-reporting.js';
import { WorkloadOutcomes } from './workload-outcomes.js';

const CONFIG_KEY = 'BackrestConfig//c.json';

function entry(container: string, e: Partial<PlanEntry> = {}): PlanEntry {
  return {
    planId: `p_${container}`,
    container,
    state: 'Ready',
    reason: 'UpToDate',
    message: 'in sync',
    changed: false,
    ...e,
  };
}

describe('WorkloadOutcomes', () => {
  function setup() {
    /** What the last render settled: each key with its error, if any. */
    const settled = new Map<ResourceKey, TerminalError | undefined>();
    const outcomes = new WorkloadOutcomes();
    const ctx = { settle: (key: ResourceKey, error?: TerminalError) => settled.set(key, error) };
    const record = (entries: PlanEntry[]) => {
      settled.clear();
      outcomes.record(entriesByKey(entries, CONFIG_KEY), ctx);
      return [...settled.keys()].sort();
    };
    return { settled, record };
  }

  it('settles a workload when its outcome changes: planned, skipped, another skip, gone and back', () => {
    const { settled, record } = setup();
    const skip = (message: string) => ({
      state: 'Skipped' as const,
      reason: 'RepoMissing',
      message,
    });
    expect(record([entry('a'), entry('b', skip('no repo x'))])).to.deep.equal([
      'BackupWorkload/a',
      'BackupWorkload/b',
    ]);
    // The same outcomes again (a plan's own reason and message may change): nothing.
    expect(
      record([entry('a', { reason: 'PlanWritten' }), entry('b', skip('no repo x'))]),
    ).to.deep.equal([]);
    // Another message for the skip, and a planned replica set: b, and c and d (new keys).
    expect(
      record([
        entry('a'),
        entry('b', skip('no repo y')),
        entry('c', { replicas: ['c', 'd'] }),
        entry('', { state: 'Orphaned', planId: 'p_old' }),
      ]),
    ).to.deep.equal(['BackupWorkload/b', 'BackupWorkload/c', 'BackupWorkload/d']);
    const b = settled.get('BackupWorkload/b');
    expect(b).to.be.instanceOf(TerminalError);
    expect(b).to.include({ message: 'no repo y', reason: 'RepoMissing', reported: true });
    expect(settled.get('BackupWorkload/d')).to.equal(undefined); // planned: a success
    // a gone, then back: settled again.
    expect(record([entry('b', skip('no repo y'))])).to.deep.equal([]);
    expect(record([entry('a'), entry('b', skip('no repo y'))])).to.deep.equal(['BackupWorkload/a']);
  });

  it('entriesByKey: one row per replica on its workload key, an orphan on the config key', () => {
    const rows = entriesByKey(
      [entry('a', { replicas: ['a', 'b'] }), entry('', { state: 'Orphaned' })],
      CONFIG_KEY,
    );
    expect(rows.map((r) => [r.container, r.key])).to.deep.equal([
      ['a', 'BackupWorkload/a'],
      ['b', 'BackupWorkload/b'],
      ['', CONFIG_KEY],
    ]);
  });
});
