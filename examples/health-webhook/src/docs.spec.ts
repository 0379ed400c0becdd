// docs/plugins.md shows this example verbatim, and its line count is what the page says.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..', '..', '..');
const read = (file: string): string => readFileSync(path.join(root, file), 'utf8');
const FILES = [
  'examples/health-webhook/src/health-hook.ts',
  'examples/health-webhook/src/index.ts',
];

/** Lines of code: neither blank nor only a comment. */
function codeLines(text: string): number {
  return text.split('\n').filter((l) => !/^\s*(\/\/.*|\/\*.*|\*.*)?$/.test(l)).length;
}

describe('health-webhook example in docs/plugins.md', () => {
  const docs = read('docs/plugins.md');

  for (const file of FILES) {
    it(`includes ${file} verbatim`, () => {
      const marker = `<!-- include: ${file} -->\n\n\`\`\`ts\n`;
      const start = docs.indexOf(marker);
      expect(start, `marker for ${file}`).to.be.greaterThan(-1);
      const body = docs.slice(start + marker.length, docs.indexOf('\n```', start + marker.length));
      expect(body).to.equal(read(file).trimEnd());
    });
  }

  it('is at most 40 lines of code, the number the page states', () => {
    const count = FILES.reduce((n, f) => n + codeLines(read(f)), 0);
    expect(count).to.be.at.most(40);
    expect(docs).to.include(`**${count} lines of its own code**`);
    expect(docs).to.include(`complete plugin in ${count} lines`);
  });
});
