/** Small JSON helpers shared by the codecs. Everything here is pure. */

export type JsonObject = Record<string, unknown>;

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function asArray(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

export function asStringArray(v: unknown): string[] {
  return asArray(v).filter((x): x is string => typeof x === 'string');
}

export function deepClone<T>(v: T): T {
  return v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T);
}

const SURROGATE = /[\uD800-\uDFFF]/;

/**
 * Code-point (= UTF-8 byte) order, which is what Go's `slices.Sort` on strings uses; JS's `<`
 * compares UTF-16 units and disagrees for characters above U+FFFF.
 */
export function compareCodePoints(a: string, b: string): number {
  // Without a surrogate, every UTF-16 unit is a code point: the native comparison is the order.
  // Two native scans, not a loop per unit: a first write sorts or checks 2,000 ids in cold code.
  if (!SURROGATE.test(a) && !SURROGATE.test(b)) return a < b ? -1 : a === b ? 0 : 1;
  // UTF-16 units order like code points up to the first differing unit, unless a surrogate is
  // involved there (sort comparators run this a lot: no iterator unless one is).
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  // One is a prefix of the other: the shorter first (a trailing lone high surrogate, completed
  // in the longer, is below any pair's code point too).
  if (i === n) return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
  const x = a.charCodeAt(i);
  const y = b.charCodeAt(i);
  if (!isSurrogate(x) && !isSurrogate(y)) return x < y ? -1 : 1;
  return compareCodePointsSlow(a, b);
}

function isSurrogate(unit: number): boolean {
  return unit >= 0xd800 && unit <= 0xdfff;
}

/** The reference: code point by code point (a lone surrogate is its own code point). */
export function compareCodePointsSlow(a: string, b: string): number {
  const ia = a[Symbol.iterator]();
  const ib = b[Symbol.iterator]();
  for (;;) {
    const x = ia.next();
    const y = ib.next();
    if (x.done) return y.done ? 0 : -1;
    if (y.done) return 1;
    const cx = x.value.codePointAt(0) ?? 0;
    const cy = y.value.codePointAt(0) ?? 0;
    if (cx !== cy) return cx < cy ? -1 : 1;
  }
}

export function idOf(v: unknown): string {
  return isObject(v) && typeof v['id'] === 'string' ? v['id'] : '';
}

/**
 * Deepest nesting a config may have. Backrest's own configs nest about 6 levels; our recursive
 * helpers (canonical order, clone, schema) would overflow the stack near a few thousand.
 */
export const MAX_JSON_DEPTH = 256;

/** True when `v` nests arrays/objects deeper than `limit` levels. Iterative: never overflows. */
export function nestsDeeperThan(v: unknown, limit: number = MAX_JSON_DEPTH): boolean {
  // A document frozen by freezeJson was checked against the default limit when it was frozen.
  if (limit === MAX_JSON_DEPTH && typeof v === 'object' && v !== null && frozenJson.has(v)) {
    return false;
  }
  // Two stacks, not one of [node, depth] pairs, and for-in and indexes, not Object.values and
  // iterators: no allocation per node of a big config (this runs on every read and commit).
  const nodes: unknown[] = [v];
  const depths: number[] = [1];
  while (nodes.length > 0) {
    const node = nodes.pop() as object;
    const depth = depths.pop() ?? 0;
    if (typeof node !== 'object' || node === null) continue;
    if (depth > limit) return true;
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) {
        const c: unknown = node[i];
        if (typeof c === 'object' && c !== null) {
          nodes.push(c);
          depths.push(depth + 1);
        }
      }
    } else {
      for (const k in node) {
        if (!Object.prototype.hasOwnProperty.call(node, k)) continue;
        const c = (node as JsonObject)[k];
        if (typeof c === 'object' && c !== null) {
          nodes.push(c);
          depths.push(depth + 1);
        }
      }
    }
  }
  return false;
}

/**
 * Objects freezeJson was given (and froze, with everything below them): their content can't
 * change, so what was derived from one (a rendering, a decoding) can be kept beside it.
 */
const frozenJson = new WeakSet<object>();

/** True when `v` is an object or array freezeJson was given and froze (its subtree is immutable). */
export function isFrozenJson(v: unknown): v is object {
  return typeof v === 'object' && v !== null && frozenJson.has(v);
}

/**
 * When `v` is plain JSON data (what `JSON.parse(JSON.stringify(v))` gives back with the same
 * content and key order: plain objects and arrays, strings, booleans, null, finite numbers other
 * than -0; no holes, no undefined, no toJSON; at most MAX_JSON_DEPTH levels), freezes it and
 * everything below it and returns true. Otherwise returns false and freezes nothing.
 */
export function freezeJson(v: unknown): boolean {
  if (typeof v !== 'object' || v === null) return isJsonScalar(v);
  if (frozenJson.has(v)) return true;
  if (nestsDeeperThan(v)) return false;
  const objects: object[] = [];
  const stack: unknown[] = [v];
  // Only `v` is remembered (isFrozenJson); what is below it is frozen, and checked again if it
  // is ever frozen on its own (a WeakSet entry per node costs more than that).
  while (stack.length > 0) {
    const node = stack.pop();
    if (typeof node !== 'object' || node === null) {
      if (!isJsonScalar(node)) return false;
      continue;
    }
    if (frozenJson.has(node)) continue;
    if (Array.isArray(node)) {
      if (Object.getPrototypeOf(node) !== Array.prototype) return false;
      for (let i = 0; i < node.length; i++) {
        if (!(i in node)) return false;
        stack.push(node[i]);
      }
    } else {
      const proto: unknown = Object.getPrototypeOf(node);
      if (proto !== Object.prototype && proto !== null) return false;
      for (const k in node) {
        if (!Object.prototype.hasOwnProperty.call(node, k)) continue;
        if (k === 'toJSON') return false;
        stack.push((node as JsonObject)[k]);
      }
    }
    objects.push(node);
  }
  for (let i = 0; i < objects.length; i++) Object.freeze(objects[i]);
  frozenJson.add(v);
  return true;
}

function isJsonScalar(v: unknown): boolean {
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(v) && !Object.is(v, -0);
    default:
      return v === null;
  }
}

/** Deep equality of two JSON values (object key order ignored). Allocation-free for plain data. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const x = a as JsonObject;
  const y = b as JsonObject;
  let n = 0;
  for (const k in x) {
    if (!Object.prototype.hasOwnProperty.call(x, k)) continue;
    if (!Object.prototype.hasOwnProperty.call(y, k) || !jsonEqual(x[k], y[k])) return false;
    n++;
  }
  for (const k in y) if (Object.prototype.hasOwnProperty.call(y, k)) n--;
  return n === 0;
}

/** Every string value (not key) in `v`, depth first. Iterative. */
export function* stringsIn(v: unknown): Generator<string> {
  const stack: unknown[] = [v];
  while (stack.length > 0) {
    const node = stack.pop();
    if (typeof node === 'string') yield node;
    else if (Array.isArray(node)) stack.push(...node);
    else if (isObject(node)) stack.push(...Object.values(node));
  }
}

/**
 * protojson reads an int32 given as a JSON string (`"modno": "7"`): the string must hold a JSON
 * number with no surrounding space and an integral value. The number, or undefined.
 */
export function protoInt(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isInteger(v) ? v : undefined;
  if (typeof v !== 'string' || !/^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/.test(v)) return undefined;
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : undefined;
}
