import { StringDecoder } from 'node:string_decoder';

/**
 * Splits a byte stream into lines. One chunk is not one line: a partial line is carried over to
 * the next chunk, and a multi-byte UTF-8 character split across chunks is decoded whole.
 */
export class LineBuffer {
  readonly #decoder = new StringDecoder('utf8');
  #pending = '';

  /** Complete lines in this chunk (without `\n` or a trailing `\r`). */
  push(chunk: Buffer | string): string[] {
    const text = this.#pending + (typeof chunk === 'string' ? chunk : this.#decoder.write(chunk));
    const parts = text.split('\n');
    this.#pending = parts.pop() ?? '';
    return parts.map(stripCr);
  }

  /** The unterminated last line, if any, at the end of the stream. */
  flush(): string[] {
    const rest = this.#pending + this.#decoder.end();
    this.#pending = '';
    return rest === '' ? [] : [stripCr(rest)];
  }

  /** Characters held back waiting for a newline. */
  get pendingLength(): number {
    return this.#pending.length;
  }
}

function stripCr(line: string): string {
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}
