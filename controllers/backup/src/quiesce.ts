import type { ContainerActions } from '@dockop/docker';
import { isActionError } from '@dockop/docker';
import type { Logger } from '@dockop/runtime';
import { workloadFromContainerInfo, type WorkloadTarget } from '@backrest-sidecar/api';
import { STOP_SETTLE_MARGIN_MS, ensureRunning } from './ensure-running.js';
import { QuiesceJournal } from './quiesce-journal.js';
import { quiesceExclusion, type QuiesceExclusionOptions } from './quiesce-exclusions.js';
import { stopOrder } from './quiesce-order.js';

// What quiesce did: the shape lives in the API package (part of the backup report).
export type { QuiesceOutcome } from '@backrest-sidecar/api';
import type { QuiesceOutcome } from '@backrest-sidecar/api';

export interface QuiesceOptions {
  /** `key=value` or `key` (then any value of `true`). */
  label: string;
  /** Extra label filters (`key` or `key=value`) every quiesced container must carry. */
  selector?: string[];
  stopTimeoutSec: number;
  stateDir: string;
  /** Recorded in the journal: the RUN_LABEL value of the one-shots `body` starts. Default none. */
  runId?: string;
  logger: Logger;
  /** Aborts stopping (not starting: starting again always runs to the end). */
  signal?: AbortSignal;
  /** Filled in as containers are stopped and started, also when `body` throws. */
  outcome?: QuiesceOutcome;
  /** Poll interval while waiting for an interrupted stop to finish. Default 250 ms. */
  pollMs?: number;
  /** Containers never stopped (ours, Backrest's, a socket proxy): `quiesceExclusion`. */
  exclude?: QuiesceExclusionOptions;
  /**
   * The quiesce set itself instead of the running containers carrying `label` (an in-place
   * restore stops one workload and its dependents). Only running ones are stopped; `exclude`
   * is not applied to them.
   */
  targets?: WorkloadTarget[];
}

/** Running containers carrying the quiesce label. */
export async function listQuiesceTargets(
  actions: Pick<ContainerActions, 'list'>,
  label: string,
  selector: string[] = [],
): Promise<WorkloadTarget[]> {
  const [key, value] = label.includes('=')
    ? [label.slice(0, label.indexOf('=')), label.slice(label.indexOf('=') + 1)]
    : [label, 'true'];
  // Docker matches label values exactly; `True`/`TRUE` are accepted as rcb does, so filter on the key.
  const infos = await actions.list({ label: [key, ...selector], status: ['running'] });
  return infos
    .map(workloadFromContainerInfo)
    .filter((t) => (t.labels[key] ?? '').trim().toLowerCase() === value.trim().toLowerCase());
}

/**
 * Runs `body` with the quiesce set stopped: journal first (durably), then stop in dependency
 * order (dependents first), then `body`, then start in reverse order in a `finally`, so they are
 * started again whether `body` succeeds, throws or is aborted.
 *
 * A stop that was aborted (SIGTERM) or failed may still be in flight on the engine: starting then
 * is a no-op (304, still running) and the container exits right after. So such a container is
 * first waited for until it no longer runs (at most the grace period + STOP_SETTLE_MARGIN_MS),
 * then started, then confirmed running (inspect). The journal is removed only when every
 * container is confirmed running (or gone); the others stay in it for repair to retry.
 */
export async function withQuiesce<T>(
  actions: Pick<ContainerActions, 'list' | 'stop' | 'start' | 'inspect'>,
  options: QuiesceOptions,
  body: (outcome: QuiesceOutcome) => Promise<T>,
): Promise<{ value: T; outcome: QuiesceOutcome }> {
  const log = options.logger;
  const candidates = options.targets
    ? options.targets.filter((t) => t.state === 'running')
    : await listQuiesceTargets(actions, options.label, options.selector);
  // An explicit set was screened by the caller (a restore must stop its workload even if the
  // workload opts out of quiesce around backups).
  const targets = stopOrder(
    options.targets
      ? candidates
      : candidates.filter((t) => {
          const reason = quiesceExclusion(t, options.exclude);
          if (reason) log.info('quiesce.excluded', { container: t.name, reason });
          return reason === undefined;
        }),
  );
  const outcome: QuiesceOutcome = options.outcome ?? {
    stopped: [],
    stopFailed: [],
    started: [],
    startFailed: [],
  };
  const journal = await QuiesceJournal.create(
    options.stateDir,
    targets.map((t) => ({ id: t.id, name: t.name })),
    options.runId,
    (id) => actions.inspect(id),
  );
  // Containers whose stop was requested and did not return: epoch ms until it may be in flight.
  const inFlight = new Map<string, number>();
  let value: T;
  try {
    for (const t of targets) {
      if (options.signal?.aborted) throw options.signal.reason ?? new Error('aborted');
      const settleUntil = Date.now() + options.stopTimeoutSec * 1000 + STOP_SETTLE_MARGIN_MS;
      inFlight.set(t.id, settleUntil);
      await journal.markStopping(t.id, settleUntil);
      try {
        log.info('quiesce.stopping', { container: t.name, timeoutSec: options.stopTimeoutSec });
        await actions.stop(t.id, {
          timeoutSec: options.stopTimeoutSec,
          ...(options.signal ? { signal: options.signal } : {}),
        });
        inFlight.delete(t.id);
        journal.markStopped(t.id);
        outcome.stopped.push(t.name);
      } catch (err) {
        if (isActionError(err, 'Aborted')) throw err;
        outcome.stopFailed.push({ name: t.name, error: (err as Error).message });
        log.error('quiesce.stop_failed', { container: t.name, error: (err as Error).message });
      }
    }
    value = await body(outcome);
  } finally {
    const remaining = [];
    for (const t of [...targets].reverse()) {
      const settleUntil = inFlight.get(t.id);
      try {
        if (settleUntil !== undefined) {
          log.info('quiesce.awaiting_stop', {
            container: t.name,
            reason: 'its stop was interrupted and may still be in flight',
            maxWaitMs: Math.max(0, settleUntil - Date.now()),
          });
        }
        const state = await ensureRunning(actions, t, {
          ...(settleUntil !== undefined ? { settleUntil } : {}),
          ...(options.pollMs !== undefined ? { pollMs: options.pollMs } : {}),
        });
        if (state === 'gone') {
          log.warn('quiesce.gone', { container: t.name });
          continue;
        }
        outcome.started.push(t.name);
        log.info('quiesce.started', { container: t.name });
      } catch (err) {
        outcome.startFailed.push({ name: t.name, error: (err as Error).message });
        log.error('quiesce.start_failed', { container: t.name, error: (err as Error).message });
        remaining.unshift({ id: t.id, name: t.name });
      }
    }
    if (remaining.length === 0) await journal.release();
    else await journal.abandon(remaining);
  }
  return { value, outcome };
}
