import type { EventRecorder, Logger } from '@dockop/runtime';
import { makeKey, redactUrl } from '@dockop/runtime';
import { BACKUP_WORKLOAD_KIND, isEnabled, planIdFor } from '@backrest-sidecar/api';
import type { WorkloadTarget } from '@backrest-sidecar/api';
import type { WorkloadBackupResult } from './backup-result.js';
import type { ProgressReporter } from './progress.js';

/** The workloads the backrest engine backs up: only enabled ones (`isEnabled`) have plans. */
export function backrestTargets(targets: WorkloadTarget[]): WorkloadTarget[] {
  return targets.filter(isEnabled);
}

export interface BackrestEngineOptions {
  /** e.g. `http://backrest:9898`. */
  url: string;
  /** Authorization header value, e.g. `Basic dXNlcjpwYXNz`. */
  authorization?: string;
  planIdPrefix?: string;
  includeProjectName: boolean;
  signal?: AbortSignal;
  fetch?: typeof fetch;
}

/**
 * Asks Backrest to run each workload's plan now: `POST <url>/v1.Backrest/Backup` with
 * `{"value": "<plan id>"}` (Backrest's documented Backup API; the call returns when the backup
 * finished). Only `backrest.enable=true` workloads have plans.
 */
export async function runBackrestEngine(
  targets: WorkloadTarget[],
  options: BackrestEngineOptions,
  deps: { logger: Logger; recorder?: EventRecorder; progress?: ProgressReporter },
): Promise<WorkloadBackupResult[]> {
  const doFetch = options.fetch ?? fetch;
  const endpoint = `${options.url.replace(/\/+$/, '')}/v1.Backrest/Backup`;
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (options.authorization) headers.authorization = options.authorization;
  const results: WorkloadBackupResult[] = [];
  // Replicas of one service share one plan (see the plan controller): run it once per pass.
  const ran = new Map<string, WorkloadBackupResult>();
  for (const t of backrestTargets(targets)) {
    const planId = planIdFor(
      { name: t.name, compose: t.compose, swarm: t.swarm },
      options.planIdPrefix !== undefined ? { prefix: options.planIdPrefix } : {},
    );
    const first = ran.get(planId);
    if (first) {
      results.push({
        ...first,
        container: t.name,
        durationMs: 0,
        warnings: [`plan ${planId} already ran for ${first.container} (replicas of one service)`],
      });
      continue;
    }
    const r: WorkloadBackupResult = {
      container: t.name,
      path: planId,
      status: 'ok',
      durationMs: 0,
      warnings: [],
    };
    results.push(r);
    ran.set(planId, r);
    deps.progress?.start(t.name);
    const started = performance.now();
    try {
      const res = await doFetch(endpoint, {
        method: 'POST',
        headers,
        body: JSON.stringify({ value: planId }),
        ...(options.signal ? { signal: options.signal } : {}),
      });
      const text = await res.text().catch(() => '');
      if (!res.ok) {
        r.status = 'failed';
        r.error = `Backrest answered HTTP ${res.status}: ${text.slice(0, 300)}`;
      }
    } catch (err) {
      r.status = 'failed';
      r.error = `cannot reach Backrest at ${redactUrl(endpoint)}: ${(err as Error).message}`;
    }
    r.durationMs = performance.now() - started;
    deps.progress?.finish(t.name, undefined, r.status === 'ok');
    const key = makeKey(BACKUP_WORKLOAD_KIND, t.name);
    if (r.status === 'ok') {
      deps.logger.info('backrest.backed_up', {
        container: t.name,
        plan: planId,
        durationMs: Math.round(r.durationMs),
      });
      deps.recorder?.event(key, 'Normal', 'BackedUp', `Backrest ran plan ${planId}`);
    } else {
      deps.logger.error('backrest.backup_failed', {
        container: t.name,
        plan: planId,
        error: r.error,
      });
      deps.recorder?.event(key, 'Warning', 'BackupFailed', `plan ${planId}: ${r.error}`);
    }
  }
  return results;
}
