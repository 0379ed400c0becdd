// Writes docs/labels.md from the BackupWorkload schema (see packages/cli/src/label-reference.ts).
// Run through `npm run docs:labels` (builds first). `--check` exits 1 when the file is stale.
import { readFile, writeFile } from 'node:fs/promises';
import { renderLabelReference } from '../packages/cli/dist/label-reference.js';

const file = new URL('../docs/labels.md', import.meta.url);
const text = renderLabelReference();
if (process.argv.includes('--check')) {
  const current = await readFile(file, 'utf8').catch(() => '');
  if (current !== text) {
    process.stderr.write('docs/labels.md is stale: run `npm run docs:labels`\n');
    process.exit(1);
  }
} else {
  await writeFile(file, text);
  process.stderr.write('docs/labels.md written\n');
}
