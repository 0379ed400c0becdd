/**
 * One HTTP/1.0 GET over a unix socket, its answer read straight into one growing buffer: all the
 * bin's early container list (early-list.cts) needs, and no more.
 *
 * Why not `node:http`: it reads a socket 64 KiB at a time, each read into fresh memory, passes
 * every piece through the chunked-encoding parser and a readable stream, and the caller then
 * copies the pieces into one buffer. For the 1.7 MB list of 2,000 containers that was ~27 reads
 * and ~830 first touches of a 4 KiB page (~16 µs each on our 2-core VMs), 15–25 ms from the first
 * byte to the last. Here libuv reads into the buffer itself (`net`'s `onread`), in as few reads
 * as the kernel allows (2 for that list), and nothing is copied before the caller decodes it.
 *
 *   connect ──▶ "GET path HTTP/1.0" ──▶ reads into buf[used..] (grown ×2 when < 64 KiB is left)
 *                                          │ the engine closes after the body (HTTP/1.0)
 *                                          ▼
 *                          head checked ──▶ body = buf[head end .. used]
 *
 * HTTP/1.0, so the engine sends the body as it is (RFC 9112: no transfer coding for a 1.0
 * request) and closes the connection after it. A proxy in front of the engine may still send
 * chunks (one that copies the engine's 1.1 headers): those are decoded in place. Anything else
 * unexpected (a head over 16 KiB, a status other than 200, another transfer coding, a body
 * shorter or longer than its Content-Length, a close before the end) rejects: the early list's
 * caller then lists through the Docker client, as without it, and reports what that reports.
 */
import { connect, type Socket } from 'node:net';

export interface UnixGet {
  /** The body of a 200 answer. Rejects on any other answer, a failure, or `abandon()`. */
  readonly body: Promise<Buffer>;
  /** From now on the request keeps the process alive (until then it does not). */
  ref(): void;
  /** Closes the connection, answered or not. */
  abandon(): void;
}

export interface UnixGetOptions {
  /** No answer within this time (since the last byte) rejects. Default 30,000 ms. */
  readonly timeoutMs?: number;
  /** The first buffer's size; it doubles as needed. Default 4 MiB (untouched memory is free). */
  readonly initialBytes?: number;
}

/** Node's own default for `--max-http-header-size`. */
export const MAX_HEAD_BYTES = 16 * 1024;

/** The buffer grows once less than this is left for the next read (libuv's own read size). */
const MIN_READ_BYTES = 64 * 1024;

const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');

/** GET `path` from the HTTP server on unix socket `socketPath`; unref'd until `ref()`. */
export function unixHttpGet(
  socketPath: string,
  path: string,
  options: UnixGetOptions = {},
): UnixGet {
  if (!/^\/[\x21-\x7e]*$/.test(path)) throw new Error('the request path must be printable ASCII');
  const timeoutMs = options.timeoutMs ?? 30_000;
  const answer = new Answer(options.initialBytes ?? 4 * 1024 * 1024);
  let wanted = false;
  let socket: Socket | undefined;
  const body = new Promise<Buffer>((resolve, reject) => {
    const settle = (result: Buffer | Error | undefined): void => {
      if (result === undefined) return;
      if (result instanceof Error) reject(result);
      else resolve(result);
      socket?.destroy();
    };
    socket = connect({
      path: socketPath,
      onread: {
        buffer: () => answer.free(),
        callback: (nread: number): boolean => {
          settle(answer.received(nread));
          return true;
        },
      },
    });
    if (!wanted) socket.unref();
    socket.setTimeout(timeoutMs, () => settle(new Error(`no answer within ${timeoutMs} ms`)));
    socket.on('error', settle);
    socket.on('end', () => settle(answer.ended()));
    socket.on('close', () => settle(new Error('the connection closed before the answer ended')));
    // No `end()`: a Go server cancels a request whose client half-closed its connection.
    socket.write(`GET ${path} HTTP/1.0\r\nHost: docker\r\n\r\n`, 'latin1');
  });
  // Whoever takes it handles its failure; nobody may take it.
  body.catch(() => undefined);
  return {
    body,
    ref(): void {
      wanted = true;
      socket?.ref();
    },
    abandon(): void {
      socket?.destroy(new Error('abandoned'));
    },
  };
}

const CR = 13;
const LF = 10;

/**
 * An answer as it arrives, in one buffer. `received` and `ended` return the body once it is
 * complete, an Error once it cannot be, and undefined while more may come. A chunked body
 * (which a proxy in front of the engine may send even to a 1.0 request) is decoded in place as
 * its chunks complete: each chunk's data moves down over the framing before it.
 */
class Answer {
  #buf: Buffer;
  #used = 0;
  #head: Head | undefined;
  /** Chunked: where the next chunk's size line starts, and where its data goes. */
  #next = 0;
  #out = 0;

  constructor(initialBytes: number) {
    this.#buf = Buffer.allocUnsafe(Math.max(initialBytes, MIN_READ_BYTES));
  }

  /** Where the next read goes: the free end of the buffer, doubled first when short. */
  free(): Buffer {
    if (this.#buf.length - this.#used < MIN_READ_BYTES) {
      const bigger = Buffer.allocUnsafe(this.#buf.length * 2);
      this.#buf.copy(bigger, 0, 0, this.#used);
      this.#buf = bigger;
    }
    return this.#buf.subarray(this.#used);
  }

  received(nread: number): Buffer | Error | undefined {
    this.#used += nread;
    if (!this.#head) {
      const head = this.#readHead();
      if (head === undefined || head instanceof Error) return head;
      this.#head = head;
      this.#next = this.#out = head.bodyStart;
    }
    const { bodyStart, contentLength, chunked } = this.#head;
    if (chunked) return this.#dechunk(bodyStart);
    if (contentLength === undefined) return undefined;
    const have = this.#used - bodyStart;
    if (have > contentLength) return new Error('the answer is longer than its Content-Length');
    return have === contentLength ? this.#buf.subarray(bodyStart, this.#used) : undefined;
  }

  /** The connection closed: what came is the whole answer, if it is complete. */
  ended(): Buffer | Error {
    const head = this.#head;
    if (!head) return new Error('the connection closed before the answer');
    const short =
      head.chunked ||
      (head.contentLength !== undefined && this.#used - head.bodyStart < head.contentLength);
    if (short) return new Error('the connection closed before the answer ended');
    return this.#buf.subarray(head.bodyStart, this.#used);
  }

  #readHead(): Head | Error | undefined {
    const at = this.#buf
      .subarray(0, Math.min(this.#used, MAX_HEAD_BYTES + HEAD_END.length))
      .indexOf(HEAD_END);
    if (at >= 0) {
      const head = parseHead(this.#buf.toString('latin1', 0, at));
      return head instanceof Error ? head : { ...head, bodyStart: at + HEAD_END.length };
    }
    return this.#used > MAX_HEAD_BYTES
      ? new Error('the answer has no end of head within 16 KiB')
      : undefined;
  }

  /** Decodes the chunks complete so far; the body once the last chunk and trailers are in. */
  #dechunk(bodyStart: number): Buffer | Error | undefined {
    const buf = this.#buf;
    for (;;) {
      const lineEnd = buf.subarray(0, this.#used).indexOf('\r\n', this.#next, 'latin1');
      if (lineEnd < 0) {
        return this.#used - this.#next > MAX_CHUNK_LINE
          ? new Error('the answer has a malformed chunk')
          : undefined;
      }
      const sizeText = buf.toString('latin1', this.#next, lineEnd).split(';')[0]?.trim() ?? '';
      if (!/^[0-9a-fA-F]{1,8}$/.test(sizeText))
        return new Error('the answer has a malformed chunk');
      const size = parseInt(sizeText, 16);
      if (size === 0) {
        // The last chunk, then trailer lines (ignored) up to an empty line.
        const end =
          buf[lineEnd + 2] === CR && buf[lineEnd + 3] === LF && lineEnd + 4 <= this.#used
            ? lineEnd + 4
            : buf.subarray(0, this.#used).indexOf(HEAD_END, lineEnd);
        if (end < 0) return undefined;
        return buf.subarray(bodyStart, this.#out);
      }
      const dataStart = lineEnd + 2;
      const dataEnd = dataStart + size;
      if (this.#used < dataEnd + 2) return undefined;
      if (buf[dataEnd] !== CR || buf[dataEnd + 1] !== LF) {
        return new Error('the answer has a malformed chunk');
      }
      buf.copy(buf, this.#out, dataStart, dataEnd);
      this.#out += size;
      this.#next = dataEnd + 2;
    }
  }
}

/** The longest chunk size line taken (with extensions, which are ignored). */
const MAX_CHUNK_LINE = 1024;

interface Head {
  readonly status: number;
  readonly contentLength: number | undefined;
  readonly chunked: boolean;
  readonly bodyStart: number;
}

/** The status, Content-Length and transfer coding of a 200 answer's head (its text before the blank line). */
export function parseHead(text: string): Omit<Head, 'bodyStart'> | Error {
  const lines = text.split('\r\n');
  const status = /^HTTP\/1\.[01] (\d{3})(?: |$)/.exec(lines[0] ?? '');
  if (!status) return new Error('the answer is not HTTP/1.x');
  const code = Number(status[1]);
  if (code !== 200) return new Error(`the engine answered ${code}`);
  let contentLength: number | undefined;
  let chunked = false;
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) return new Error('the answer has a malformed header line');
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === 'transfer-encoding') {
      const coding = value.toLowerCase();
      if (coding === 'chunked') chunked = true;
      else if (coding !== 'identity') {
        return new Error(`the answer has a transfer coding we do not read: ${coding.slice(0, 40)}`);
      }
    }
    if (name === 'content-length') {
      if (!/^\d{1,15}$/.test(value) || (contentLength !== undefined && contentLength !== +value)) {
        return new Error('the answer has an invalid Content-Length');
      }
      contentLength = Number(value);
    }
  }
  // RFC 9112 6.3: with both, the length is the chunks'.
  return { status: code, contentLength: chunked ? undefined : contentLength, chunked };
}
