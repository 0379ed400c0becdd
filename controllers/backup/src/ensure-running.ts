import type { ContainerActions } from '@dockop/docker';
import { isActionError } from '@dockop/docker';

/**
 * Margin added to a stop's grace period before we assume the engine finished it: dockerd keeps
 * stopping a container after our request was aborted (SIGTERM, grace period, then SIGKILL), and
 * the kill plus its bookkeeping take a moment beyond the grace period.
 */
export const STOP_SETTLE_MARGIN_MS = 10_000;

export interface EnsureRunningOptions {
  /**
   * Epoch ms until which a stop of this container may still be in flight (an aborted or failed
   * stop): wait, polling, until it is no longer running, at most until then, before starting it.
   * A `start` while the stop is in flight is a no-op (304, still running), and the container
   * exits right after. Default: no wait.
   */
  settleUntil?: number;
  /** Poll interval while waiting. Default 250 ms. */
  pollMs?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/** The container could not be confirmed running after `start`. */
export class NotRunningError extends Error {
  override readonly name = 'NotRunningError';
}

const defaultSleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Starts a quiesced container again and confirms it runs (inspect `State.Running`). Resolves
 * `running`, or `gone` when the container no longer exists; rejects when it could not be started
 * or does not run afterwards, so the caller keeps it in the journal for repair to retry.
 * Never aborted: starting containers again always runs to the end.
 */
export async function ensureRunning(
  actions: Pick<ContainerActions, 'start' | 'inspect'>,
  container: { id: string; name: string },
  options: EnsureRunningOptions = {},
): Promise<'running' | 'gone'> {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? defaultSleep;
  try {
    if (options.settleUntil !== undefined) {
      while (now() < options.settleUntil) {
        const info = await actions.inspect(container.id);
        if (!info.State?.Running) break;
        await sleep(Math.min(options.pollMs ?? 250, Math.max(1, options.settleUntil - now())));
      }
    }
    await actions.start(container.id);
    const info = await actions.inspect(container.id);
    if (!info.State?.Running) {
      throw new NotRunningError(
        `container ${container.name} is not running after start (status ${String(info.State?.Status)}, exit code ${String(info.State?.ExitCode)})`,
      );
    }
    return 'running';
  } catch (err) {
    if (isActionError(err, 'NotFound')) return 'gone';
    throw err;
  }
}
