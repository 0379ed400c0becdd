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
  return Object.keys(labels).some((k) => ownedPath(selector, k) !== undefined);
}

// The label → spec path rule lives in the runtime (the cache maps errors back with it).
export { ownedPath };

/**
 * Decodes the labels a selector owns into a raw spec: prefix stripped, dots nest. Hostile or
 * ambiguous input refuses the whole container for this kind, with a message naming the
 * container, the label and the (truncated) value.
 */
export function decodeLabels(
  selector: LabelSelector,
  labels: Record<string, string>,
  options: DecodeOptions,
): DecodeResult {
  const max = options.maxLabelBytes ?? DEFAULT_MAX_LABEL_BYTES;
  const where = (key: string, value: string): string =>
    `container "${options.containerName}" label "${printable(key)}" (value ${showLabelValue(key, value, SHOWN_VALUE_CHARS)})`;
  const entries: { key: string; value: string; path: string[] }[] = [];
  for (const key of Object.keys(labels).sort()) {
    const path = ownedPath(selector, key);
    if (path === undefined) continue;
    const value = ownLabel(labels, key) ?? '';
    if (CONTROL.test(key) || CONTROL.test(value)) {
      return {
        ok: false,
        reason: 'LabelControlCharacters',
        message: `${where(key, value)}: control characters are not accepted in label keys or values`,
      };
    }
    const bytes = Buffer.byteLength(value, 'utf8');
    if (bytes > max) {
      return {
        ok: false,
        reason: 'LabelTooLong',
        message: `${where(key, value)}: value is ${bytes} bytes, more than the limit of ${max}`,
      };
    }
    const segments = path.split('.');
    if (segments.some((s) => s === '')) {
      return {
        ok: false,
        reason: 'InvalidLabelKey',
        message: `${where(key, value)}: spec path "${printable(path)}" has an empty segment`,
      };
    }
    const reserved = segments.find((s) => RESERVED_KEYS.has(s));
    if (reserved !== undefined) {
      return {
        ok: false,
        reason: 'InvalidLabelKey',
        message:
          `${where(key, value)}: spec path "${printable(path)}" has the reserved segment ` +
          `"${reserved}" (__proto__, constructor and prototype are refused: they could reach Object.prototype)`,
      };
    }
    entries.push({ key, value, path: segments });
  }

  // Null-prototype nodes, own properties only: no label can reach an inherited member.
  const spec: RawSpec = Object.create(null) as RawSpec;
  // Which label set each spec path, to name both sides of a conflict.
  const setBy = new Map<string, string>();
  for (const { key, value, path } of entries) {
    let node: RawSpec = spec;
    for (let i = 0; i < path.length - 1; i++) {
      const seg = path[i] as string;
      const prefixPath = path.slice(0, i + 1).join('.');
      const existing = Object.hasOwn(node, seg) ? node[seg] : undefined;
      if (typeof existing === 'string')
        return conflict(
          options.containerName,
          key,
          setBy.get(prefixPath) ?? prefixPath,
          prefixPath,
        );
      if (existing === undefined) {
        const child = Object.create(null) as RawSpec;
        node[seg] = child;
        setBy.set(prefixPath, key);
        node = child;
      } else {
        node = existing;
      }
    }
    const leaf = path[path.length - 1] as string;
    const full = path.join('.');
    if (Object.hasOwn(node, leaf)) {
      return conflict(options.containerName, key, setBy.get(full) ?? full, full);
    }
    node[leaf] = value;
    setBy.set(full, key);
  }
  return { ok: true, spec, labels: entries.map((e) => e.key) };
}

function conflict(container: string, key: string, other: string, path: string): DecodeResult {
  return {
    ok: false,
    reason: 'LabelConflict',
    message:
      `container "${container}" label "${printable(key)}" conflicts with label "${printable(other)}": ` +
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
