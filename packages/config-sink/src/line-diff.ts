/**
 * A readable unified-style line diff (`---`/`+++` headers, `@@ -a,b +c,d @@` hunks, 3 lines of
 * context), '' when the texts are equal. Common prefix/suffix are trimmed first; a middle with
 * one side empty (a pure insertion or deletion, e.g. 2,000 new plans) is emitted as is, in O(N);
 * otherwise it is diffed with Myers' O((N+M)·D) algorithm (a config change is a few edited lines
 * in thousands), whose memory is bounded by `maxEdits` (O(maxEdits²)), not by the input size;
 * past `maxEdits` it falls back to an LCS table, and past `maxCells` to a plain replace, which is
 * still a correct (if not minimal) diff.
 */
export interface LineDiffLimits {
  /** Edit distance up to which Myers is used. Default 1000. */
  maxEdits?: number;
  /** Largest LCS table (lines × lines) before falling back to a replace. Default 25e6. */
  maxCells?: number;
}

export function lineDiff(
  before: string,
  after: string,
  name = 'config.json',
  limits: LineDiffLimits = {},
): string {
  if (before === after) return '';
  const a = splitLines(before);
  const b = splitLines(after);
  let pre = 0;
  while (pre < a.length && pre < b.length && a[pre] === b[pre]) pre++;
  let suf = 0;
  while (
    suf < a.length - pre &&
    suf < b.length - pre &&
    a[a.length - 1 - suf] === b[b.length - 1 - suf]
  ) {
    suf++;
  }
  const midA = a.slice(pre, a.length - suf);
  const midB = b.slice(pre, b.length - suf);
  // Only the unchanged lines a hunk can show are kept around the middle: every change is in it.
  const head = Math.max(0, pre - CONTEXT);
  const ops: Op[] = [];
  for (let i = head; i < pre; i++) ops.push({ t: ' ', line: a[i] ?? '' });
  // One side empty: the only (hence minimal) edit script; Myers would walk D = N diagonals.
  const middle =
    midA.length === 0 || midB.length === 0
      ? replaceOps(midA, midB)
      : (myersOps(midA, midB, limits.maxEdits ?? 1000) ??
        middleOps(midA, midB, limits.maxCells ?? 25_000_000));
  for (const op of middle) ops.push(op);
  const tail = Math.min(a.length, a.length - suf + CONTEXT);
  for (let i = a.length - suf; i < tail; i++) ops.push({ t: ' ', line: a[i] ?? '' });
  return `--- a/${name}\n+++ b/${name}\n${hunks(ops, head + 1, CONTEXT)}`;
}

/** Unchanged lines shown around a change. */
const CONTEXT = 3;

interface Op {
  t: ' ' | '-' | '+';
  line: string;
}

function splitLines(s: string): string[] {
  if (s === '') return [];
  const lines = s.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** Myers' greedy shortest edit script; undefined when the distance exceeds maxEdits. */
function myersOps(a: string[], b: string[], maxEdits: number): Op[] | undefined {
  const n = a.length;
  const m = b.length;
  // |k| ≤ d ≤ dMax: the diagonals array needs 2·dMax+3 slots, not 2·(N+M)+3 (each d keeps a copy).
  // The distance is at least |n - m|: past maxEdits, walking maxEdits diagonals first is wasted
  // (1 line against 30,000, a first dry run over a one-line config, took 120 ms to give up).
  if (Math.abs(n - m) > maxEdits) return undefined;
  const dMax = Math.min(n + m, maxEdits);
  const off = dMax + 1;
  let v = new Int32Array(2 * dMax + 3);
  const trace: Int32Array[] = [];
  for (let d = 0; d <= dMax; d++) {
    trace.push(v);
    v = v.slice();
    for (let k = -d; k <= d; k += 2) {
      let x =
        k === -d || (k !== d && (v[off + k - 1] ?? 0) < (v[off + k + 1] ?? 0))
          ? (v[off + k + 1] ?? 0)
          : (v[off + k - 1] ?? 0) + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) {
        x++;
        y++;
      }
      v[off + k] = x;
      if (x >= n && y >= m) return backtrack(a, b, trace, off);
    }
  }
  return undefined;
}

function backtrack(a: string[], b: string[], trace: Int32Array[], off: number): Op[] {
  const ops: Op[] = [];
  let x = a.length;
  let y = b.length;
  for (let d = trace.length - 1; d >= 0; d--) {
    const v = trace[d] ?? new Int32Array(0);
    const k = x - y;
    const prevK =
      k === -d || (k !== d && (v[off + k - 1] ?? 0) < (v[off + k + 1] ?? 0)) ? k + 1 : k - 1;
    const prevX = v[off + prevK] ?? 0;
    const prevY = prevX - prevK;
    while (x > prevX && y > prevY) {
      ops.push({ t: ' ', line: a[--x] ?? '' });
      y--;
    }
    if (d > 0) {
      if (x === prevX) ops.push({ t: '+', line: b[--y] ?? '' });
      else ops.push({ t: '-', line: a[--x] ?? '' });
    }
  }
  return ops.reverse();
}

/** Every line of `a` removed, then every line of `b` added. */
function replaceOps(a: string[], b: string[]): Op[] {
  const ops: Op[] = [];
  for (const line of a) ops.push({ t: '-', line });
  for (const line of b) ops.push({ t: '+', line });
  return ops;
}

function middleOps(a: string[], b: string[], maxCells: number): Op[] {
  const n = a.length;
  const m = b.length;
  if (n * m > maxCells) return replaceOps(a, b);
  // lcs[i][j] = LCS length of a[i..] and b[j..], row-major in one typed array.
  const w = m + 1;
  const lcs = new Uint32Array((n + 1) * w);
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i * w + j] =
        a[i] === b[j]
          ? (lcs[(i + 1) * w + j + 1] ?? 0) + 1
          : Math.max(lcs[(i + 1) * w + j] ?? 0, lcs[i * w + j + 1] ?? 0);
    }
  }
  const ops: Op[] = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) {
      ops.push({ t: ' ', line: a[i] ?? '' });
      i++;
      j++;
    } else if ((lcs[(i + 1) * w + j] ?? 0) >= (lcs[i * w + j + 1] ?? 0)) {
      ops.push({ t: '-', line: a[i++] ?? '' });
    } else {
      ops.push({ t: '+', line: b[j++] ?? '' });
    }
  }
  while (i < n) ops.push({ t: '-', line: a[i++] ?? '' });
  while (j < m) ops.push({ t: '+', line: b[j++] ?? '' });
  return ops;
}

/**
 * The hunks of `ops` (each line ending in a newline), the first op being line `first` of both
 * texts (the lines before it are unchanged and out of reach of any hunk).
 */
function hunks(ops: Op[], first: number, context: number): string {
  const out: string[] = [];
  // Line numbers in a and b of the op at `k`, walked forward as hunks are found.
  let k = 0;
  let la = first;
  let lb = first;
  while (k < ops.length) {
    if (ops[k]?.t === ' ') {
      k++;
      la++;
      lb++;
      continue;
    }
    const start = Math.max(0, k - context);
    // The context lines before the change are unchanged: back to their line numbers.
    la -= k - start;
    lb -= k - start;
    let end = k;
    // Extend while the next change is within 2*context unchanged lines.
    for (;;) {
      let next = end + 1;
      while (next < ops.length && ops[next]?.t === ' ') next++;
      if (next < ops.length && next - end - 1 <= 2 * context) end = next;
      else break;
    }
    const stop = Math.min(ops.length, end + context + 1);
    let countA = 0;
    let countB = 0;
    for (let i = start; i < stop; i++) {
      const t = ops[i]?.t;
      if (t !== '+') countA++;
      if (t !== '-') countB++;
    }
    const startA = countA === 0 ? la - 1 : la;
    const startB = countB === 0 ? lb - 1 : lb;
    out.push(`@@ -${startA},${countA} +${startB},${countB} @@\n`);
    for (let i = start; i < stop; i++) {
      const o = ops[i];
      if (o) out.push(`${o.t}${o.line}\n`);
    }
    la += countA;
    lb += countB;
    k = stop;
  }
  return out.join('');
}
