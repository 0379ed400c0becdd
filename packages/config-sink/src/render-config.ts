import {
  compareCodePoints,
  freezeJson,
  idOf,
  isFrozenJson,
  isObject,
  type JsonObject,
} from './json-util.js';
import type { ConfigFormat } from './plan-spec.js';

/**
 * Canonical bytes. Invariants: a pure function of the document's content (never of its key
 * order), 2-space JSON, trailing newline; known keys in the order of Backrest's proto (or the
 * seed's struct), unknown keys after them in code-point order; nothing is dropped.
 * Arrays keep their order except where Backrest sorts on load (repos and plans by id, a plan's
 * paths, a repo's env: internal/config/validate.go), so Backrest's own rewrite of our file yields
 * no semantic diff. Excludes keep their order (Backrest stopped sorting them: a `!negation` must
 * stay after its pattern). In the sidecar format plans are sorted by id and sources sorted too
 * (the seed sorts derived sources). Hook lists are never reordered: their order is execution order.
 */
export function renderConfig(raw: unknown, format: ConfigFormat): string {
  return renderCanonical(canonicalize(raw, format));
}

/** The bytes of a document already in canonical order (see canonicalize). */
export function renderCanonical(canonical: unknown): string {
  return JSON.stringify(canonical, null, 2) + '\n';
}

/**
 * A canonical Backrest document with `modno` set: what canonicalize gives for the same document
 * with that modno, without a second pass over every plan (modno is the first key).
 */
export function withModno(canonical: unknown, modno: number): unknown {
  if (!isObject(canonical)) return canonical;
  // A spread defines keys like `__proto__` (never assigns them), as canonicalize does.
  return Object.prototype.hasOwnProperty.call(canonical, 'modno')
    ? { ...canonical, modno }
    : { modno, ...canonical };
}

/**
 * Plan objects known to be their own canonical form, taken as they are (not checked): applyChanges'
 * `built`, given right after it (nothing has changed them since).
 */
export type CanonicalPlans = ReadonlySet<unknown>;

const NONE: CanonicalPlans = new Set();

/** The canonical document (same content, canonical order). */
export function canonicalize(
  raw: unknown,
  format: ConfigFormat,
  known: CanonicalPlans = NONE,
): unknown {
  return format === 'backrest' ? backrestTop(raw) : sidecarTop(raw, known);
}

/** A plan's canonical form and its bytes as an element of the top-level `plans` array. */
export interface RenderedPlan {
  canonical: unknown;
  text: string;
}

/**
 * Plans already rendered, by plan object, one map per format. Only objects frozen by freezeJson
 * are kept (their content can't change), so an entry is never stale; entries go with the object.
 */
export type PlanRenderCache = Record<ConfigFormat, WeakMap<object, RenderedPlan>>;

export function newPlanRenderCache(): PlanRenderCache {
  return { sidecar: new WeakMap(), backrest: new WeakMap() };
}

/** A canonical document, and its plans' bytes (undefined: render it whole). */
export interface CanonicalConfig {
  canonical: unknown;
  plans: string[] | undefined;
  /** The plans' bytes joined, once (a Backrest write renders twice: without and with modno). */
  joined?: string;
}

/**
 * canonicalize, reusing what `cache` holds for frozen plan objects, and freezing the canonical
 * plans it makes (they join the cache: a commit's canonical document is the next read's). The
 * same content and order as canonicalize; render it with renderCanonicalConfig. A sidecar plan's
 * canonical form shares its `pre`/`post` lists with `raw`'s plan, or is that plan when it is
 * canonical already: those get frozen too.
 */
export function canonicalizeCached(
  raw: unknown,
  format: ConfigFormat,
  cache: PlanRenderCache,
  known: CanonicalPlans = NONE,
): CanonicalConfig {
  if (!isObject(raw) || !Array.isArray(raw['plans'])) {
    return { canonical: canonicalize(raw, format, known), plans: undefined };
  }
  const byFormat = cache[format];
  const planFn = format === 'backrest' ? backrestPlan : (p: unknown) => sidecarPlan(p, known);
  const sorted = byId(raw['plans']) as unknown[];
  const canonicalPlans: unknown[] = new Array(sorted.length);
  const texts: string[] = new Array(sorted.length);
  for (let i = 0; i < sorted.length; i++) {
    const p = sorted[i];
    let entry = isFrozenJson(p) ? byFormat.get(p) : undefined;
    if (!entry) {
      const canonical = planFn(p);
      // Nested two levels deep (top object, plans array): JSON.stringify indents every line
      // after the first by that much more; strings never hold a raw newline.
      const text = (JSON.stringify(canonical, null, 2) ?? 'null').replaceAll('\n', '\n    ');
      entry = { canonical, text };
      if (isFrozenJson(p)) byFormat.set(p, entry);
      // Canonical is canonical's own canonical form: a later read of the file we write maps
      // back to the same entry.
      if (isObject(canonical) && freezeJson(canonical)) byFormat.set(canonical, entry);
    }
    canonicalPlans[i] = entry.canonical;
    texts[i] = entry.text;
  }
  const top = format === 'backrest' ? ORDER.backrestTop : ORDER.sidecarTop;
  const canonical = ordered(raw, top, (k, v) => {
    if (k === 'plans') return canonicalPlans;
    if (k === 'repos') {
      return format === 'backrest'
        ? mapArray(byId(v), backrestRepo)
        : mapArray(v, (r) => (isObject(r) ? ordered(r, ORDER.sidecarRepo) : sortedDeep(r)));
    }
    return sortedDeep(v);
  });
  return { canonical, plans: texts };
}

/**
 * The bytes of a canonical document from canonicalizeCached (or withModno of one): the same as
 * renderCanonical, with the plans' bytes taken from `plans` instead of rendered again.
 */
export function renderCanonicalConfig(config: CanonicalConfig): string {
  const { canonical, plans } = config;
  if (plans === undefined || plans.length === 0 || !isObject(canonical)) {
    return renderCanonical(canonical);
  }
  // A spread keeps each key's place (and defines, never assigns, a `__proto__` key).
  const shell = renderCanonical({ ...canonical, plans: [] });
  // A top-level key is the only line that starts with exactly two spaces and a quote.
  const marker = '\n  "plans": []';
  const at = shell.indexOf(marker);
  if (at < 0) return renderCanonical(canonical);
  return (
    shell.slice(0, at) +
    '\n  "plans": [\n    ' +
    (config.joined ??= plans.join(',\n    ')) +
    '\n  ]' +
    shell.slice(at + marker.length)
  );
}

const ORDER = {
  backrestTop: ['modno', 'version', 'instance', 'repos', 'plans', 'auth', 'sync'],
  backrestRepo: [
    'id',
    'uri',
    'guid',
    'password',
    'env',
    'flags',
    'prunePolicy',
    'checkPolicy',
    'hooks',
    'autoUnlock',
    'autoInitialize',
    'commandPrefix',
  ],
  backrestPlan: [
    'id',
    'repo',
    'disabled',
    'paths',
    'excludes',
    'iexcludes',
    'cron',
    'schedule',
    'retention',
    'hooks',
    'backup_flags',
    'skipIfUnchanged',
  ],
  schedule: ['disabled', 'cron', 'maxFrequencyDays', 'maxFrequencyHours', 'clock'],
  retention: ['policyKeepLastN', 'policyTimeBucketed', 'policyKeepAll'],
  buckets: ['hourly', 'daily', 'weekly', 'monthly', 'yearly', 'keepLastN'],
  hook: ['conditions', 'onError', 'actionCommand'],
  sidecarTop: ['repos', 'plans'],
  sidecarRepo: ['id', 'type', 'url', 'env'],
  sidecarPlan: ['id', 'repo', 'schedule', 'sources', 'exclude', 'hooks', 'retention'],
  sidecarHooks: ['pre', 'post'],
  sidecarRetention: ['spec'],
} as const;

/** Known keys first in `known` order, then the rest sorted; values mapped by `child`. */
function ordered(
  obj: JsonObject,
  known: readonly string[],
  child: (key: string, value: unknown) => unknown = (_k, v) => sortedDeep(v),
): JsonObject {
  const out: JsonObject = {};
  for (const k of known) {
    if (Object.prototype.hasOwnProperty.call(obj, k)) put(out, k, obj[k], child);
  }
  const keys = Object.keys(obj);
  // Most objects hold known keys only: no sort, no second array then.
  if (keys.length === 0 || keys.every((k) => known.includes(k))) return out;
  const rest = keys.filter((k) => !known.includes(k)).sort(compareCodePoints);
  for (const k of rest) put(out, k, obj[k], child);
  return out;
}

function put(
  out: JsonObject,
  k: string,
  v: unknown,
  child: (key: string, value: unknown) => unknown,
): void {
  if (v === undefined) return;
  if (k === '__proto__') {
    // Defined, not assigned: an own "__proto__" key (JSON.parse makes one) would otherwise set
    // the output's prototype and vanish from the file.
    Object.defineProperty(out, k, {
      value: child(k, v),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  } else {
    out[k] = child(k, v);
  }
}

/** Unknown subtrees: keys sorted, arrays as they are. */
function sortedDeep(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortedDeep);
  if (isObject(v)) return ordered(v, []);
  return v;
}

/** `list` sorted by id (the array itself when it already is: callers only read it). */
function byId(list: unknown): unknown {
  if (!Array.isArray(list)) return sortedDeep(list);
  if (sortedById(list)) return list;
  // Stable sort: duplicate ids (refused by validation anyway) keep their relative order.
  return [...list].sort((a, b) => compareCodePoints(idOf(a), idOf(b)));
}

/**
 * True when no element's id sorts before the previous one's: what a canonical file and a first
 * write (upserts come sorted) hold. One id read per element in a plain loop, where the sort ran
 * its comparator (two id reads) once per pair anyway, then copied the array.
 */
function sortedById(list: readonly unknown[]): boolean {
  let prev = list.length > 0 ? idOf(list[0]) : '';
  for (let i = 1; i < list.length; i++) {
    const id = idOf(list[i]);
    if (compareCodePoints(prev, id) > 0) return false;
    prev = id;
  }
  return true;
}

function sortedStrings(v: unknown): unknown {
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) return sortedDeep(v);
  return [...(v as string[])].sort(compareCodePoints);
}

function mapArray(v: unknown, fn: (x: unknown) => unknown): unknown {
  return Array.isArray(v) ? v.map(fn) : sortedDeep(v);
}

function backrestTop(raw: unknown): unknown {
  if (!isObject(raw)) return sortedDeep(raw);
  return ordered(raw, ORDER.backrestTop, (k, v) => {
    if (k === 'repos') return mapArray(byId(v), backrestRepo);
    if (k === 'plans') return mapArray(byId(v), backrestPlan);
    return sortedDeep(v);
  });
}

function backrestRepo(v: unknown): unknown {
  return isObject(v)
    ? ordered(v, ORDER.backrestRepo, (k, x) =>
        k === 'hooks' ? mapArray(x, hook) : k === 'env' ? sortedStrings(x) : sortedDeep(x),
      )
    : sortedDeep(v);
}

function backrestPlan(v: unknown): unknown {
  if (!isObject(v)) return sortedDeep(v);
  return ordered(v, ORDER.backrestPlan, (k, x) => {
    switch (k) {
      case 'paths':
        return sortedStrings(x);
      case 'schedule':
        return isObject(x) ? ordered(x, ORDER.schedule) : sortedDeep(x);
      case 'retention':
        return isObject(x)
          ? ordered(x, ORDER.retention, (rk, rv) =>
              rk === 'policyTimeBucketed' && isObject(rv)
                ? ordered(rv, ORDER.buckets)
                : sortedDeep(rv),
            )
          : sortedDeep(x);
      case 'hooks':
        return mapArray(x, hook);
      default:
        return sortedDeep(x);
    }
  });
}

function hook(v: unknown): unknown {
  return isObject(v) ? ordered(v, ORDER.hook) : sortedDeep(v);
}

function sidecarTop(raw: unknown, known: CanonicalPlans): unknown {
  if (!isObject(raw)) return sortedDeep(raw);
  return ordered(raw, ORDER.sidecarTop, (k, v) => {
    if (k === 'repos')
      return mapArray(v, (r) => (isObject(r) ? ordered(r, ORDER.sidecarRepo) : sortedDeep(r)));
    if (k === 'plans') return mapArray(byId(v), (p) => sidecarPlan(p, known));
    return sortedDeep(v);
  });
}

function sidecarPlan(v: unknown, known: CanonicalPlans): unknown {
  if (known.has(v)) return v;
  if (!isObject(v)) return sortedDeep(v);
  return (
    writtenSidecarPlan(v) ??
    ordered(v, ORDER.sidecarPlan, (k, x) => {
      switch (k) {
        case 'sources':
          return sortedStrings(x);
        case 'hooks':
          // pre/post keep their order: it is execution order.
          return isObject(x) ? ordered(x, ORDER.sidecarHooks, (_hk, hv) => hv) : sortedDeep(x);
        case 'retention':
          return isObject(x) ? ordered(x, ORDER.sidecarRetention) : sortedDeep(x);
        default:
          return sortedDeep(x);
      }
    })
  );
}

/**
 * The canonical form of a plan shaped as toSidecarPlan writes it (every field, strings where
 * strings go, no other key, no dump hook): what `sidecarPlan` makes of it, built as one literal,
 * or `p` itself when it already is that (toSidecarPlan's own output, sources in order: a first
 * write's 2,000 plans are then converted once, not copied again). A first render canonicalises
 * thousands of new plans in cold code, where `ordered`'s keyed store and closure call per field
 * were most of the time. Undefined for any other shape.
 */
function writtenSidecarPlan(p: JsonObject): JsonObject | undefined {
  if (isCanonicalWritten(p)) return p;
  if (!hasExactly(p, ORDER.sidecarPlan)) return undefined;
  const { id, repo, schedule, sources, exclude, hooks, retention } = p;
  if (typeof id !== 'string' || typeof repo !== 'string' || typeof schedule !== 'string') {
    return undefined;
  }
  if (!allStrings(sources) || !allStrings(exclude)) return undefined;
  if (!isObject(hooks) || !hasExactly(hooks, ORDER.sidecarHooks)) return undefined;
  if (!isObject(retention) || !hasExactly(retention, ORDER.sidecarRetention)) return undefined;
  const { pre, post } = hooks;
  const { spec } = retention;
  // `put` leaves out an undefined value: such a plan takes the general path.
  if (pre === undefined || post === undefined || typeof spec !== 'string') return undefined;
  return {
    id,
    repo,
    schedule,
    sources: [...sources].sort(compareCodePoints),
    exclude: [...exclude],
    // As `ordered` keeps them: the hook lists themselves (execution order, never copied).
    hooks: { pre, post },
    retention: { spec },
  };
}

/**
 * `p` is its own canonical form: written shape, keys in canonical order, plain objects and arrays
 * (no prototype whose `toJSON` the copy would have dropped), sources in code-point order. The
 * canonical document then shares it (as it shares hook lists): nothing below changes it.
 */
function isCanonicalWritten(p: JsonObject): boolean {
  if (!plainObjectKeyed(p, ORDER.sidecarPlan)) return false;
  const { id, repo, schedule, sources, exclude, hooks, retention } = p;
  if (typeof id !== 'string' || typeof repo !== 'string' || typeof schedule !== 'string') {
    return false;
  }
  if (!plainStrings(sources) || !plainStrings(exclude)) return false;
  for (let i = 1; i < sources.length; i++) {
    if (compareCodePoints(sources[i - 1] as string, sources[i] as string) > 0) return false;
  }
  if (!plainObjectKeyed(hooks, ORDER.sidecarHooks)) return false;
  if (!plainObjectKeyed(retention, ORDER.sidecarRetention)) return false;
  return (
    hooks['pre'] !== undefined &&
    hooks['post'] !== undefined &&
    typeof retention['spec'] === 'string'
  );
}

/** A plain object whose own enumerable keys are `keys`, in that order. */
function plainObjectKeyed(v: unknown, keys: readonly string[]): v is JsonObject {
  if (typeof v !== 'object' || v === null || Object.getPrototypeOf(v) !== Object.prototype) {
    return false;
  }
  const own = Object.keys(v);
  if (own.length !== keys.length) return false;
  for (let i = 0; i < keys.length; i++) if (own[i] !== keys[i]) return false;
  return true;
}

/** A plain array of strings without holes. */
function plainStrings(v: unknown): v is string[] {
  return allStrings(v) && Object.getPrototypeOf(v) === Array.prototype;
}

/** `obj`'s own enumerable keys are exactly `keys` (in any order). */
function hasExactly(obj: JsonObject, keys: readonly string[]): boolean {
  if (Object.keys(obj).length !== keys.length) return false;
  // Indexed: three calls per plan, in cold code, where a for-of allocates per step.
  for (let i = 0; i < keys.length; i++) {
    if (!Object.prototype.propertyIsEnumerable.call(obj, keys[i] as string)) return false;
  }
  return true;
}

/** An array of strings without holes. */
function allStrings(v: unknown): v is string[] {
  if (!Array.isArray(v)) return false;
  for (let i = 0; i < v.length; i++) if (typeof v[i] !== 'string') return false;
  return true;
}
