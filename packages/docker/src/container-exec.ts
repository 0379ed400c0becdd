import type { Duplex, Writable } from 'node:stream';
import { ActionError } from './container-actions.js';
import type { DockerClient } from './docker-client.js';

/**
 * `docker exec` as a library call: runs argv in a running container, streams its stdout (with
 * backpressure: a slow consumer slows the process down instead of filling our memory), keeps
 * the tail of stderr, optionally feeds stdin, and resolves the process's exit code.
 *
 * Docker has no way to kill an exec'd process: on abort or timeout the stream is destroyed, and
 * the process ends at its next write (SIGPIPE) or read (EOF).
 */
export interface ExecOptions {
  /** Copied to the process's stdin, then closed. Default: no stdin (the process reads EOF). */
  stdin?: NodeJS.ReadableStream;
  /**
   * Receives stdout bytes; it is NOT ended when the process exits (the caller decides, e.g.
   * only after a zero exit code). Default: stdout is kept in the result (up to `maxOutputBytes`).
   */
  stdout?: Writable;
  /** User inside the container. Default: the container's. */
  user?: string;
  signal?: AbortSignal;
  /** Deadline of the whole exec, in ms. Default 6 h (a dump of a large database is long). */
  timeoutMs?: number;
  /** The last bytes of stderr (and of stdout when kept) in the result. Default 64 KiB. */
  maxOutputBytes?: number;
}

export interface ExecResult {
  exitCode: number;
  /** '' when `stdout` was given. */
  stdout: string;
  /** The tail of stderr (utf8). */
  stderr: string;
  /** Bytes of stdout the process wrote. */
  stdoutBytes: number;
  durationMs: number;
}

export const DEFAULT_EXEC_TIMEOUT_MS = 6 * 60 * 60 * 1000;
const DEFAULT_MAX_OUTPUT = 64 * 1024;

/** Keeps the last `max` bytes written. */
class Tail {
  #chunks: Buffer[] = [];
  #size = 0;
  constructor(readonly max: number) {}
  push(b: Buffer): void {
    this.#chunks.push(b);
    this.#size += b.length;
    while (this.#size - (this.#chunks[0]?.length ?? 0) >= this.max && this.#chunks.length > 1) {
      this.#size -= this.#chunks.shift()!.length;
    }
  }
  text(): string {
    const all = Buffer.concat(this.#chunks);
    return all.subarray(Math.max(0, all.length - this.max)).toString('utf8');
  }
}

function write(target: Writable, chunk: Buffer, signal: AbortSignal): Promise<void> {
  if (target.write(chunk)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const done = (err?: unknown): void => {
      target.off('drain', onDrain);
      target.off('error', onError);
      target.off('close', onClose);
      signal.removeEventListener('abort', onAbort);
      if (err) reject(err as Error);
      else resolve();
    };
    const onDrain = (): void => done();
    const onError = (e: Error): void => done(e);
    const onClose = (): void => done(new Error('the stdout consumer closed'));
    const onAbort = (): void => done(signal.reason);
    target.once('drain', onDrain);
    target.once('error', onError);
    target.once('close', onClose);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Demultiplexes Docker's stream framing (8-byte header: stream type, 3 zero bytes, big-endian
 * length) by reading the stream with `for await`, so the next frame is read only after the
 * previous one was accepted by `onStdout`.
 */
async function demux(
  stream: Duplex,
  onStdout: (b: Buffer) => Promise<void>,
  onStderr: (b: Buffer) => void,
): Promise<void> {
  let pending: Buffer = Buffer.alloc(0);
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    while (pending.length >= 8) {
      const length = pending.readUInt32BE(4);
      if (pending.length < 8 + length) break;
      const type = pending[0];
      const payload = pending.subarray(8, 8 + length);
      pending = pending.subarray(8 + length);
      if (type === 2) onStderr(payload);
      else await onStdout(payload);
    }
  }
}

/** Runs `argv` in `target` (name or id). Rejects ActionError (NotFound, Failed, Timeout, Aborted). */
export async function execInContainer(
  client: DockerClient,
  target: string,
  argv: string[],
  opts: ExecOptions = {},
): Promise<ExecResult> {
  const started = performance.now();
  const max = opts.maxOutputBytes ?? DEFAULT_MAX_OUTPUT;
  const controller = new AbortController();
  const timeoutMs = opts.timeoutMs ?? DEFAULT_EXEC_TIMEOUT_MS;
  const timer = setTimeout(() => controller.abort(new Error('timeout')), timeoutMs);
  const onAbort = (): void => controller.abort(opts.signal?.reason);
  if (opts.signal?.aborted) onAbort();
  else opts.signal?.addEventListener('abort', onAbort, { once: true });
  const signal = controller.signal;
  let stream: Duplex | undefined;
  const cleanUp = (): void => {
    stream?.destroy();
  };
  signal.addEventListener('abort', cleanUp, { once: true });
  try {
    const exec = await client.request('containers.exec', (d) =>
      d.getContainer(target).exec({
        Cmd: argv,
        AttachStdout: true,
        AttachStderr: true,
        AttachStdin: opts.stdin !== undefined,
        Tty: false,
        ...(opts.user ? { User: opts.user } : {}),
        abortSignal: signal,
      }),
    );
    stream = (await client.streamRequest('exec.start', () =>
      exec.start({ hijack: true, stdin: opts.stdin !== undefined, Detach: false, Tty: false }),
    )) as Duplex;
    if (signal.aborted) stream.destroy();
    const stderr = new Tail(max);
    const kept = new Tail(max);
    let stdoutBytes = 0;
    if (opts.stdin) {
      const input = opts.stdin;
      // end(): half-close, the process reads EOF; our side keeps reading its output.
      input.on('error', () => stream?.destroy());
      input.pipe(stream);
    }
    await demux(
      stream,
      async (b) => {
        stdoutBytes += b.length;
        if (opts.stdout) await write(opts.stdout, b, signal);
        else kept.push(b);
      },
      (b) => stderr.push(b),
    );
    if (signal.aborted) throw signal.reason;
    // The stream ends slightly before the engine records the exit code.
    let info = await client.request('exec.inspect', () => exec.inspect());
    for (let i = 0; info.Running && i < 200; i++) {
      await new Promise((r) => setTimeout(r, 25));
      info = await client.request('exec.inspect', () => exec.inspect());
    }
    return {
      exitCode: info.ExitCode ?? -1,
      stdout: opts.stdout ? '' : kept.text(),
      stderr: stderr.text(),
      stdoutBytes,
      durationMs: performance.now() - started,
    };
  } catch (err) {
    if (err instanceof ActionError) throw err;
    const status = (err as { statusCode?: number } | null)?.statusCode;
    if (signal.aborted) {
      const timedOut = !opts.signal?.aborted;
      throw new ActionError(
        timedOut ? 'Timeout' : 'Aborted',
        target,
        `exec in ${target}: ${timedOut ? `timed out after ${timeoutMs} ms` : 'aborted'}`,
        { cause: err },
      );
    }
    if (status === 404) {
      throw new ActionError('NotFound', target, `exec in ${target}: no such container`, {
        cause: err,
      });
    }
    if (status === 409) {
      throw new ActionError('Failed', target, `exec in ${target}: the container is not running`, {
        cause: err,
      });
    }
    throw new ActionError('Failed', target, `exec in ${target}: ${(err as Error).message}`, {
      cause: err,
    });
  } finally {
    // The hijacked socket stays half open after the output ended: close it, or it keeps the
    // process alive.
    stream?.destroy();
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onAbort);
    signal.removeEventListener('abort', cleanUp);
  }
}
