import { setOwn } from './set-own.js';

/**
 * `structuredClone(value)` for the plain data a spec is (objects, arrays, primitives), ~8x faster:
 * structuredClone serializes and deserializes, 12-30 µs per container spec on a cold start, most
 * of a 2,000-container validation. Anything else (a Date, a Map, a function, a cycle) goes to
 * structuredClone itself, so the result, or the DataCloneError, is the same.
 */
export function cloneData(value: unknown): unknown {
  const copy = plainCopy(value, undefined);
  return copy === NOT_PLAIN ? structuredClone(value) : copy;
}

/**
 * The objects being copied around a value, innermost first: a chain made only when the copy
 * descends into an object (a flat spec, the common one, allocates none; a Set per call did).
 */
interface Ancestors {
  readonly obj: object;
  readonly outer: Ancestors | undefined;
}

function isAncestor(obj: object, ancestors: Ancestors | undefined): boolean {
  for (let a = ancestors; a; a = a.outer) if (a.obj === obj) return true;
  return false;
}

/** `value` copied with `obj` among its ancestors; a primitive needs no chain. */
function copyChild(value: unknown, obj: object, ancestors: Ancestors | undefined): unknown {
  if (typeof value !== 'object' || value === null) return plainCopy(value, ancestors);
  return plainCopy(value, { obj, outer: ancestors });
}

const NOT_PLAIN = Symbol('not plain data');

function plainCopy(value: unknown, ancestors: Ancestors | undefined): unknown {
  if (value === null) return null;
  const type = typeof value;
  if (type === 'string' || type === 'number' || type === 'boolean' || type === 'undefined') {
    return value;
  }
  if (type !== 'object') return NOT_PLAIN;
  const obj = value as object;
  if (isAncestor(obj, ancestors)) return NOT_PLAIN;
  const proto = Object.getPrototypeOf(obj) as unknown;
  const isArray = Array.isArray(obj);
  if (!isArray && proto !== Object.prototype && proto !== null) return NOT_PLAIN;
  if (isArray) {
    const arr = obj as unknown[];
    const out: unknown[] = new Array(arr.length);
    for (let i = 0; i < arr.length; i++) {
      // A sparse array keeps its holes in structuredClone: leave those to it.
      if (!(i in arr)) return NOT_PLAIN;
      const c = copyChild(arr[i], obj, ancestors);
      if (c === NOT_PLAIN) return NOT_PLAIN;
      out[i] = c;
    }
    return out;
  }
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(obj)) {
    const c = copyChild((obj as Record<string, unknown>)[k], obj, ancestors);
    if (c === NOT_PLAIN) return NOT_PLAIN;
    // An own `__proto__` key stays a key (plain assignment would set the prototype).
    setOwn(out, k, c);
  }
  return out;
}

/**
 * Freezes plain data (what `cloneData` or a schema validation returns) all the way down: every
 * object and array in it, so one value can be handed to many readers, none of which can change
 * it for the others. Returns `value`.
 */
export function freezeData<T>(value: T): T {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value;
  Object.freeze(value);
  // Own enumerable values only: what the copy made, in plain data all there is.
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) freezeData(value[i]);
  } else {
    const obj = value as Record<string, unknown>;
    for (const k of Object.keys(obj)) freezeData(obj[k]);
  }
  return value;
}
