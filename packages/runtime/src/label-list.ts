/**
 * The one grammar for a label value that holds a list (hooks, paths, names). Two forms:
 *
 * - JSON array: a (trimmed) value that is `[]`, starts with `["`, or starts with `[` and blanks
 *   and `"` and ends with `]`, is parsed as JSON and must be an array of strings:
 *   `["pg_dump -t users,orders", "echo done"]`. Anything else in that shape is an error (never
 *   silently split on commas).
 * - CSV (the seed's form, kept for simple values): split on commas that are outside single and
 *   double quotes; a backslash outside single quotes protects the next character. Quotes and
 *   backslashes are kept in the item (a hook is a shell command: `sh -c "a,b"` stays whole). An
 *   unterminated quote is an error. A shell test like `[ -f /x ] && y` is CSV (no `"` after `[`).
 *
 * In both forms items are trimmed and empty items dropped.
 */
export type LabelListResult = { ok: true; items: string[] } | { ok: false; message: string };

// `[]`, `["…`, or `[ "…" ]`: a shell test (`[ -f x ]`, `[ "$A" = b ] && c`) is not JSON-shaped.
const JSON_SHAPED = /^(\[\s*\]|\["[\s\S]*|\[\s*"[\s\S]*\])$/;

export function parseLabelList(value: string): LabelListResult {
  const text = value.trim();
  if (JSON_SHAPED.test(text)) return parseJsonList(text);
  return parseCsvList(text);
}

function parseJsonList(text: string): LabelListResult {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    return {
      ok: false,
      message: `looks like a JSON array but does not parse (${(err as Error).message})`,
    };
  }
  if (!Array.isArray(parsed) || !parsed.every((x): x is string => typeof x === 'string')) {
    return { ok: false, message: 'a JSON array here must hold only strings' };
  }
  return { ok: true, items: parsed.map((s) => s.trim()).filter((s) => s !== '') };
}

function parseCsvList(text: string): LabelListResult {
  const items: string[] = [];
  let current = '';
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\\' && quote !== "'" && i + 1 < text.length) {
      current += c + text[i + 1]!;
      i++;
      continue;
    }
    if (quote !== undefined) {
      if (c === quote) quote = undefined;
      current += c;
      continue;
    }
    if (c === '"' || c === "'") {
      quote = c;
      current += c;
    } else if (c === ',') {
      items.push(current);
      current = '';
    } else {
      current += c;
    }
  }
  if (quote !== undefined) {
    return {
      ok: false,
      message: `unterminated ${quote === '"' ? 'double' : 'single'} quote; write a JSON array (["…", "…"]) for items with quotes or commas`,
    };
  }
  items.push(current);
  return { ok: true, items: items.map((s) => s.trim()).filter((s) => s !== '') };
}

/** `parseLabelList`, or the plain comma split when the value does not parse (lenient readers). */
export function labelListOrSplit(value: string | undefined): string[] {
  if (value === undefined) return [];
  const r = parseLabelList(value);
  return r.ok
    ? r.items
    : value
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '');
}
