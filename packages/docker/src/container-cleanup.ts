import type Dockerode from 'dockerode';
import { ignoreStatus, type ActionContext } from './action-deadline.js';
import { ActionError } from './container-actions-api.js';

// Best effort: the action already has its outcome; a cleanup failure is logged, not thrown.
export async function cleanUpOneShot(
  ctx: ActionContext,
  container: Dockerode.Container,
  kill: boolean,
  remove: boolean,
): Promise<void> {
  const bounded = AbortSignal.timeout(ctx.opts.requestTimeoutMs);
  if (kill) {
    await ctx.client
      .request('containers.kill', () => container.kill({ abortSignal: bounded }))
      .catch(ignoreStatus(404, 409))
      .catch((e: unknown) =>
        ctx.logger?.warn('oneshot.kill_failed', { container: container.id, error: String(e) }),
      );
  }
  if (remove) {
    await ctx.client
      .request('containers.remove', () =>
        container.remove({ force: true, v: false, abortSignal: bounded }),
      )
      .catch(ignoreStatus(404, 409))
      .catch((e: unknown) =>
        ctx.logger?.warn('oneshot.remove_failed', {
          container: container.id,
          error: String(e),
        }),
      );
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
