/**
 * Human and machine renderings of a reconcile summary for `get plans` and `describe plan`, in
 * kubectl's output formats (`-o table|wide|name|json|yaml`, `--no-headers`).
 */
import type { ApplyStatus, PlanEntry, ReconcileSummary } from '@backrest-sidecar/api';
import { CacheReasons, type Condition, type RecordedEvent } from '@dockop/runtime';
import { stringify as toYaml } from 'yaml';

export interface PlanRow {
  planId: string;
  container: string;
  repo: string;
  schedule: string;
  sources: string[];
  status: string;
  /** The backrest.keep spec ('-' when there is no plan). */
  keep: string;
  /** Why the plan is not InSync/Pending ('' otherwise). */
  message: string;
}

export type OutputFormat = 'table' | 'wide' | 'name' | 'json' | 'yaml';
export const OUTPUT_FORMATS: readonly OutputFormat[] = ['table', 'wide', 'name', 'json', 'yaml'];

export function planRows(summary: ReconcileSummary): PlanRow[] {
  return summary.entries.map((e) => ({
    planId: e.planId,
    // A service's plan names every replica it covers.
    container: e.replicas?.join(',') || e.container || '-',
    repo: e.plan?.repo ?? '-',
    schedule: e.plan?.schedule ?? '-',
    sources: e.plan?.sources ?? [],
    status: statusOf(e),
    keep: e.plan?.retention.spec ?? '-',
    message: e.state === 'Ready' ? '' : e.message,
  }));
}

function statusOf(e: PlanEntry): string {
  switch (e.state) {
    case 'Ready':
      return e.changed ? 'Pending' : 'InSync';
    case 'Skipped':
      // Labels the cache refused: fixing them is the only way forward.
      return e.reason === CacheReasons.InvalidSpec ? 'Invalid' : `Skipped(${e.reason})`;
    case 'Orphaned':
      return 'Orphaned';
    case 'Removed':
      return 'Removed';
  }
}

/** Aligned columns, the last one not padded (kubectl's printer). */
export function columns(header: string[], cells: string[][], noHeaders: boolean): string {
  const rows = noHeaders ? cells : [header, ...cells];
  const widths = header.map((_, i) => Math.max(...rows.map((c) => (c[i] ?? '').length)));
  const line = (c: string[]) =>
    c
      .map((v, i) => (i === c.length - 1 ? v : v.padEnd(widths[i] ?? 0)))
      .join('   ')
      .trimEnd();
  return rows.length ? rows.map(line).join('\n') + '\n' : '';
}

export interface TableOptions {
  /** `-o wide`: KEEP and MESSAGE too. */
  wide?: boolean;
  /** `--no-headers`. */
  noHeaders?: boolean;
}

/** A plain aligned table; the SOURCES column joins with commas. */
export function renderTable(rows: PlanRow[], options: TableOptions = {}): string {
  const header = ['PLAN ID', 'CONTAINER', 'REPO', 'SCHEDULE', 'SOURCES', 'STATUS'];
  if (options.wide) header.push('KEEP', 'MESSAGE');
  const cells = rows.map((r) => {
    const c = [r.planId, r.container, r.repo, r.schedule, r.sources.join(',') || '-', r.status];
    if (options.wide) c.push(r.keep, r.message.replace(/\s+/g, ' ') || '-');
    return c;
  });
  return columns(header, cells, options.noHeaders === true);
}

/**
 * One resource list in `format`: json and yaml print `data` whole, name prints `kind/name` lines
 * (kubectl's `-o name`), and only the table (plain or wide) is the resource's own.
 */
export function renderAs(
  data: unknown,
  format: OutputFormat,
  view: { names: () => string[]; table: (wide: boolean) => string },
): string {
  switch (format) {
    case 'json':
      return `${JSON.stringify(data, null, 2)}\n`;
    case 'yaml':
      return toYaml(data, { lineWidth: 0 });
    case 'name':
      return view
        .names()
        .map((n) => `${n}\n`)
        .join('');
    case 'wide':
    case 'table':
      return view.table(format === 'wide');
  }
}

/** `get plans` in any output format. */
export function renderPlans(
  rows: PlanRow[],
  format: OutputFormat,
  options: TableOptions = {},
): string {
  return renderAs(rows, format, {
    names: () => rows.map((r) => `plan/${r.planId}`),
    table: (wide) => renderTable(rows, { ...options, wide }),
  });
}

export interface PlanDescription {
  entry: PlanEntry;
  conditions: Condition[];
  events: RecordedEvent[];
  /** The apply worker's last status (from the daemon's state dir), when known. */
  apply?: ApplyStatus;
}

/**
 * kubectl-describe style. The plan's message is printed once: a condition or event that only
 * repeats it says so instead of printing it again.
 */
export function renderDescription(d: PlanDescription): string {
  const out: string[] = [];
  const e = d.entry;
  const same = (m: string | undefined): boolean => Boolean(e.message) && m === e.message;
  out.push(`Plan ID:    ${e.planId}`);
  out.push(`Container:  ${e.replicas?.join(', ') || e.container || '-'}`);
  out.push(`State:      ${e.state}${e.reason ? ` (${e.reason})` : ''}`);
  if (e.message) out.push(`Message:    ${e.message}`);
  out.push(`Changed:    ${e.changed}`);
  if (d.apply) {
    const a = d.apply;
    out.push(`Apply:      ${a.phase} since ${a.since} (Backrest ${a.target})`);
    if (a.message) out.push(`            ${a.message}`);
  }
  if (e.plan) {
    out.push('Plan:');
    for (const line of JSON.stringify(e.plan, null, 2).split('\n')) out.push(`  ${line}`);
  }
  out.push('Conditions:');
  if (d.conditions.length === 0) out.push('  <none>');
  else {
    const rows = d.conditions.map((c) => [
      c.type,
      c.status,
      c.reason,
      same(c.message) ? '(the Message above)' : c.message || '-',
    ]);
    for (const l of columns(['TYPE', 'STATUS', 'REASON', 'MESSAGE'], rows, false).split('\n')) {
      if (l) out.push(`  ${l}`);
    }
  }
  out.push('Events:');
  if (d.events.length === 0) out.push('  <none>');
  else {
    const rows = d.events.map((ev) => [
      ev.type,
      ev.reason,
      `x${ev.count}`,
      same(ev.message) ? '(the Message above)' : ev.message,
    ]);
    for (const l of columns(['TYPE', 'REASON', 'COUNT', 'MESSAGE'], rows, false).split('\n')) {
      if (l) out.push(`  ${l}`);
    }
  }
  return out.join('\n') + '\n';
}

/** `describe plan -o json|yaml`: the same facts as data. */
export function describeData(d: PlanDescription): Record<string, unknown> {
  return {
    ...d.entry,
    conditions: d.conditions,
    events: d.events,
    ...(d.apply ? { apply: d.apply } : {}),
  };
}
