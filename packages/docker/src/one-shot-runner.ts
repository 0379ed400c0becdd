import type Dockerode from 'dockerode';
import { childEnv } from '@dockop/runtime';
import type { ActionContext } from './action-deadline.js';
import type { OneShotResult, OneShotSpec } from './container-actions-api.js';
import { cleanUpOneShot } from './container-cleanup.js';
import { createContainer } from './create-container.js';
import { LineBuffer } from './line-buffer.js';

/**
 * Runs one container to completion: create, (attach stdin), start, wait, stream its logs, and
 * always clean up (kill if unfinished, remove unless `autoRemove: false` after a run).
 */
export async function runOneShot(
  ctx: ActionContext,
  spec: OneShotSpec,
  opts: {
    signal?: AbortSignal;
    timeoutMs?: number;
    onLog?: (line: string, stream: 'stdout' | 'stderr') => void;
    stdin?: NodeJS.ReadableStream;
  } = {},
): Promise<OneShotResult> {
  const timeoutMs = opts.timeoutMs ?? ctx.opts.oneShotTimeoutMs;
  const started = ctx.clock.now();
  let container: Dockerode.Container | undefined;
  // Set while the create request is in flight: an abort does not wait for it, the cleanup does.
  let creating: Promise<Dockerode.Container | undefined> | undefined;
  let label = spec.name ?? spec.image;
  let running = false;
  let finished = false;
  let attached: { destroy(): void } | undefined;
  try {
    const result = await ctx.deadline(
      'runOneShot',
      label,
      timeoutMs,
      opts.signal,
      async (signal) => {
        // Not cancelled by `signal`: an aborted request may still create the container on the
        // engine without telling us its id. It is bounded by the request timeout instead, and
        // the cleanup below removes what it created once it answers.
        const request = ctx.client.request('containers.create', (d) =>
          createContainer(d, createOptions(spec, opts.stdin !== undefined), {
            abortSignal: AbortSignal.timeout(ctx.opts.requestTimeoutMs),
          }),
        );
        creating = request.catch(() => undefined);
        const created = await request;
        container = created;
        label = spec.name ?? created.id.slice(0, 12);
        if (signal.aborted) throw signal.reason;
        if (opts.stdin) {
          const input = opts.stdin;
          const stdinSocket = (await ctx.client.streamRequest('containers.attach', () =>
            created.attach({
              stream: true,
              stdin: true,
              stdout: false,
              stderr: false,
              hijack: true,
            }),
          )) as NodeJS.ReadWriteStream & { destroy(): void };
          attached = stdinSocket;
          stdinSocket.on('error', () => {});
          stdinSocket.resume();
          // Never `end` it on abort: the cleanup kills the container first (see the interface).
          signal.addEventListener('abort', () => input.unpipe(stdinSocket), { once: true });
          input.pipe(stdinSocket);
        }
        await ctx.client.request('containers.start', () => created.start({ abortSignal: signal }));
        running = true;
        const waiting = ctx.client.streamRequest('containers.wait', (d) =>
          d.getContainer(created.id).wait({ abortSignal: signal }),
        ) as Promise<{ StatusCode: number }>;
        // Losing the log stream does not fail the job: its exit code still tells the outcome.
        const logsDone = opts.onLog
          ? followLogs(ctx, created.id, opts.onLog, signal, waiting).catch((e: unknown) => {
              if (!signal.aborted) {
                ctx.logger?.warn('oneshot.logs_failed', {
                  container: created.id,
                  error: String(e),
                });
              }
            })
          : undefined;
        const waited = await waiting;
        // The logs stream ends once the container stopped: every line is delivered before we return.
        await logsDone;
        return {
          exitCode: waited.StatusCode,
          containerId: created.id,
          durationMs: ctx.clock.now() - started,
        };
      },
    );
    finished = true;
    ctx.logger?.info('oneshot.finished', {
      container: label,
      image: spec.image,
      exitCode: result.exitCode,
      durationMs: result.durationMs,
    });
    return result;
  } finally {
    container ??= await creating;
    // A container that never ran has nothing worth keeping: removed even without autoRemove.
    // (`start` may have run on the engine although its request was aborted: kill it anyway.)
    if (container) {
      await cleanUpOneShot(
        ctx,
        container,
        !finished,
        spec.autoRemove !== false || !running,
        running && spec.stopSignal
          ? {
              signal: spec.stopSignal,
              ...(spec.stopGraceMs !== undefined ? { graceMs: spec.stopGraceMs } : {}),
            }
          : undefined,
      );
    }
    // Only now (the container is gone): closing it earlier could end a cut-off input cleanly.
    attached?.destroy();
  }
}

/**
 * Follows the logs until the container stopped (`stopped` settled), then repairs the end: the
 * follow stream can close before dockerd wrote a final line without `\n` (it flushes that
 * partial line as the container exits), so the end of the log is read again (timestamps +
 * `since`) and the entries the stream missed are delivered before the unterminated lines are
 * flushed. Within one stream entries are in timestamp order (one copier per stream); across
 * stdout and stderr they are not, so each stream is matched on its own.
 */
async function followLogs(
  ctx: ActionContext,
  id: string,
  onLog: (line: string, stream: 'stdout' | 'stderr') => void,
  signal: AbortSignal,
  stopped: Promise<unknown>,
): Promise<void> {
  const raw = (await ctx.client.streamRequest('containers.logs', (d) =>
    d.getContainer(id).logs({
      follow: true,
      stdout: true,
      stderr: true,
      timestamps: true,
      abortSignal: signal,
    }),
  )) as NodeJS.ReadableStream;
  const emit = (line: string, stream: 'stdout' | 'stderr'): void => {
    try {
      onLog(line, stream);
    } catch (e) {
      ctx.logger?.warn('oneshot.on_log_failed', { container: id, error: String(e) });
    }
  };
  const lines = { stdout: new LineBuffer(), stderr: new LineBuffer() };
  const deliver = (stream: 'stdout' | 'stderr', message: Buffer): void =>
    lines[stream].push(message).forEach((l) => emit(l, stream));
  // Per stream: the newest entry timestamp received and how many entries carried it.
  const last = { stdout: { at: '', count: 0 }, stderr: { at: '', count: 0 } };
  const followed = new LogFrames();
  await new Promise<void>((resolve) => {
    raw.on('data', (chunk: Buffer) =>
      followed.push(chunk, (stream, entry) => {
        const { at, message } = splitTimestamp(entry);
        const l = last[stream];
        if (at === l.at) l.count++;
        else [l.at, l.count] = [at, 1];
        deliver(stream, message);
      }),
    );
    raw.on('end', resolve);
    raw.on('close', resolve);
    raw.on('error', resolve);
  });
  await stopped;
  if (!signal.aborted) {
    // From a second before the older of the two streams' newest entries (none: everything).
    const received = [last.stdout.at, last.stderr.at].filter((a) => a !== '').sort();
    const since = received[0] ? unixTimestamp(received[0], -1) : undefined;
    const again = (await ctx.client.request('containers.logs', (d) =>
      d.getContainer(id).logs({
        follow: false,
        stdout: true,
        stderr: true,
        timestamps: true,
        ...(since ? { since } : {}),
        abortSignal: signal,
      }),
    )) as unknown as Buffer;
    new LogFrames().push(Buffer.from(again), (stream, entry) => {
      const { at, message } = splitTimestamp(entry);
      const l = last[stream];
      // Fixed-width RFC 3339 timestamps of one engine compare as strings.
      if (at < l.at) return;
      if (at === l.at && l.count > 0) {
        l.count--;
        return;
      }
      deliver(stream, message);
    });
  }
  for (const stream of ['stdout', 'stderr'] as const) {
    lines[stream].flush().forEach((l) => emit(l, stream));
  }
}

/** Docker's multiplexed log framing: an 8-byte header (stream type, payload length) per frame. */
class LogFrames {
  #buffer: Buffer = Buffer.alloc(0);

  push(chunk: Buffer, onFrame: (stream: 'stdout' | 'stderr', payload: Buffer) => void): void {
    this.#buffer = this.#buffer.length > 0 ? Buffer.concat([this.#buffer, chunk]) : chunk;
    while (this.#buffer.length >= 8) {
      const type = this.#buffer.readUInt8(0);
      const length = this.#buffer.readUInt32BE(4);
      if (this.#buffer.length < 8 + length) return;
      const payload = this.#buffer.subarray(8, 8 + length);
      this.#buffer = this.#buffer.subarray(8 + length);
      if (type === 1) onFrame('stdout', payload);
      else if (type === 2) onFrame('stderr', payload);
    }
  }
}

/** A log entry read with `timestamps: true`: `<RFC 3339 nano> <message>`. */
function splitTimestamp(entry: Buffer): { at: string; message: Buffer } {
  const space = entry.indexOf(0x20);
  if (space <= 0) return { at: '', message: entry };
  return { at: entry.subarray(0, space).toString('latin1'), message: entry.subarray(space + 1) };
}

/** `2026-01-02T03:04:05.123456789Z` → `1767323045.123456789` (+ `shiftSeconds`), as `since` takes it. */
function unixTimestamp(rfc3339: string, shiftSeconds = 0): string | undefined {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/.exec(rfc3339);
  if (!m) return undefined;
  const seconds = Date.parse(`${m[1]}${m[3]}`) / 1000 + shiftSeconds;
  if (!Number.isFinite(seconds)) return undefined;
  return `${seconds}.${(m[2] ?? '').padEnd(9, '0')}`;
}

function createOptions(spec: OneShotSpec, stdin = false): Dockerode.ContainerCreateOptions {
  return {
    Image: spec.image,
    ...(spec.name ? { name: spec.name } : {}),
    ...(spec.cmd ? { Cmd: spec.cmd } : {}),
    ...(spec.entrypoint ? { Entrypoint: spec.entrypoint } : {}),
    // Exactly the spec's own variables (never inherited keys, never our process env); a name
    // with `=` or a NUL byte is refused instead of smuggling in a second variable.
    ...(spec.env
      ? {
          Env: Object.entries(childEnv({ parent: {}, set: spec.env })).map(([k, v]) => `${k}=${v}`),
        }
      : {}),
    ...(spec.labels ? { Labels: spec.labels } : {}),
    ...(spec.user ? { User: spec.user } : {}),
    ...(spec.workingDir ? { WorkingDir: spec.workingDir } : {}),
    AttachStdout: false,
    AttachStderr: false,
    // StdinOnce: the container's stdin closes when our attach closes it (restic then sees EOF).
    ...(stdin ? { AttachStdin: true, OpenStdin: true, StdinOnce: true } : {}),
    Tty: false,
    HostConfig: {
      // We remove it ourselves after reading the exit code: the engine's AutoRemove races `wait`.
      AutoRemove: false,
      Mounts: (spec.mounts ?? []).map((m) => ({
        Type: m.type,
        Source: m.source,
        Target: m.target,
        ReadOnly: m.readOnly ?? false,
      })),
    },
  };
}
