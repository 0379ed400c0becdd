import {
  RESERVED_KEYS,
  ownLabel,
  ownedPath,
  quoteLabelValue,
  showLabelValue,
  type LabelSelector,
} from '@dockop/runtime';

/** Spec decoded from labels: nested objects of strings (the runtime coerces and validates). */
export interface RawSpec {
  [key: string]: string | RawSpec;
}

export interface DecodeOptions {
  /** Longest accepted label value, in UTF-8 bytes. Default 4096. */
  maxLabelBytes?: number;
  /** Named in rejection messages. */
  containerName: string;
}

export type DecodeResult =
  | { ok: true; spec: RawSpec; /** Label keys that went into the spec. */ labels: string[] }
  | { ok: false; reason: LabelRejectReason; message: string };

export type LabelRejectReason =
  'LabelTooLong' | 'LabelControlCharacters' | 'LabelConflict' | 'InvalidLabelKey';

export const DEFAULT_MAX_LABEL_BYTES = 4096;

// C0 controls, DEL and C1 controls: no exception (not even tab or newline) is accepted.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const SHOWN_VALUE_CHARS = 64;

/** True when the selector owns this container: its enable label is `true`, or (without one) any owned key is present. */
export function selects(selector: LabelSelector, labels: Record<string, string>): boolean {
  if (selector.enableLabel !== undefined) {
    return ownLabel(labels, selector.enableLabel)?.trim().toLowerCase() === 'true';
  }
  // Loops below are indexed: they run for every listed container, mostly in cold code, where a
  // for-of (or a callback) allocates per step.
  const keys = Object.keys(labels);
  for (let i = 0; i < keys.length; i++) {
    if (ownedPath(selector, keys[i] as string) !== undefined) return true;
  }
  return false;
}

// The label → spec path rule lives in the runtime (the cache maps errors back with it).
export { ownedPath };

/**
 * The keys of `labels` the selector owns, sorted: the order `decodeLabels` takes them in. Only
 * the owned keys are sorted: a container's other labels (compose, swarm, its own) are usually
 * most of them, and sorting the owned ones gives the order sorting all gives.
 */
export function ownedKeys(selector: LabelSelector, labels: Record<string, string>): string[] {
  // The owned keys moved to the front of Object.keys' own fresh array, then sliced off (right
  // sized; one grown by push holds 16 slots, for what is usually one key). Not cut in place:
  // setting `length` is a call into the runtime, which cost more than the scan.
  const keys = Object.keys(labels);
  let n = 0;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string;
    if (ownedPath(selector, key) !== undefined) keys[n++] = key;
  }
  return (n === keys.length ? keys : keys.slice(0, n)).sort();
}

/**
 * What `decodeLabels` reads of `labels` for these `keys` (from `ownedKeys`), as one string: two
 * label maps with the same signature decode alike, except for the container name in messages.
 * Length-prefixed, so no key or value (control characters included) can forge another's.
 */
export function ownedLabelsSignature(
  labels: Record<string, string>,
  keys: readonly string[],
): string {
  let signature = '';
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string;
    const value = ownLabel(labels, key) ?? '';
    signature += `${key.length}:${key}${value.length}:${value}`;
  }
  return signature;
}

/**
 * Decodes the labels a selector owns into a raw spec: prefix stripped, dots nest. Hostile or
 * ambiguous input refuses the whole container for this kind, with a message naming the
 * container, the label and the (truncated) value. Keys are taken in sorted order: the first bad
 * one is reported, and of two conflicting labels the later one is named first. `keys`: the
 * owned keys when the caller already has them (`ownedKeys`).
 */
export function decodeLabels(
  selector: LabelSelector,
  labels: Record<string, string>,
  options: DecodeOptions,
  keys: string[] = ownedKeys(selector, labels),
): DecodeResult {
  const max = options.maxLabelBytes ?? DEFAULT_MAX_LABEL_BYTES;
  // Every label is checked before any is placed: a bad value is reported before a conflict.
  const values: string[] = [];
  const paths: string[][] = [];
  for (const key of keys) {
    const path = ownedPath(selector, key) as string;
    const value = ownLabel(labels, key) ?? '';
    const segments = path.split('.');
    const refused = refusal(key, value, path, segments, max);
    if (refused !== undefined) {
      const where = `container "${options.containerName}" label "${printable(key)}" (value ${showLabelValue(key, value, SHOWN_VALUE_CHARS)})`;
      return { ok: false, reason: refused[0], message: `${where}: ${refused[1]}` };
    }
    values.push(value);
    paths.push(segments);
  }

  // Null-prototype nodes, own properties only: no label can reach an inherited member.
  const spec: RawSpec = Object.create(null) as RawSpec;
  for (let k = 0; k < keys.length; k++) {
    const path = paths[k]!;
    let node: RawSpec = spec;
    for (let i = 0; i < path.length - 1; i++) {
      const seg = path[i]!;
      const existing = Object.hasOwn(node, seg) ? node[seg] : undefined;
      if (typeof existing === 'string') {
        return conflict(options.containerName, keys, paths, k, i + 1);
      }
      if (existing === undefined) {
        const child = Object.create(null) as RawSpec;
        node[seg] = child;
        node = child;
      } else {
        node = existing;
      }
    }
    const leaf = path[path.length - 1]!;
    if (Object.hasOwn(node, leaf))
      return conflict(options.containerName, keys, paths, k, path.length);
    node[leaf] = values[k]!;
  }
  return { ok: true, spec, labels: keys };
}

/** Why an owned label is refused (reason, what is wrong), or undefined when it is acceptable. */
function refusal(
  key: string,
  value: string,
  path: string,
  segments: string[],
  maxBytes: number,
): [LabelRejectReason, string] | undefined {
  if (CONTROL.test(key) || CONTROL.test(value)) {
    return [
      'LabelControlCharacters',
      'control characters are not accepted in label keys or values',
    ];
  }
  // A UTF-16 code unit is at most 3 UTF-8 bytes: only a long value needs counting.
  if (value.length * 3 > maxBytes) {
    const bytes = Buffer.byteLength(value, 'utf8');
    if (bytes > maxBytes) {
      return ['LabelTooLong', `value is ${bytes} bytes, more than the limit of ${maxBytes}`];
    }
  }
  if (segments.includes('')) {
    return ['InvalidLabelKey', `spec path "${printable(path)}" has an empty segment`];
  }
  const reserved = segments.find((s) => RESERVED_KEYS.has(s));
  if (reserved !== undefined) {
    return [
      'InvalidLabelKey',
      `spec path "${printable(path)}" has the reserved segment "${reserved}" ` +
        `(__proto__, constructor and prototype are refused: they could reach Object.prototype)`,
    ];
  }
  return undefined;
}

/**
 * Label `keys[k]` can't be placed: the spec path of its first `depth` segments is already a
 * value, or already a parent. Names the label that first set that path: the first earlier one
 * whose path is it or lies under it.
 */
function conflict(
  container: string,
  keys: readonly string[],
  paths: readonly string[][],
  k: number,
  depth: number,
): DecodeResult {
  const at = paths[k]!.slice(0, depth);
  const setter = paths.findIndex(
    (p, j) => j < k && p.length >= depth && at.every((s, i) => p[i] === s),
  );
  const path = at.join('.');
  return {
    ok: false,
    reason: 'LabelConflict',
    message:
      `container "${container}" label "${printable(keys[k]!)}" conflicts with label "${printable(keys[setter] ?? path)}": ` +
      `spec path "${path}" would be both a value and a parent of other keys; ` +
      `map one of them explicitly with selector.paths`,
  };
}

/** JSON-quoted, control, bidi and zero-width characters escaped, truncated: safe for logs and events. */
export function showValue(value: string): string {
  return quoteLabelValue(value, SHOWN_VALUE_CHARS);
}

function printable(key: string): string {
  return quoteLabelValue(key, 200)
    .replace(/ \(\d+ characters\)$/, '')
    .slice(1, -1);
}
