import { expect } from 'chai';
import { explainNoMatch } from './no-match-explanation.js';
import type { ResticSnapshot } from './restic-json.js';

const s = (...paths: string[]): ResticSnapshot => ({
  id: 'x',
  short_id: 'x',
  time: '2026-01-01T00:00:00Z',
  paths,
  hostname: 'h',
});

describe('explainNoMatch', () => {
  it('explains a snapshot of all of /volumes (restic-compose-backup) and exact-path matching', () => {
    const m = explainNoMatch('/volumes/p/app', [s('/volumes'), s('/volumes')]);
    expect(m).to.include('2 snapshots cover /volumes as a whole');
    expect(m).to.include('exactly');
    expect(m).to.include('--engine restic');
  });

  it('points at the other --include-project-name setting when snapshots exist there', () => {
    const m = explainNoMatch('/volumes/app', [s('/volumes/p/app')], '/volumes/p/app');
    expect(m).to.include('1 snapshot have /volumes/p/app').and.include('--include-project-name');
  });

  it('explains snapshots of paths below the workload path', () => {
    expect(explainNoMatch('/volumes/app', [s('/volumes/app/data')])).to.include(
      'paths below it (/volumes/app/data)',
    );
  });

  it('does not take a sibling with a common prefix for an ancestor or a descendant', () => {
    const m = explainNoMatch('/volumes/app', [s('/volumes/app2'), s('/volumes/ap')]);
    expect(m).to.include("none of the repository's 2 snapshots has the path /volumes/app");
    expect(m).to.include('/volumes/ap, /volumes/app2');
  });
});
