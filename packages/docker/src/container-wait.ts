import type Dockerode from 'dockerode';
import { inspectContainer, type ActionContext } from './action-deadline.js';
import { ActionError, type WaitCondition } from './container-actions-api.js';

const DEFAULT_STABLE_MS = 5_000;

/**
 * Polls inspect until `condition` holds: `running`; `healthy` (running, and healthy when it has a
 * healthcheck; `unhealthy` fails at once); `stable` (ready for `stableMs` without a restart).
 */
export async function waitForContainer(
  ctx: ActionContext,
  target: string,
  condition: WaitCondition,
  opts: { timeoutMs: number; stableMs?: number; signal?: AbortSignal },
): Promise<void> {
  const stableMs = opts.stableMs ?? DEFAULT_STABLE_MS;
  let last = 'not inspected yet';
  await ctx.deadline(
    `waitFor ${condition}`,
    target,
    opts.timeoutMs,
    opts.signal,
    async (signal) => {
      let windowStart: number | undefined;
      let incarnation: string | undefined;
      for (;;) {
        const info = await inspectContainer(ctx.client, target, signal);
        const state = info.State;
        const health = state.Health?.Status;
        last = describeState(info);
        const running = state.Running && !state.Restarting;
        if (condition === 'running') {
          if (running) return;
        } else {
          if (health === 'unhealthy') {
            throw new ActionError('Unhealthy', target, `waitFor ${condition} ${target}: ${last}`);
          }
          const ready =
            running && (health === undefined || health === 'none' || health === 'healthy');
          if (ready && condition === 'healthy') return;
          if (ready) {
            const current = `${state.StartedAt}|${info.RestartCount}`;
            const now = ctx.clock.now();
            if (windowStart === undefined || current !== incarnation) {
              windowStart = now;
              incarnation = current;
            }
            if (now - windowStart >= stableMs) return;
          } else {
            windowStart = undefined;
          }
        }
        await ctx.clock.sleep(ctx.opts.pollIntervalMs, signal);
      }
    },
    () => `last state: ${last}`,
  );
}

function describeState(info: Dockerode.ContainerInspectInfo): string {
  const s = info.State;
  const parts = [s.Status];
  if (s.Health?.Status) parts.push(`health ${s.Health.Status}`);
  if (!s.Running) parts.push(`exit code ${s.ExitCode}`);
  parts.push(`restarts ${info.RestartCount}`);
  return parts.join(', ');
}
