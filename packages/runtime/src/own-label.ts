/**
 * Labels, image labels and decoded specs are written by someone else: read them by own property
 * only, so a key named `constructor`, `toString` or `__proto__` never finds an inherited member.
 */
import { SECRET_KEY_PATTERN, redactText } from './redactor.js';

/**
 * Object keys that reach a prototype or a constructor when an object is walked or copied by
 * ordinary code (`o[k] = v`, `o[a][b] = v`). Decoders refuse them as spec path segments.
 */
export const RESERVED_KEYS: ReadonlySet<string> = new Set([
  '__proto__',
  'constructor',
  'prototype',
]);

/** The value of `key` when it is an own string property of `labels`; undefined otherwise. */
export function ownLabel(
  labels: Readonly<Record<string, string>> | undefined,
  key: string,
): string | undefined {
  if (labels === undefined || labels === null || !Object.hasOwn(labels, key)) return undefined;
  const v = labels[key];
  return typeof v === 'string' ? v : undefined;
}

/**
 * A null-prototype copy of a label map holding only its own string entries (what Docker's JSON
 * gave us), so later `labels[k]` reads see nothing inherited.
 */
export function ownLabels(
  labels: Readonly<Record<string, string>> | undefined,
): Record<string, string> {
  // Not Object.create(null): V8 keeps such an object as a dictionary (5x the bytes, a hash
  // lookup per read). An empty literal given a null prototype stays fast, and maps with the same
  // keys share a shape: 2,000 status label maps took ~8 ms less to build and read.
  const out = Object.setPrototypeOf({}, null) as Record<string, string>;
  if (labels === undefined || labels === null) return out;
  for (const k of Object.keys(labels)) {
    const v = labels[k];
    if (typeof v === 'string') out[k] = v;
  }
  return out;
}

// C0/C1 controls, line/paragraph separators, bidi controls and zero-width characters.
const UNSAFE_IN_LOGS =
  // eslint-disable-next-line no-control-regex
  /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\u200b-\u200d\u2060\ufeff]/g;

/**
 * A label value quoted for a log line or an event: JSON string syntax, with every control, bidi
 * and zero-width character escaped as `\uXXXX` (so a hostile value can't reorder or hide what a
 * reader sees), cut to `maxChars` with the full length noted.
 */
export function quoteLabelValue(value: string, maxChars = 64): string {
  const cut = value.length > maxChars ? `${value.slice(0, maxChars)}…` : value;
  const quoted = JSON.stringify(cut).replace(
    UNSAFE_IN_LOGS,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
  return value.length > maxChars ? `${quoted} (${value.length} characters)` : quoted;
}

/**
 * A label's value as an error message, an event or a log line may show it. A label whose NAME
 * says secret (`*password*`, `*token*`, ... `SECRET_KEY_PATTERN`) is never shown, only its
 * length: `backrest.dump.password-env` expects a variable name, and a mistaken value there is
 * most likely the password itself. Any other value is quoted (`quoteLabelValue`) with the secret
 * shapes the redactor knows (`--password=x`, URL userinfo, `X_TOKEN=y`) masked.
 */
export function showLabelValue(key: string, value: string, maxChars = 64): string {
  if (SECRET_KEY_PATTERN.test(key)) return `(${value.length} characters, not shown)`;
  return redactText(quoteLabelValue(value, maxChars));
}
