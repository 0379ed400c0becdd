import type Dockerode from 'dockerode';
import { ignoreStatus, type ActionContext } from './action-deadline.js';
import { ActionError } from './container-actions-api.js';

/** `OneShotSpec.stopGraceMs`'s default. */
export const DEFAULT_STOP_GRACE_MS = 10_000;

// Best effort: the action already has its outcome; a cleanup failure is logged, not thrown.
export async function cleanUpOneShot(
  ctx: ActionContext,
  container: Dockerode.Container,
  kill: boolean,
  remove: boolean,
  stop?: { signal: string; graceMs?: number },
): Promise<void> {
  const bounded = AbortSignal.timeout(ctx.opts.requestTimeoutMs);
  const warn = (action: string) => (e: unknown) =>
    ctx.logger?.warn(action, { container: container.id, error: String(e) });
  if (kill && stop) {
    // The process's own signal first, then wait (bounded) for it to exit: e.g. restic unlocks.
    const sent = await ctx.client
      .request('containers.kill', () =>
        container.kill({ signal: stop.signal, abortSignal: bounded }),
      )
      .then(
        () => true,
        (e: unknown) => (ignoreStatus(404, 409)(e), false), // gone or not running: nothing to wait for
      )
      .catch((e: unknown) => (warn('oneshot.kill_failed')(e), false));
    if (sent) {
      const grace = AbortSignal.timeout(stop.graceMs ?? DEFAULT_STOP_GRACE_MS);
      await ctx.client
        .streamRequest('containers.wait', () =>
          container.wait({ condition: 'not-running', abortSignal: grace }),
        )
        .catch(() => undefined); // still running after the grace: SIGKILL below
    }
  }
  if (kill) {
    await ctx.client
      .request('containers.kill', () => container.kill({ abortSignal: bounded }))
      .catch(ignoreStatus(404, 409))
      .catch(warn('oneshot.kill_failed'));
  }
  if (remove) {
    await ctx.client
      .request('containers.remove', () =>
        container.remove({ force: true, v: false, abortSignal: bounded }),
      )
      .catch(ignoreStatus(404, 409))
      .catch(warn('oneshot.remove_failed'));
  }
}

/** Removes the containers carrying every one of `labels` (a crashed run's one-shots). */
export async function removeLeftovers(
  ctx: ActionContext,
  labels: Record<string, string>,
  opts: { includeRunning?: boolean; signal?: AbortSignal } = {},
): Promise<string[]> {
  const pairs = Object.entries(labels).map(([k, v]) => `${k}=${v}`);
  // No label would match every container on the host.
  if (pairs.length === 0) {
    throw new ActionError(
      'Failed',
      '(no labels)',
      'removeLeftovers: at least one label is required (no label selects every container)',
    );
  }
  const target = pairs.join(',');
  return ctx.deadline(
    'removeLeftovers',
    target,
    ctx.opts.requestTimeoutMs,
    opts.signal,
    async (signal) => {
      const filters: Record<string, string[]> = { label: pairs };
      if (!opts.includeRunning) filters.status = ['created', 'exited', 'dead'];
      const found = await ctx.client.request('containers.list', (d) =>
        d.listContainers({ all: true, filters, abortSignal: signal }),
      );
      const removed: string[] = [];
      for (const info of found) {
        try {
          await ctx.client.request('containers.remove', (d) =>
            d.getContainer(info.Id).remove({ force: true, v: false, abortSignal: signal }),
          );
        } catch (err) {
          ignoreStatus(404, 409)(err); // gone meanwhile, or already being removed
          continue;
        }
        removed.push(info.Id);
        ctx.logger?.info('oneshot.leftover_removed', {
          container: info.Names?.[0]?.replace(/^\//, '') ?? info.Id.slice(0, 12),
          state: info.State,
        });
      }
      return removed;
    },
  );
}
