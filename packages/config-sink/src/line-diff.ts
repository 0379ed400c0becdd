/**
 * A readable unified-style line diff (`---`/`+++` headers, `@@ -a,b +c,d @@` hunks, 3 lines of
 * context), '' when the texts are equal. Common prefix/suffix are trimmed first; a middle with
 * one side empty (a pure insertion or deletion, e.g. 2,000 new plans) is emitted as is, in O(N),
 * and so is a block against a few lines it shares none with (`"plans": []` becoming 2,000
 * plans): the block is then never split into an array of lines beside the output (see
 * blockDiff); otherwise the middle is diffed with Myers' O((N+M)·D) algorithm (a config change is
 * a few edited lines in thousands), whose memory is bounded by `maxEdits` (O(maxEdits²)), not by
 * the input size; past `maxEdits` it falls back to an LCS table, and past `maxCells` to a plain
 * replace, which is still a correct (if not minimal) diff. A missing final newline is not shown:
 * 'x' and 'x\n' have the same lines (no "\ No newline at end of file" marker).
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
  const { from, toA, toB, skipped } = commonEnds(before, after);
  const textA = before.slice(from, toA);
  const textB = after.slice(from, toB);
  const header = `--- a/${name}\n+++ b/${name}\n`;
  const maxEdits = limits.maxEdits ?? 1000;
  // Only the shorter text is split up front: a large block, the cost, is in the other one.
  const shortIsA = textA.length <= textB.length;
  const short = splitLines(shortIsA ? textA : textB);
  const long = shortIsA ? textB : textA;
  const block = blockDiff(short, long, shortIsA, skipped, maxEdits, header);
  if (block !== undefined) return block;
  const other = splitLines(long);
  const [a, b] = shortIsA ? [short, other] : [other, short];
  return linesDiff(a, b, skipped, maxEdits, limits.maxCells ?? 25_000_000, header);
}

/**
 * The general path: the diff of the lines `a` and `b` (the texts less `skipped` unchanged lines
 * at the start).
 */
function linesDiff(
  a: string[],
  b: string[],
  skipped: number,
  maxEdits: number,
  maxCells: number,
  header: string,
): string {
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
  const script = new EditScript(a, b);
  script.keep(head, pre);
  const middle = script.from(pre);
  // One side empty: the only (hence minimal) edit script; Myers would walk D = N diagonals.
  if (midA.length === 0 || midB.length === 0) replaceOps(midA, midB, middle);
  else if (!myersOps(midA, midB, maxEdits, middle)) middleOps(midA, midB, maxCells, middle);
  script.keep(a.length - suf, Math.min(a.length, a.length - suf + CONTEXT));
  const out = [header];
  hunks(script, skipped + head + 1, CONTEXT, out);
  // Joined once, flat: a concatenation would be copied again by its first reader (the redactor).
  return out.join('');
}

const NL = 10; // '\n'

/**
 * The diff when the lines that change are one block of `long` (a text; `short` is the other side,
 * split into lines) against none of `short`, or against a few lines that the general path would
 * replace wholesale (Myers gives up, then middleOps finds no line in common); undefined (for the
 * general path) otherwise. The block is split once, for the one join that builds the whole diff:
 * 2,000 new plans (32,000 lines) were split with the rest of the text, sliced twice, joined, and
 * joined again with the hunks (~1,000 fresh 4 KiB pages; ~600 so). Not block.replace(/\n/g,
 * '\n+'): Node 20 builds that a match at a time from cons strings, slower and heavier still.
 */
function blockDiff(
  short: string[],
  long: string,
  shortIsA: boolean,
  skipped: number,
  maxEdits: number,
  header: string,
): string | undefined {
  // The lines both start with (`long`'s up to index lo) and end with (from index hi), compared
  // in place: as in splitLines, a last line is the same with or without its newline.
  let pre = 0;
  let lo = 0;
  while (pre < short.length && lo < long.length) {
    const line = short[pre] ?? '';
    const end = lo + line.length;
    if (!long.startsWith(line, lo) || (end < long.length && long.charCodeAt(end) !== NL)) break;
    pre++;
    lo = Math.min(end + 1, long.length);
  }
  let suf = 0;
  let hi = long.length;
  while (suf < short.length - pre && hi > lo) {
    const end = long.charCodeAt(hi - 1) === NL ? hi - 1 : hi;
    const start = lineStart(long, end);
    const line = short[short.length - 1 - suf] ?? '';
    if (line.length !== end - start || !long.startsWith(line, start)) break;
    suf++;
    hi = start;
  }
  if (hi === lo) return undefined; // no block: a few lines, for the general path
  // short's changed lines: none (replaceOps), or a few that share no line with the block
  // (middleOps' shortcut to replaceOps, once Myers has given up).
  const s = short.length - pre - suf;
  if (s > FEW_LINES) return undefined;
  for (let i = pre; i < pre + s; i++) if (hasLine(long, lo, hi, short[i] ?? '')) return undefined;
  const lines = long.slice(lo, long.charCodeAt(hi - 1) === NL ? hi - 1 : hi).split('\n');
  const n = lines.length;
  // With no line in common the distance is n + s: up to maxEdits, Myers finds a script itself.
  if (s > 0 && n + s <= maxEdits) return undefined;
  // One hunk, as hunks() would write it for the runs ' ', '-', '+', ' ' (replaceOps: '-' first).
  const lead = Math.min(CONTEXT, pre);
  const trail = Math.min(CONTEXT, suf);
  const start = skipped + pre - lead + 1;
  const [countA, countB] = shortIsA
    ? [lead + s + trail, lead + n + trail]
    : [lead + n + trail, lead + s + trail];
  let before =
    header + hunkHeader(start, countA, start, countB) + prefixed(' ', short, pre - lead, pre);
  let after = prefixed(' ', short, short.length - suf, short.length - suf + trail);
  if (shortIsA) before += prefixed('-', short, pre, pre + s);
  else after = prefixed('+', short, pre, pre + s) + after;
  // The text before and after the block rides on its first and last line: one join, one flat
  // copy of the whole diff (the block prefixed apart, then joined in, was a second one).
  const t = shortIsA ? '+' : '-';
  lines[0] = `${before}${t}${lines[0] ?? ''}`;
  lines[n - 1] = `${lines[n - 1] ?? ''}\n${after}`;
  return lines.join(`\n${t}`);
}

/**
 * Whether `line` is a whole line of `text` in lo..hi (each a line start or the text's end); true
 * for '' unchecked (indexOf finds '' everywhere: the general path takes that case).
 */
function hasLine(text: string, lo: number, hi: number, line: string): boolean {
  if (line === '') return true;
  for (let i = text.indexOf(line, lo); i >= 0; i = text.indexOf(line, i + 1)) {
    const end = i + line.length;
    if (end > hi) return false;
    const starts = i === lo || text.charCodeAt(i - 1) === NL;
    if (starts && (end === text.length || text.charCodeAt(end) === NL)) return true;
  }
  return false;
}

/**
 * Where the texts' common head and tail of whole lines can be cut off, less CONTEXT lines each
 * side, before splitting them into lines: a one-line change in a 32,000-line config splits ~10
 * lines, not 64,000. `before.slice(from, toA)` and `after.slice(from, toB)` diff like the whole
 * texts, `skipped` lines later. The tail cut never reaches the first line that differs, so the
 * line-level prefix (which a missing final newline can extend by one line) is the same.
 */
function commonEnds(
  before: string,
  after: string,
): { from: number; toA: number; toB: number; skipped: number } {
  const p = commonPrefix(before, after);
  // The start of the line holding the first difference, then CONTEXT lines back.
  let from = lineStart(before, p);
  for (let i = 0; i < CONTEXT && from > 0; i++) from = lineStart(before, from - 1);
  let skipped = 0;
  for (let i = before.indexOf('\n'); i >= 0 && i < from; i = before.indexOf('\n', i + 1)) {
    skipped++;
  }
  // The common tail, not reaching into the line that holds the first difference in either.
  const firstA = lineEnd(before, p);
  const firstB = lineEnd(after, p);
  const max = Math.min(before.length - firstA, after.length - firstB);
  const q = commonSuffix(before, after, max);
  // Cut after the CONTEXT-th line that starts inside the common tail (if there are that many).
  let cut = before.length - q;
  for (let i = 0; i <= CONTEXT && cut >= 0; i++) {
    const nl = before.indexOf('\n', cut);
    cut = nl < 0 ? -1 : nl + 1;
  }
  if (cut < 0) return { from, toA: before.length, toB: after.length, skipped };
  return { from, toA: cut, toB: cut + after.length - before.length, skipped };
}

/** Compared a chunk at a time first: a slice comparison is native, a charCodeAt loop is not. */
const CHUNK = 4096;

/** The length of the common prefix of `x` and `y`. */
function commonPrefix(x: string, y: string): number {
  const n = Math.min(x.length, y.length);
  let p = 0;
  while (p + CHUNK <= n && x.slice(p, p + CHUNK) === y.slice(p, p + CHUNK)) p += CHUNK;
  while (p < n && x.charCodeAt(p) === y.charCodeAt(p)) p++;
  return p;
}

/** The length of the common suffix of `x` and `y`, at most `max`. */
function commonSuffix(x: string, y: string, max: number): number {
  let q = 0;
  while (
    q + CHUNK <= max &&
    x.slice(x.length - q - CHUNK, x.length - q) === y.slice(y.length - q - CHUNK, y.length - q)
  ) {
    q += CHUNK;
  }
  while (q < max && x.charCodeAt(x.length - 1 - q) === y.charCodeAt(y.length - 1 - q)) q++;
  return q;
}

/** The index where the line holding `at` starts. */
function lineStart(text: string, at: number): number {
  return at <= 0 ? 0 : text.lastIndexOf('\n', at - 1) + 1;
}

/** The index after the newline ending the line at `at` (the text's length for its last line). */
function lineEnd(text: string, at: number): number {
  const nl = text.indexOf('\n', at);
  return nl < 0 ? text.length : nl + 1;
}

/** Unchanged lines shown around a change. */
const CONTEXT = 3;

/** Lines from..to (exclusive) of a (kept ' ', removed '-') or of b (added '+'). */
interface Run {
  t: ' ' | '-' | '+';
  from: number;
  to: number;
}

/** Adds lines from..to (default: the line `from`; of a for ' ' and '-', of b for '+'), in order. */
type Emit = (t: Run['t'], from: number, to?: number) => void;

/**
 * An edit script as runs of consecutive lines (2,000 added plans are one run, not 32,000
 * objects); runs of one kind that touch are merged, so kinds alternate.
 */
class EditScript {
  readonly runs: Run[] = [];
  readonly a: readonly string[];
  readonly b: readonly string[];

  constructor(a: readonly string[], b: readonly string[]) {
    this.a = a;
    this.b = b;
  }

  add(t: Run['t'], from: number, to = from + 1): void {
    if (from >= to) return;
    const last = this.runs[this.runs.length - 1];
    if (last?.t === t && last.to === from) last.to = to;
    else this.runs.push({ t, from, to });
  }

  /** Lines of a kept as they are. */
  keep(from: number, to: number): void {
    this.add(' ', from, to);
  }

  /** An Emit whose indexes count from line `offset` of both texts (a trimmed middle's). */
  from(offset: number): Emit {
    return (t, from, to = from + 1) => this.add(t, offset + from, offset + to);
  }

  lines(run: Run): readonly string[] {
    return run.t === '+' ? this.b : this.a;
  }
}

function splitLines(s: string): string[] {
  if (s === '') return [];
  const lines = s.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** Myers' greedy shortest edit script into `emit`; false (nothing emitted) past maxEdits. */
function myersOps(a: string[], b: string[], maxEdits: number, emit: Emit): boolean {
  const n = a.length;
  const m = b.length;
  // |k| ≤ d ≤ dMax: the diagonals array needs 2·dMax+3 slots, not 2·(N+M)+3 (each d keeps a copy).
  // The distance is at least |n - m|: past maxEdits, walking maxEdits diagonals first is wasted
  // (1 line against 30,000, a first dry run over a one-line config, took 120 ms to give up).
  if (Math.abs(n - m) > maxEdits) return false;
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
      if (x >= n && y >= m) {
        backtrack(a, b, trace, off, emit);
        return true;
      }
    }
  }
  return false;
}

function backtrack(a: string[], b: string[], trace: Int32Array[], off: number, emit: Emit): void {
  // Walked from the end: collected backwards (a diagonal as one range), emitted forwards.
  const ops: [Run['t'], number, number][] = [];
  let x = a.length;
  let y = b.length;
  for (let d = trace.length - 1; d >= 0; d--) {
    const v = trace[d] ?? new Int32Array(0);
    const k = x - y;
    const prevK =
      k === -d || (k !== d && (v[off + k - 1] ?? 0) < (v[off + k + 1] ?? 0)) ? k + 1 : k - 1;
    const prevX = v[off + prevK] ?? 0;
    const prevY = prevX - prevK;
    const same = Math.max(0, Math.min(x - prevX, y - prevY));
    if (same > 0) ops.push([' ', x - same, x]);
    x -= same;
    y -= same;
    if (d > 0) {
      if (x === prevX) ops.push(['+', y - 1, y--]);
      else ops.push(['-', x - 1, x--]);
    }
  }
  for (let i = ops.length - 1; i >= 0; i--) {
    const [t, from, to] = ops[i] ?? [' ', 0, 0];
    emit(t, from, to);
  }
}

/** Every line of `a` removed, then every line of `b` added (one run each). */
function replaceOps(a: string[], b: string[], emit: Emit): void {
  emit('-', 0, a.length);
  emit('+', 0, b.length);
}

/** Lines of the shorter side looked up in the longer one at most (each a native scan). */
const FEW_LINES = 64;

/** True when `short` (at most FEW_LINES lines) and `long` have no line in common. */
function noCommonLine(short: readonly string[], long: readonly string[]): boolean {
  for (const line of short) if (long.includes(line)) return false;
  return true;
}

function middleOps(a: string[], b: string[], maxCells: number, emit: Emit): void {
  const n = a.length;
  const m = b.length;
  if (n * m > maxCells) return replaceOps(a, b, emit);
  // No line in common: the LCS is empty and the walk below removes every line of a, then adds
  // every line of b, i.e. replaceOps. `"plans": []` against 2,000 new plans (a first dry run)
  // filled and walked a 32,000-cell table, a line at a time, for that.
  if (n <= FEW_LINES ? noCommonLine(a, b) : m <= FEW_LINES && noCommonLine(b, a)) {
    return replaceOps(a, b, emit);
  }
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
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) {
      emit(' ', i++);
      j++;
    } else if ((lcs[(i + 1) * w + j] ?? 0) >= (lcs[i * w + j + 1] ?? 0)) {
      emit('-', i++);
    } else {
      emit('+', j++);
    }
  }
  while (i < n) emit('-', i++);
  while (j < m) emit('+', j++);
}

/**
 * The hunks of `script` (each line ending in a newline), appended to `out`; its first line is line
 * `first` of both texts (the lines before it are unchanged and out of reach of any hunk). A hunk
 * is a change with up to `context` unchanged lines either side; changes at most 2·`context` lines
 * apart share one.
 */
function hunks(script: EditScript, first: number, context: number, out: string[]): void {
  const runs = script.runs;
  const size = (run: Run | undefined): number => (run ? run.to - run.from : 0);
  const emit = (t: Run['t'], lines: readonly string[], from: number, to: number): void => {
    if (from < to) out.push(prefixed(t, lines, from, to));
  };
  // Line numbers in a and b where runs[r] starts.
  let la = first;
  let lb = first;
  for (let r = 0; r < runs.length;) {
    const run = runs[r];
    if (!run || run.t === ' ') {
      la += size(run);
      lb += size(run);
      r++;
      continue;
    }
    // Kinds alternate: the run before a change, if any, is unchanged lines; so is the one after
    // the last change of the hunk.
    const lead = Math.min(context, size(runs[r - 1]));
    let end = r;
    for (;;) {
      const next = runs[end + 1];
      if (next && next.t !== ' ') end++;
      else if (next && end + 2 < runs.length && size(next) <= 2 * context) end += 2;
      else break;
    }
    const trail = Math.min(context, size(runs[end + 1]));
    let countA = lead + trail;
    let countB = lead + trail;
    for (let i = r; i <= end; i++) {
      const t = runs[i]?.t;
      if (t !== '+') countA += size(runs[i]);
      if (t !== '-') countB += size(runs[i]);
    }
    const startA = la - lead;
    const startB = lb - lead;
    out.push(hunkHeader(startA, countA, startB, countB));
    const before = runs[r - 1];
    if (before) emit(' ', script.a, before.to - lead, before.to);
    for (let i = r; i <= end; i++) {
      const x = runs[i];
      if (x) emit(x.t, script.lines(x), x.from, x.to);
    }
    const after = runs[end + 1];
    if (after) emit(' ', script.a, after.from, after.from + trail);
    la = startA + countA - trail;
    lb = startB + countB - trail;
    r = end + 1;
  }
}

/** A hunk's header; a side with no lines is numbered by the line before it. */
function hunkHeader(startA: number, countA: number, startB: number, countB: number): string {
  return `@@ -${countA === 0 ? startA - 1 : startA},${countA} +${countB === 0 ? startB - 1 : startB},${countB} @@\n`;
}

/** Lines from..to of `lines`, each prefixed with `t` and ending in a newline ('' for none). */
function prefixed(t: Run['t'], lines: readonly string[], from: number, to: number): string {
  return from < to ? `${t}${lines.slice(from, to).join(`\n${t}`)}\n` : '';
}
