/**
 * Docker's label filter (`docker ps --filter label=…`, the `--selector` option) applied to labels
 * already in hand: each term is `key` (the label is present, any value) or `key=value` (present
 * with exactly that value; the value may itself hold `=`), and every term must hold.
 *
 * Controllers filter the informer's cache with it, so a resource matches here exactly when the
 * engine's list with the same terms would return it. Labels are hostile input: own properties
 * only, so a label set cannot satisfy `constructor` or `__proto__` through its prototype.
 */
export function matchesLabelFilter(
  labels: Readonly<Record<string, string>> | undefined,
  terms: readonly string[],
): boolean {
  for (const term of terms) {
    if (!labels) return false;
    const eq = term.indexOf('=');
    const key = eq < 0 ? term : term.slice(0, eq);
    if (!Object.hasOwn(labels, key)) return false;
    if (eq >= 0 && labels[key] !== term.slice(eq + 1)) return false;
  }
  return true;
}
