/**
 * What each notification service receives, as one HTTP request per event. Bodies carry outcome
 * and figures only (never env values or repository locations) and go through the run's redactor.
 */
import { hostname } from 'node:os';
import type { Redactor } from '@dockop/runtime';
import type { BackupOnceReport } from './backup-result.js';
import type { NotifyTarget } from './notify-url.js';

export type NotifyEvent =
  { phase: 'start'; runId?: string } | { phase: 'finish'; report: BackupOnceReport };

export interface NotifyRequest {
  method: 'POST';
  url: string;
  headers: Record<string, string>;
  body: string;
}

/** Discord refuses `content` over 2000 characters; Slack truncates long text anyway. */
const DISCORD_LIMIT = 2000;

/**
 * The request `target` gets for `event`, or undefined when that service isn't told of it: only
 * healthchecks hears of the start (its `/start` measures the run time and catches a hung run).
 */
export function notifyRequest(
  target: NotifyTarget,
  event: NotifyEvent,
  redactor: Redactor,
): NotifyRequest | undefined {
  const headers = { 'user-agent': 'backrest-sidecar', ...target.headers };
  if (event.phase === 'start') {
    if (target.service !== 'healthchecks') return undefined;
    return { method: 'POST', url: `${target.endpoint}/start`, headers, body: '' };
  }
  const { report } = event;
  const title = target.title ?? titleOf(report);
  const text = redactor.redactString(summaryText(report));
  const ok = report.exitCode === 0;
  const json = (body: unknown): NotifyRequest => ({
    method: 'POST',
    url: target.endpoint,
    headers: { ...headers, 'content-type': 'application/json' },
    body: JSON.stringify(redactor.redact(body)),
  });
  switch (target.service) {
    case 'webhook':
      return json(notificationPayload(report));
    case 'ntfy':
      return {
        method: 'POST',
        url: target.endpoint,
        headers: {
          ...headers,
          'content-type': 'text/plain; charset=utf-8',
          // Header values must be Latin-1: a non-ASCII title would make fetch throw.
          title: asciiHeader(title),
          priority: String(target.priority ?? (ok ? 3 : 4)),
          tags: ok ? 'white_check_mark' : 'warning',
        },
        body: text,
      };
    case 'gotify':
      return json({ title, message: text, priority: target.priority ?? (ok ? 5 : 8) });
    case 'slack':
      return json({
        text: `*${title}*\n${text}`,
        ...(target.username ? { username: target.username } : {}),
      });
    case 'discord':
      return json({
        content: truncate(`**${title}**\n${text}`, DISCORD_LIMIT),
        ...(target.username ? { username: target.username } : {}),
      });
    case 'healthchecks':
      // The body shows as the ping's log in healthchecks; /fail marks the check down.
      return {
        method: 'POST',
        url: ok ? target.endpoint : `${target.endpoint}/fail`,
        headers: { ...headers, 'content-type': 'text/plain; charset=utf-8' },
        body: `${title}\n${text}`,
      };
  }
}

/** `Backup succeeded on host1` / `Backup partly failed on …` / `Backup failed on …`. */
export function titleOf(report: BackupOnceReport): string {
  const outcome =
    report.exitCode === 0 ? 'succeeded' : report.exitCode === 3 ? 'partly failed' : 'failed';
  return `Backup ${outcome} on ${report.resticHost ?? hostname()}`;
}

/** A few lines a person reads on a phone: figures first, then what failed and why. */
export function summaryText(report: BackupOnceReport): string {
  const ws = report.workloads;
  const count = (s: string) => ws.filter((w) => w.status === s).length;
  const parts = [
    `engine ${report.engine}`,
    `${ws.length} workload${ws.length === 1 ? '' : 's'}` +
      (ws.length ? ` (${count('ok')} ok${failedPart(count('failed'), count('partial'))})` : ''),
    `${(report.durationMs / 1000).toFixed(1)} s`,
    ...(report.runId ? [`run ${report.runId}`] : []),
  ];
  const lines = [parts.join(', ')];
  if (report.fatal) lines.push(`error: ${report.fatal}`);
  if (report.rcb && report.rcb.exitCode !== 0) lines.push(`rcb exited ${report.rcb.exitCode}`);
  for (const w of ws) {
    if (w.status === 'failed' || w.status === 'partial') {
      lines.push(`- ${w.container}: ${w.status}${w.error ? `: ${w.error}` : ''}`);
    }
  }
  for (const f of report.quiesce.startFailed) lines.push(`- ${f.name}: not started again`);
  if (report.forget && report.forget.exitCode !== 0) {
    lines.push(`retention exited ${report.forget.exitCode}`);
  }
  return lines.join('\n');
}

function failedPart(failed: number, partial: number): string {
  return `${failed ? `, ${failed} failed` : ''}${partial ? `, ${partial} partial` : ''}`;
}

/** The JSON webhook body: outcome and figures only, never env values or repository locations. */
export function notificationPayload(report: BackupOnceReport): Record<string, unknown> {
  return {
    event: report.exitCode === 0 ? 'backup.succeeded' : 'backup.failed',
    host: hostname(),
    engine: report.engine,
    exitCode: report.exitCode,
    startedAt: report.startedAt,
    finishedAt: report.finishedAt,
    durationMs: Math.round(report.durationMs),
    ...(report.fatal ? { error: report.fatal } : {}),
    ...(report.rcb ? { rcb: report.rcb } : {}),
    workloads: report.workloads.map((w) => ({
      container: w.container,
      path: w.path,
      status: w.status,
      ...(w.snapshotId ? { snapshotId: w.snapshotId } : {}),
      ...(w.bytesAdded !== undefined ? { bytesAdded: w.bytesAdded } : {}),
      ...(w.filesTotal !== undefined ? { files: w.filesTotal } : {}),
      durationMs: Math.round(w.durationMs),
      ...(w.error ? { error: w.error } : {}),
    })),
    quiesce: {
      stopped: report.quiesce.stopped,
      startFailed: report.quiesce.startFailed.map((f) => f.name),
    },
    ...(report.forget
      ? {
          retention: {
            exitCode: report.forget.exitCode,
            removed: report.forget.workloads.reduce((n, w) => n + w.removed.length, 0),
            warnings: report.forget.workloads.reduce((n, w) => n + w.warnings.length, 0),
          },
        }
      : {}),
  };
}

function asciiHeader(s: string): string {
  return s.replace(/[^\x20-\x7e]/g, '?');
}

function truncate(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}
