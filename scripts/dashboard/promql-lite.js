// A small PromQL subset, enough for the queries of deploy/grafana/dockop-dashboard.json, evaluated
// over a list of scrapes of a real /metrics endpoint (not a Prometheus server): selectors with
// = =~ != matchers, rate() and increase() over a range, sum/max [by (...)], histogram_quantile,
// time(), numbers, and the binary operators / and -. Dashboard variables ($controller, ...)
// match everything. Used by render.html (in the browser) and by its spec (in node).

/** Prometheus text format → [{ name, labels, value }]. */
export function parseExposition(text) {
  const out = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels = {};
    if (m[3]) {
      for (const l of m[3].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
        labels[l[1]] = l[2].replace(/\\(.)/g, '$1');
      }
    }
    const value = m[4] === '+Inf' ? Infinity : m[4] === '-Inf' ? -Infinity : Number(m[4]);
    out.push({ name: m[1], labels, value });
  }
  return out;
}

function tokenize(src) {
  const tokens = [];
  const re =
    /\s*(?:(\d+(?:\.\d+)?(?:ms|s|m|h|d)\b)|(\d+(?:\.\d+)?)|("(?:[^"\\]|\\.)*")|(=~|!=|!~|[=(){}[\],/*+-])|([a-zA-Z_:$][a-zA-Z0-9_:]*))/y;
  let m;
  let i = 0;
  while (i < src.length && (m = re.exec(src))) {
    i = re.lastIndex;
    if (m[1]) tokens.push({ t: 'dur', v: m[1] });
    else if (m[2]) tokens.push({ t: 'num', v: Number(m[2]) });
    else if (m[3]) tokens.push({ t: 'str', v: JSON.parse(m[3]) });
    else if (m[4]) tokens.push({ t: 'op', v: m[4] });
    else if (m[5]) tokens.push({ t: 'id', v: m[5] });
  }
  if (src.slice(i).trim()) throw new Error(`cannot read query at: ${src.slice(i, i + 30)}`);
  return tokens;
}

const DUR = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 };
function seconds(d) {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(d);
  return Number(m[1]) * DUR[m[2]];
}

/** Parses `query` (dashboard variables already substituted) into a tree. */
export function parse(query) {
  const q = query.replace(/\$__rate_interval/g, '1m').replace(/=~"\$[a-zA-Z_]+"/g, '=~".*"');
  const tk = tokenize(q);
  let p = 0;
  const peek = () => tk[p];
  const next = () => tk[p++];
  const expect = (v) => {
    const t = next();
    if (!t || t.v !== v) throw new Error(`expected ${v} in ${query}`);
  };
  function expr() {
    let left = term();
    while (
      peek() &&
      (peek().v === '/' || peek().v === '-' || peek().v === '*' || peek().v === '+')
    ) {
      const op = next().v;
      left = { k: 'bin', op, left, right: term() };
    }
    return left;
  }
  function labelList() {
    expect('(');
    const ls = [];
    while (peek().v !== ')') {
      ls.push(next().v);
      if (peek().v === ',') next();
    }
    expect(')');
    return ls;
  }
  function term() {
    const t = next();
    if (t.t === 'num') return { k: 'num', v: t.v };
    if (t.v === '(') {
      const e = expr();
      expect(')');
      return e;
    }
    if (t.t !== 'id') throw new Error(`unexpected ${t.v} in ${query}`);
    if (t.v === 'time' && peek()?.v === '(') {
      expect('(');
      expect(')');
      return { k: 'time' };
    }
    if (t.v === 'sum' || t.v === 'max' || t.v === 'min') {
      let by = null;
      if (peek().v === 'by') {
        next();
        by = labelList();
      }
      expect('(');
      const inner = expr();
      expect(')');
      if (peek()?.v === 'by') {
        next();
        by = labelList();
      }
      return { k: 'agg', fn: t.v, by, inner };
    }
    if (t.v === 'rate' || t.v === 'increase') {
      expect('(');
      const sel = selector(next().v);
      expect('[');
      const range = seconds(next().v);
      expect(']');
      expect(')');
      return { k: t.v, sel, range };
    }
    if (t.v === 'histogram_quantile') {
      expect('(');
      const q = next().v;
      expect(',');
      const inner = expr();
      expect(')');
      return { k: 'hq', q, inner };
    }
    return selector(t.v);
  }
  function selector(name) {
    const matchers = [];
    if (peek()?.v === '{') {
      next();
      while (peek().v !== '}') {
        const label = next().v;
        const op = next().v;
        const value = next().v;
        matchers.push({ label, op, re: new RegExp(`^(?:${value})$`), value });
        if (peek().v === ',') next();
      }
      next();
    }
    return { k: 'sel', name, matchers };
  }
  const tree = expr();
  if (p !== tk.length) throw new Error(`trailing tokens in ${query}`);
  return tree;
}

const key = (labels) =>
  JSON.stringify(
    Object.keys(labels)
      .sort()
      .map((k) => [k, labels[k]]),
  );

function matches(s, sel) {
  if (s.name !== sel.name) return false;
  return sel.matchers.every((m) => {
    const v = s.labels[m.label] ?? '';
    if (m.op === '=') return v === m.value;
    if (m.op === '!=') return v !== m.value;
    if (m.op === '=~') return m.re.test(v);
    if (m.op === '!~') return !m.re.test(v);
    return false;
  });
}

/**
 * Evaluates `tree` at scrape `i` of `scrapes` ([{ t: seconds, samples }]) → a scalar (number) or
 * an instant vector ([{ labels, value }]).
 */
export function evalAt(tree, scrapes, i) {
  const now = scrapes[i];
  switch (tree.k) {
    case 'num':
      return tree.v;
    case 'time':
      return now.t;
    case 'sel':
      return now.samples
        .filter((s) => matches(s, tree))
        .map((s) => ({ labels: withoutName(s.labels), value: s.value }));
    case 'rate':
    case 'increase': {
      // Per series, its oldest sample inside the range (two samples at least, as Prometheus).
      let j = i;
      while (j > 0 && now.t - scrapes[j - 1].t <= tree.range) j--;
      const first = new Map();
      for (let k = j; k < i; k++) {
        for (const s of scrapes[k].samples) {
          if (!matches(s, tree.sel)) continue;
          const id = key(s.labels);
          if (!first.has(id)) first.set(id, { t: scrapes[k].t, value: s.value });
        }
      }
      const out = [];
      for (const s of now.samples) {
        if (!matches(s, tree.sel)) continue;
        const before = first.get(key(s.labels));
        if (before === undefined) continue;
        const dt = now.t - before.t;
        const delta = s.value >= before.value ? s.value - before.value : s.value; // a counter reset
        const rate = delta / dt;
        out.push({
          labels: withoutName(s.labels),
          value: tree.k === 'rate' ? rate : rate * Math.min(tree.range, dt),
        });
      }
      return out;
    }
    case 'agg': {
      const v = evalAt(tree.inner, scrapes, i);
      const groups = new Map();
      for (const s of v) {
        const labels = {};
        for (const l of tree.by ?? []) if (s.labels[l] !== undefined) labels[l] = s.labels[l];
        const k = key(labels);
        const g = groups.get(k);
        if (!g) groups.set(k, { labels, value: s.value });
        else if (tree.fn === 'sum') g.value += s.value;
        else if (tree.fn === 'max') g.value = Math.max(g.value, s.value);
        else g.value = Math.min(g.value, s.value);
      }
      return [...groups.values()];
    }
    case 'hq': {
      const v = evalAt(tree.inner, scrapes, i);
      const groups = new Map();
      for (const s of v) {
        const { le, ...rest } = s.labels;
        const k = key(rest);
        if (!groups.has(k)) groups.set(k, { labels: rest, buckets: [] });
        groups.get(k).buckets.push({ le: le === '+Inf' ? Infinity : Number(le), count: s.value });
      }
      const out = [];
      for (const g of groups.values()) {
        const value = quantile(tree.q, g.buckets);
        if (value !== undefined) out.push({ labels: g.labels, value });
      }
      return out;
    }
    case 'bin': {
      const l = evalAt(tree.left, scrapes, i);
      const r = evalAt(tree.right, scrapes, i);
      const op = (a, b) =>
        tree.op === '/' ? a / b : tree.op === '-' ? a - b : tree.op === '*' ? a * b : a + b;
      if (typeof l === 'number' && typeof r === 'number') return op(l, r);
      if (typeof l === 'number') return r.map((s) => ({ labels: s.labels, value: op(l, s.value) }));
      if (typeof r === 'number') return l.map((s) => ({ labels: s.labels, value: op(s.value, r) }));
      const right = new Map(r.map((s) => [key(s.labels), s.value]));
      return l
        .filter((s) => right.has(key(s.labels)))
        .map((s) => ({ labels: s.labels, value: op(s.value, right.get(key(s.labels))) }))
        .filter((s) => Number.isFinite(s.value));
    }
  }
  throw new Error(`cannot evaluate ${tree.k}`);
}

/** Prometheus' histogram_quantile: linear interpolation inside the bucket holding the rank. */
function quantile(q, buckets) {
  buckets.sort((a, b) => a.le - b.le);
  const total = buckets.at(-1)?.count;
  if (!total) return undefined;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const b of buckets) {
    if (b.count >= rank) {
      if (b.le === Infinity) return prevLe;
      return prevLe + ((b.le - prevLe) * (rank - prevCount)) / Math.max(1e-12, b.count - prevCount);
    }
    prevLe = b.le;
    prevCount = b.count;
  }
  return prevLe;
}

function withoutName(labels) {
  return { ...labels };
}

/** One query over every scrape → series [{ labels, points: [[t, v]] }] (a scalar: one series). */
export function evalRange(query, scrapes) {
  const tree = parse(query);
  const series = new Map();
  for (let i = 0; i < scrapes.length; i++) {
    let v = evalAt(tree, scrapes, i);
    if (typeof v === 'number') v = [{ labels: {}, value: v }];
    for (const s of v) {
      const k = key(s.labels);
      if (!series.has(k)) series.set(k, { labels: s.labels, points: [] });
      series.get(k).points.push([scrapes[i].t, s.value]);
    }
  }
  return [...series.values()];
}
