import type Dockerode from 'dockerode';
import type { Clock, Logger } from '@dockop/runtime';
import { ActionError, type ContainerActionsOptions } from './container-actions-api.js';
import type { DockerClient } from './docker-client.js';

// Why the per-action AbortController fired.
const TIMED_OUT = Symbol('timed out');

export interface DockerHttpError {
  statusCode?: number;
  message?: string;
}

/** What every container action needs: the connection, the clock its deadlines run on, options. */
export interface ActionContext {
  client: DockerClient;
  clock: Clock;
  logger: Logger | undefined;
  opts: Required<ContainerActionsOptions>;
  /** `withDeadline` on this context's clock. */
  deadline<T>(
    action: string,
    target: string,
    ms: number,
    callerSignal: AbortSignal | undefined,
    fn: (signal: AbortSignal) => Promise<T>,
    detail?: () => string,
  ): Promise<T>;
}

/**
 * Runs `fn` with a signal that aborts when `ms` pass on the clock or the caller's signal aborts,
 * and maps every failure to an ActionError.
 */
export async function withDeadline<T>(
  clock: Clock,
  action: string,
  target: string,
  ms: number,
  callerSignal: AbortSignal | undefined,
  fn: (signal: AbortSignal) => Promise<T>,
  detail?: () => string,
): Promise<T> {
  const controller = new AbortController();
  const timer = clock.setTimeout(() => controller.abort(TIMED_OUT), ms);
  const onCallerAbort = (): void => controller.abort(callerSignal?.reason);
  if (callerSignal?.aborted) onCallerAbort();
  else callerSignal?.addEventListener('abort', onCallerAbort, { once: true });
  // Resolve promptly on abort even if the underlying request ignores its signal.
  let cancelAbortWait: () => void = () => {};
  const aborted = new Promise<never>((_, reject) => {
    const onAbort = (): void => reject(controller.signal.reason);
    if (controller.signal.aborted) onAbort();
    else controller.signal.addEventListener('abort', onAbort, { once: true });
    cancelAbortWait = () => controller.signal.removeEventListener('abort', onAbort);
  });
  aborted.catch(() => {});
  try {
    return await Promise.race([fn(controller.signal), aborted]);
  } catch (err) {
    const suffix = detail ? ` (${detail()})` : '';
    if (err instanceof ActionError) throw err;
    if (controller.signal.aborted && controller.signal.reason === TIMED_OUT) {
      throw new ActionError(
        'Timeout',
        target,
        `${action} ${target}: timed out after ${ms} ms${suffix}`,
        {
          cause: err,
        },
      );
    }
    if (controller.signal.aborted) {
      throw new ActionError('Aborted', target, `${action} ${target}: aborted${suffix}`, {
        cause: callerSignal?.reason ?? err,
      });
    }
    const status = (err as DockerHttpError | null)?.statusCode;
    const message = (err as DockerHttpError | null)?.message ?? String(err);
    if (status === 404) {
      throw new ActionError('NotFound', target, `${action} ${target}: not found (${message})`, {
        cause: err,
      });
    }
    throw new ActionError('Failed', target, `${action} ${target}: ${message}${suffix}`, {
      cause: err,
    });
  } finally {
    timer.cancel();
    cancelAbortWait();
    callerSignal?.removeEventListener('abort', onCallerAbort);
  }
}

export function inspectContainer(
  client: DockerClient,
  target: string,
  signal: AbortSignal,
): Promise<Dockerode.ContainerInspectInfo> {
  return client.request('containers.inspect', (d) =>
    d.getContainer(target).inspect({ abortSignal: signal }),
  );
}

export function ignoreStatus(...codes: number[]): (err: unknown) => void {
  return (err) => {
    if (!codes.includes((err as DockerHttpError | null)?.statusCode ?? -1)) throw err;
  };
}
