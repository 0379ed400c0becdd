// The committed sample outputs (docs/samples/, made by scripts/capture-samples.sh) must still have
// the format the CLI prints: the same header, each row's cells starting under the header's.
import { expect } from 'chai';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderTable } from './output.js';
import { renderWorkloads } from './workload-output.js';

const SAMPLES = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  '..',
  'docs',
  'samples',
);

/** Start offsets of the cells of a kubectl-style line (cells are 3+ spaces apart, or 2 for the last). */
function starts(line: string): number[] {
  const out = [0];
  for (const m of line.matchAll(/ {2,}(?=\S)/g)) out.push(m.index + m[0].length);
  return out;
}

function check(file: string, current: string): void {
  const text = readFileSync(path.join(SAMPLES, file), 'utf8');
  const [header, ...rows] = text.trimEnd().split('\n');
  expect(
    header!.split(/ {2,}/),
    `${file}: the header changed; run scripts/capture-samples.sh`,
  ).to.deep.equal(current.trimEnd().split(/ {2,}/));
  expect(rows.length, `${file} has no rows`).to.be.at.least(1);
  const cols = starts(header!);
  for (const row of rows) {
    // Every cell of a row starts where its header does (the last, free-text one may hold spaces).
    const s = starts(row).slice(0, cols.length - 1);
    expect(s, `${file}: "${row}"`).to.deep.equal(cols.slice(0, s.length));
    expect(s.length, `${file}: "${row}" lacks cells`).to.equal(cols.length - 1);
  }
}

describe('docs/samples still match the output format', () => {
  it('get-plans.txt has the columns of `get plans`', () =>
    check('get-plans.txt', renderTable([], {})));
  it('get-plans-wide.txt has the columns of `get plans -o wide`', () =>
    check('get-plans-wide.txt', renderTable([], { wide: true })));
  it('get-workloads-wide.txt has the columns of `get workloads -o wide`', () =>
    check('get-workloads-wide.txt', renderWorkloads([], 'wide')));
  it('reconcile-dry-run.diff is a unified diff of config.json', () => {
    const diff = readFileSync(path.join(SAMPLES, 'reconcile-dry-run.diff'), 'utf8');
    expect(diff).to.match(/^--- a\/config\.json\n\+\+\+ b\/config\.json\n@@ /);
    expect(diff).to.include('"id": "backrest_sidecar_shop_db"');
  });
  it('every sample named in docs/samples/README.md exists', () => {
    const readme = readFileSync(path.join(SAMPLES, 'README.md'), 'utf8');
    const linked = [...readme.matchAll(/\]\(([^)]+\.(?:txt|diff))\)/g)].map((m) => m[1]!);
    expect(linked.length).to.be.at.least(3);
    for (const f of linked) expect(existsSync(path.join(SAMPLES, f)), f).to.equal(true);
  });
});
