/**
 * `--selector`: true when the labels carry every `key` or `key=value` of it (own properties
 * only; labels are hostile input).
 */
export function matchesLabelSelector(
  labels: Readonly<Record<string, string>>,
  selector: readonly string[],
): boolean {
  return selector.every((s) => {
    const eq = s.indexOf('=');
    const key = eq < 0 ? s : s.slice(0, eq);
    return Object.hasOwn(labels, key) && (eq < 0 || labels[key] === s.slice(eq + 1));
  });
}
