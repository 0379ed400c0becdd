import { expect } from 'chai';
import fc from 'fast-check';
import { lineDiff } from './line-diff.js';
import { lineDiff as referenceLineDiff } from './reference/line-diff.js';

/** Applies a unified diff produced by lineDiff; throws if a context/removed line doesn't match. */
function applyPatch(before: string, patch: string): string {
  const src = before === '' ? [] : before.replace(/\n$/, '').split('\n');
  const out: string[] = [];
  const lines = patch.replace(/\n$/, '').split('\n').slice(2);
  let pos = 0; // index into src
  for (let i = 0; i < lines.length; i++) {
    const h = /^@@ -(\d+),(\d+) \+\d+,\d+ @@$/.exec(lines[i] ?? '');
    if (!h) throw new Error(`expected a hunk header, got ${lines[i]}`);
    const start = Number(h[2]) === 0 ? Number(h[1]) : Number(h[1]) - 1;
    while (pos < start) out.push(src[pos++] ?? '');
    while (i + 1 < lines.length && !lines[i + 1]?.startsWith('@@')) {
      const l = lines[++i] ?? '';
      const body = l.slice(1);
      if (l[0] === '+') out.push(body);
      else {
        if (src[pos] !== body) throw new Error(`line ${pos + 1}: expected ${JSON.stringify(body)}`);
        if (l[0] === ' ') out.push(body);
        pos++;
      }
    }
  }
  while (pos < src.length) out.push(src[pos++] ?? '');
  return out.length ? out.join('\n') + '\n' : '';
}

describe('lineDiff', () => {
  it('is empty for equal texts', () => expect(lineDiff('a\nb\n', 'a\nb\n')).to.equal(''));

  it('shows a one-line change with 3 lines of context', () => {
    const before = ['1', '2', '3', '4', '5', '6', '7', '8'].join('\n') + '\n';
    const after = before.replace('5', 'five');
    expect(lineDiff(before, after, 'c.json')).to.equal(
      [
        '--- a/c.json',
        '+++ b/c.json',
        '@@ -2,7 +2,7 @@',
        ' 2',
        ' 3',
        ' 4',
        '-5',
        '+five',
        ' 6',
        ' 7',
        ' 8',
        '',
      ].join('\n'),
    );
  });

  it('Myers finds the minimal diff where the middle is large', () => {
    const lines = Array.from({ length: 3000 }, (_, i) => `line ${i}`);
    const before = lines.join('\n') + '\n';
    const after = before.replace('line 0\n', 'line zero\n').replace('line 2999\n', 'last\n');
    const d = lineDiff(before, after);
    expect(d.split('\n').filter((l) => /^[-+][^-+]/.test(l))).to.have.length(4);
    expect(applyPatch(before, d)).to.equal(after);
  });

  it('diffs against an empty file', () => {
    expect(lineDiff('', 'x\n')).to.equal(
      '--- a/config.json\n+++ b/config.json\n@@ -0,0 +1,1 @@\n+x\n',
    );
  });

  it('emits a pure insertion of 200,000 lines exactly, with the surrounding context', () => {
    const head = ['{', '  "plans": ['];
    const tail = ['  ]', '}'];
    const added = Array.from({ length: 200_000 }, (_, i) => `    "plan ${i}",`);
    const before = [...head, ...tail].join('\n') + '\n';
    const after = [...head, ...added, ...tail].join('\n') + '\n';
    const d = lineDiff(before, after);
    const lines = d.split('\n');
    expect(lines[2]).to.equal('@@ -1,4 +1,200004 @@');
    expect(lines.filter((l) => l.startsWith('+ '))).to.have.length(200_000);
    expect(lines.filter((l) => l.startsWith('-'))).to.have.length(1); // the '--- a/' header
    expect(applyPatch(before, d)).to.equal(after);
    expect(applyPatch(after, lineDiff(after, before))).to.equal(before);
  });

  it('keeps Myers memory bounded by maxEdits when one side of a large middle is one line', () => {
    // D = 200,001 > maxEdits: Myers gives up after 1,000 steps (with 2,003-slot arrays, not
    // 400,005-slot ones: the unbounded version needs ~1.6 GB here), then the LCS table (1 row).
    const before = 'a\nOLD\nz\n';
    const middle = Array.from({ length: 200_000 }, (_, i) => `new ${i}`);
    const after = ['a', ...middle, 'z'].join('\n') + '\n';
    const d = lineDiff(before, after);
    expect(d.split('\n')[2]).to.equal('@@ -1,3 +1,200002 @@');
    expect(applyPatch(before, d)).to.equal(after);
  });

  describe('the same bytes as before its fast paths (reference/line-diff.ts)', () => {
    const line = fc.constantFrom('a', 'b', 'c', '', '{', '}', '  "x": 1,');
    const lines = (max: number): fc.Arbitrary<string[]> => fc.array(line, { maxLength: max });
    // A long common head and tail around small, often empty, middles: where the fast paths are.
    const pair = fc
      .record({
        head: lines(30),
        midA: lines(8),
        midB: lines(8),
        tail: lines(30),
        endA: fc.boolean(),
        endB: fc.boolean(),
      })
      .map(({ head, midA, midB, tail, endA, endB }) => {
        const text = (mid: string[], end: boolean): string => {
          const all = [...head, ...mid, ...tail];
          return all.length === 0 ? '' : all.join('\n') + (end ? '\n' : '');
        };
        return [text(midA, endA), text(midB, endB)] as const;
      });
    const limits = fc.constantFrom<{ maxEdits?: number; maxCells?: number }>(
      {},
      { maxEdits: 0 },
      { maxEdits: 2 },
      { maxEdits: 0, maxCells: 4 },
    );

    it('fast-check: common head and tail, every path and trailing-newline mix', () => {
      fc.assert(
        fc.property(pair, limits, ([a, b], lim) => {
          expect(lineDiff(a, b, 'c.json', lim)).to.equal(referenceLineDiff(a, b, 'c.json', lim));
          expect(lineDiff(b, a, 'c.json', lim)).to.equal(referenceLineDiff(b, a, 'c.json', lim));
        }),
        { numRuns: 2000 },
      );
    });

    it("fast-check: a new file (from '') and a deleted one (to '')", () => {
      const text = fc
        .array(fc.oneof(line, fc.string({ maxLength: 6 })), { maxLength: 40 })
        .chain((l) => fc.boolean().map((end) => l.join('\n') + (end ? '\n' : '')));
      fc.assert(
        fc.property(text, limits, (t, lim) => {
          expect(lineDiff('', t, 'c.json', lim)).to.equal(referenceLineDiff('', t, 'c.json', lim));
          expect(lineDiff(t, '', 'c.json', lim)).to.equal(referenceLineDiff(t, '', 'c.json', lim));
        }),
        { numRuns: 1000 },
      );
    });

    it('fast-check: unrelated texts', () => {
      const text = lines(40).chain((l) =>
        fc.boolean().map((end) => (l.length ? l.join('\n') + (end ? '\n' : '') : '')),
      );
      fc.assert(
        fc.property(text, text, limits, (a, b, lim) => {
          expect(lineDiff(a, b, 'c.json', lim)).to.equal(referenceLineDiff(a, b, 'c.json', lim));
        }),
        { numRuns: 1000 },
      );
    });

    it('fast-check: a few edits scattered over a text (several hunks, gaps around 2·context)', () => {
      const edited = fc
        .array(fc.oneof({ weight: 4, arbitrary: fc.constant('a') }, line), { maxLength: 60 })
        .chain((lines) =>
          fc
            .array(fc.tuple(fc.nat(80), line, fc.constantFrom('insert', 'delete', 'replace')), {
              maxLength: 6,
            })
            .map((edits) => {
              const next = [...lines];
              for (const [at, l, kind] of edits) {
                const i = at % (next.length + 1);
                if (kind === 'insert') next.splice(i, 0, l);
                else if (kind === 'delete') next.splice(i, 1);
                else next[i] = l;
              }
              return [lines.join('\n') + '\n', next.join('\n') + '\n'] as const;
            }),
        );
      fc.assert(
        fc.property(edited, limits, ([a, b], lim) => {
          expect(lineDiff(a, b, 'c.json', lim)).to.equal(referenceLineDiff(a, b, 'c.json', lim));
          expect(lineDiff(b, a, 'c.json', lim)).to.equal(referenceLineDiff(b, a, 'c.json', lim));
        }),
        { numRuns: 2000 },
      );
    });

    it('fast-check: texts longer than the chunks their common ends are compared in', () => {
      const long = (c: string) => fc.integer({ min: 0, max: 12 }).map((n) => c.repeat(n * 97));
      const big = fc
        .record({
          head: fc.array(fc.oneof(long('h'), line), { maxLength: 8 }),
          midA: lines(3),
          midB: lines(3),
          tail: fc.array(fc.oneof(long('t'), line), { maxLength: 8 }),
          endA: fc.boolean(),
          endB: fc.boolean(),
        })
        .map(
          ({ head, midA, midB, tail, endA, endB }) =>
            [
              [...head, ...midA, ...tail].join('\n') + (endA ? '\n' : ''),
              [...head, ...midB, ...tail].join('\n') + (endB ? '\n' : ''),
            ] as const,
        );
      fc.assert(
        fc.property(big, ([a, b]) => {
          expect(lineDiff(a, b)).to.equal(referenceLineDiff(a, b));
          expect(lineDiff(b, a)).to.equal(referenceLineDiff(b, a));
        }),
        { numRuns: 300 },
      );
    });

    it('fast-check: middles with no line in common (one side short, the other up to 200 lines)', () => {
      // Disjoint alphabets around a shared head and tail: the LCS path's no-common-line shortcut.
      const side = (alphabet: string[], max: number): fc.Arbitrary<string[]> =>
        fc.array(fc.constantFrom(...alphabet), { maxLength: max });
      const shared = side(['a', 'b', '{', '}'], 6);
      fc.assert(
        fc.property(
          shared,
          side(['x', 'y', ''], 70),
          side(['p', 'q', '  "x": 1,'], 200),
          shared,
          fc.boolean(),
          fc.constantFrom<{ maxEdits?: number }>({}, { maxEdits: 0 }, { maxEdits: 3 }),
          (head, midA, midB, tail, swap, lim) => {
            const a = [...head, ...midA, ...tail].join('\n') + '\n';
            const b = [...head, ...midB, ...tail].join('\n') + '\n';
            const [x, y] = swap ? [b, a] : [a, b];
            expect(lineDiff(x, y, 'c.json', lim)).to.equal(referenceLineDiff(x, y, 'c.json', lim));
          },
        ),
        { numRuns: 500 },
      );
    });

    it('fast-check: a block inserted or deleted, alone or for a few lines (blockDiff)', () => {
      // The block path's cases: a block against no lines of the other side, or against a few
      // (past maxEdits) that it may or may not share a line with; context from none to more than
      // 3 lines either side, lines that slide the block, that are substrings of others ('}' in
      // '  }' and '},') or empty; every trailing-newline mix (a missing final newline is not a
      // change: no marker in this format), both directions.
      const l = fc.constantFrom('a', '}', '  }', '},', '', '  "id": "plan_0001",');
      const shape = fc.record({
        head: fc.array(l, { maxLength: 6 }),
        block: fc.array(l, { minLength: 1, maxLength: 40 }),
        few: fc.array(fc.oneof(l, fc.constantFrom('  "plans": []', 'b')), { maxLength: 3 }),
        tail: fc.array(l, { maxLength: 6 }),
        endA: fc.boolean(),
        endB: fc.boolean(),
        swap: fc.boolean(),
      });
      fc.assert(
        fc.property(shape, limits, ({ head, block, few, tail, endA, endB, swap }, lim) => {
          const text = (lines: string[], end: boolean): string =>
            lines.length === 0 ? '' : lines.join('\n') + (end ? '\n' : '');
          const a = text([...head, ...few, ...tail], endA);
          const b = text([...head, ...block, ...tail], endB);
          const [x, y] = swap ? [b, a] : [a, b];
          const d = lineDiff(x, y, 'c.json', lim);
          expect(d).to.equal(referenceLineDiff(x, y, 'c.json', lim));
          if (d) expect(applyPatch(x, d)).to.equal(y.endsWith('\n') || y === '' ? y : y + '\n');
        }),
        { numRuns: 3000 },
      );
    });

    it('2,000 plans added to a config with one repo (the dry run of issue #13)', () => {
      const head = ['{', '  "repos": [', '    {', '      "id": "default"', '    }', '  ],'];
      const plans = Array.from({ length: 2000 }, (_, i) => [
        '    {',
        `      "id": "p_${i}",`,
        '      "sources": [',
        `        "/srv/${i}"`,
        '      ]',
        `    }${i === 1999 ? '' : ','}`,
      ]).flat();
      const before = [...head, '  "plans": []', '}', ''].join('\n');
      const after = [...head, '  "plans": [', ...plans, '  ]', '}', ''].join('\n');
      expect(lineDiff(before, after)).to.equal(referenceLineDiff(before, after));
      expect(lineDiff(after, before)).to.equal(referenceLineDiff(after, before));
      const edited = after.replace('"/srv/1000"', '"/srv/one thousand"');
      expect(lineDiff(after, edited)).to.equal(referenceLineDiff(after, edited));
    });
  });

  it('fast-check: applying the diff to before gives after (Myers, LCS and replace paths)', () => {
    const text = fc
      .array(fc.constantFrom('a', 'b', 'c', '{', '}', '  "x": 1,'), { maxLength: 40 })
      .map((l) => (l.length ? l.join('\n') + '\n' : ''));
    fc.assert(
      fc.property(text, text, fc.constantFrom('myers', 'lcs', 'replace'), (a, b, path) => {
        const limits =
          path === 'myers' ? {} : path === 'lcs' ? { maxEdits: 0 } : { maxEdits: 0, maxCells: 4 };
        const d = lineDiff(a, b, 'config.json', limits);
        expect(d === '').to.equal(a === b);
        if (d) expect(applyPatch(a, d)).to.equal(b);
      }),
      { numRuns: 500 },
    );
  });
});
