// Relative links in the repository's markdown point at files that exist (an operator reading
// the docs on GitHub must not land on a 404), and no doc sends readers outside the repository
// to design notes they don't have.
import { expect } from 'chai';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const SKIP = new Set(['node_modules', 'dist', 'coverage', '.git', '.dockop', 'testdata']);

function markdown(dir = ROOT): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    if (SKIP.has(name) || name.startsWith('.')) continue;
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) out.push(...markdown(p));
    else if (name.endsWith('.md')) out.push(p);
  }
  return out;
}

describe('links in the markdown docs', () => {
  const files = markdown();

  it('finds the docs', () => {
    expect(files.map((f) => path.relative(ROOT, f))).to.include.members([
      'README.md',
      'docs/deploy.md',
      'docs/labels.md',
      'packages/cli/README.md',
    ]);
  });

  it('every relative link resolves to a file or directory in the repository', () => {
    const broken: string[] = [];
    for (const file of files) {
      const text = readFileSync(file, 'utf8').replace(/```[\s\S]*?```/g, '');
      for (const m of text.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
        const target = m[1]!;
        if (/^[a-z]+:/i.test(target) || target.startsWith('#')) continue;
        const rel = decodeURIComponent(target.split('#')[0]!);
        if (!existsSync(path.resolve(path.dirname(file), rel))) {
          broken.push(`${path.relative(ROOT, file)}: ${target}`);
        }
      }
    }
    expect(broken).to.deep.equal([]);
  });

  it('no doc refers readers to notes outside the repository (the seed, DESIGN.md)', () => {
    const outside: string[] = [];
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      if (/\bDESIGN\.md\b|\bsee the seed\b|seeds\//.test(text))
        outside.push(path.relative(ROOT, file));
    }
    expect(outside).to.deep.equal([]);
  });
});
