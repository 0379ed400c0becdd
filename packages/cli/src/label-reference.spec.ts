import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { backupWorkloadDefinition } from '@backrest-sidecar/api';
import { checkLabels, labelRows, renderLabelReference } from './label-reference.js';

const committed = new URL('../../../docs/labels.md', import.meta.url);

describe('docs/labels.md (generated from the BackupWorkload schema)', () => {
  it('is what `npm run docs:labels` generates from the code today', () => {
    expect(readFileSync(committed, 'utf8')).to.equal(
      renderLabelReference(),
      'docs/labels.md is stale: run `npm run docs:labels` and commit it',
    );
  });

  it('lists every label the definition maps, the enable label and the explicit paths', () => {
    const labels = labelRows().map((r) => r.label);
    expect(labels).to.include('backrest.enable');
    for (const l of Object.keys(backupWorkloadDefinition.selector.paths ?? {})) {
      expect(labels).to.include(l);
    }
    expect(new Set(labels).size).to.equal(labels.length);
  });

  it('shows the real error for a bad value, naming label and value', () => {
    const row = labelRows().find((r) => r.label === 'backrest.schedule')!;
    expect(row.error).to.include('label backrest.schedule="61 * * * *"');
    expect(checkLabels({ 'backrest.enable': 'true', 'backrest.schedule': '5 4 * * *' })).to.equal(
      '',
    );
  });
});
