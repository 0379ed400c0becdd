/** Human and machine renderings of a reconcile summary for `get plans` and `describe plan`. */
import type { PlanEntry, ReconcileSummary } from '@backrest-sidecar/controller-plan';
import type { Condition, RecordedEvent } from '@dockop/runtime';

export interface PlanRow {
  planId: string;
  container: string;
  repo: string;
  schedule: string;
  sources: string[];
  status: string;
}

export function planRows(summary: ReconcileSummary): PlanRow[] {
  return summary.entries.map((e) => ({
    planId: e.planId,
    container: e.container || '-',
    repo: e.plan?.repo ?? '-',
    schedule: e.plan?.schedule ?? '-',
    sources: e.plan?.sources ?? [],
    status: statusOf(e),
  }));
}

function statusOf(e: PlanEntry): string {
  switch (e.state) {
    case 'Ready':
      return e.changed ? 'Pending' : 'InSync';
    case 'Skipped':
      return `Skipped(${e.reason})`;
    case 'Orphaned':
      return 'Orphaned';
    case 'Removed':
      return 'Removed';
  }
}

/** A plain aligned table; the SOURCES column joins with commas. */
export function renderTable(rows: PlanRow[]): string {
  const header = ['PLAN ID', 'CONTAINER', 'REPO', 'SCHEDULE', 'SOURCES', 'STATUS'];
  const cells = rows.map((r) => [
    r.planId,
    r.container,
    r.repo,
    r.schedule,
    r.sources.join(',') || '-',
    r.status,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] ?? '').length)));
  const line = (c: string[]) =>
    c
      .map((v, i) => (i === c.length - 1 ? v : v.padEnd(widths[i] ?? 0)))
      .join('   ')
      .trimEnd();
  return [line(header), ...cells.map(line)].join('\n') + '\n';
}

export interface PlanDescription {
  entry: PlanEntry;
  conditions: Condition[];
  events: RecordedEvent[];
}

export function renderDescription(d: PlanDescription): string {
  const out: string[] = [];
  const e = d.entry;
  out.push(`Plan ID:    ${e.planId}`);
  out.push(`Container:  ${e.container || '-'}`);
  out.push(`State:      ${e.state}${e.reason ? ` (${e.reason})` : ''}`);
  if (e.message) out.push(`Message:    ${e.message}`);
  out.push(`Changed:    ${e.changed}`);
  if (e.plan) {
    out.push('Plan:');
    for (const line of JSON.stringify(e.plan, null, 2).split('\n')) out.push(`  ${line}`);
  }
  out.push('Conditions:');
  if (d.conditions.length === 0) out.push('  <none>');
  for (const c of d.conditions) {
    out.push(
      `  ${c.type}=${c.status}  reason=${c.reason}${c.message ? `  message=${c.message}` : ''}`,
    );
  }
  out.push('Events:');
  if (d.events.length === 0) out.push('  <none>');
  for (const ev of d.events) {
    out.push(`  ${ev.type}  ${ev.reason}  x${ev.count}  ${ev.message}`);
  }
  return out.join('\n') + '\n';
}
