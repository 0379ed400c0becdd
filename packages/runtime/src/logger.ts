import { writeSync } from 'node:fs';
import { Writable as WritableImpl, type Writable } from 'node:stream';
import type { Clock } from './clock.js';
import { SecretRedactor, type Redactor } from './redactor.js';
import { setOwn } from './set-own.js';

/** Structured logger. Fields: `level`, `action`, `controller`, `key`, and any extras. */
export const Logger = Symbol.for('dockop.Logger');

export type LogFields = Record<string, unknown>;

export interface Logger {
  error(action: string, fields?: LogFields): void;
  warn(action: string, fields?: LogFields): void;
  info(action: string, fields?: LogFields): void;
  debug(action: string, fields?: LogFields): void;
  /** A logger whose lines all carry `fields`. */
  child(fields: LogFields): Logger;
}

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';
export type LogFormat = 'json' | 'pretty' | 'auto';

export const LOG_LEVELS: readonly LogLevel[] = ['error', 'warn', 'info', 'debug'];

export function isLogLevel(value: unknown): value is LogLevel {
  return typeof value === 'string' && (LOG_LEVELS as readonly string[]).includes(value);
}

export interface LoggerOptions {
  /** Lowest level written. Default `'info'`. */
  level?: LogLevel;
  /** `json`: one JSON object per line; `pretty`: human-readable; `auto` (default): pretty on a TTY. */
  format?: LogFormat;
  /** Where lines go. Default `process.stderr` (stdout stays free for command output). */
  stream?: Writable;
  /** Fields on every line (copied: a later change to this object does not show). */
  fields?: LogFields;
  /** Default: a new `SecretRedactor`. Share the manager's one so registered secret values apply. */
  redactor?: Redactor;
  /** Source of the `time` field. Default: `Date.now()`. */
  clock?: Pick<Clock, 'now'>;
  /**
   * Colour the level of pretty lines. Default: `useColor(stream)` (a TTY, unless NO_COLOR; always
   * with FORCE_COLOR). JSON lines are never coloured.
   */
  color?: boolean;
}

/**
 * Whether to colour output on `stream`: NO_COLOR (any non-empty value, no-color.org) wins, then
 * FORCE_COLOR (any value but `0`/`false`, as chalk and Node read it), then the stream being a TTY.
 */
export function useColor(
  stream: { isTTY?: boolean } | undefined,
  env: NodeJS.ProcessEnv = process.env,
): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  const force = env.FORCE_COLOR;
  if (force !== undefined) return force !== '0' && force !== 'false';
  return stream?.isTTY === true;
}

/** `auto` resolved against `stream`: pretty on a TTY, JSON otherwise (a pipe, a file, a collector). */
export function resolveLogFormat(
  format: LogFormat,
  stream: { isTTY?: boolean } | undefined,
): 'json' | 'pretty' {
  if (format !== 'auto') return format;
  return stream?.isTTY === true ? 'pretty' : 'json';
}

/** Fields printed first, in this order; everything else follows. */
const LEADING = ['time', 'level', 'action', 'controller', 'key'];

/** Severity order: a line is written when its level is at or above the logger's. */
const SEVERITY: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

const COLORS: Record<string, string> = {
  error: '\x1b[31m',
  warn: '\x1b[33m',
  info: '\x1b[36m',
  debug: '\x1b[90m',
};

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? 'null';
  } catch {
    return '"[unserializable]"';
  }
}

function renderPretty(record: Record<string, unknown>, color: boolean): string {
  const time = typeof record['time'] === 'string' ? record['time'].slice(11, 23) : '';
  const level = String(record['level'] ?? '');
  const lvl = level.toUpperCase().padEnd(5);
  const parts = [
    time,
    color ? `${COLORS[level] ?? ''}${lvl}\x1b[0m` : lvl,
    String(record['action']),
  ];
  for (const [k, v] of Object.entries(record)) {
    if (k === 'time' || k === 'level' || k === 'action') continue;
    if (v === undefined) continue;
    parts.push(`${k}=${typeof v === 'string' && !/[\s"=]/.test(v) ? v : safeJson(v)}`);
  }
  return parts.join(' ');
}

/**
 * A `Logger` writing one line per call: `time`, `level`, `action` (the first argument), then
 * `controller`, `key` and any extra fields. Secrets are redacted before serialisation and the
 * serialised line is scanned once more for registered secret values.
 *
 * Lines go straight to `stream`: a dry run logs one line per plan, and winston's object-mode
 * stream pipeline (format chain, transport stream, per-line copies) cost about as much as
 * rendering the plans did (issue #13); levels, field order and redaction are unchanged.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const stream = options.stream ?? process.stderr;
  const pretty =
    resolveLogFormat(options.format ?? 'auto', stream as { isTTY?: boolean }) === 'pretty';
  const redactor = options.redactor ?? new SecretRedactor();
  const sink: LineSink = {
    stream,
    write:
      stream === process.stderr || stream === process.stdout ? batchFor(stream) : writeTo(stream),
    redactor,
    clock: options.clock ?? { now: () => Date.now() },
    severity: SEVERITY[options.level ?? 'info'],
    pretty,
    color: pretty && (options.color ?? useColor(stream as { isTTY?: boolean })),
    stamp: { at: NaN, iso: '' },
    secrets: redactor instanceof SecretRedactor ? redactor : undefined,
    heads: new Map(),
  };
  // A copy: the bindings are serialised once, so a caller's later change must not count.
  return new LineLogger(sink, { ...options.fields });
}

interface LineSink {
  readonly stream: Writable;
  /** Writes one finished line (`\n` included). */
  readonly write: (line: string) => void;
  readonly redactor: Redactor;
  readonly clock: Pick<Clock, 'now'>;
  readonly severity: number;
  readonly pretty: boolean;
  readonly color: boolean;
  /** The last `time` written, formatted once per millisecond (a dry run logs 2,000 lines in a few). */
  readonly stamp: { at: number; iso: string };
  /** `redactor` when it is a `SecretRedactor`: `isClean` may spare the redacted copy. */
  readonly secrets: SecretRedactor | undefined;
  /** `actionHead`'s answers. */
  readonly heads: Map<string, string | null>;
}

class LineLogger implements Logger {
  readonly #sink: LineSink;
  readonly #fields: LogFields;
  /** The bindings' part of a JSON line, made at the first line (`null`: no fast path). */
  #bound: Bound | null | undefined;

  constructor(sink: LineSink, fields: LogFields) {
    this.#sink = sink;
    this.#fields = fields;
  }

  error(action: string, fields?: LogFields): void {
    this.#log('error', action, fields);
  }
  warn(action: string, fields?: LogFields): void {
    this.#log('warn', action, fields);
  }
  info(action: string, fields?: LogFields): void {
    this.#log('info', action, fields);
  }
  debug(action: string, fields?: LogFields): void {
    this.#log('debug', action, fields);
  }
  child(fields: LogFields): Logger {
    return new LineLogger(this.#sink, { ...this.#fields, ...fields });
  }

  #log(level: LogLevel, action: string, fields?: LogFields): void {
    const sink = this.#sink;
    if (SEVERITY[level] > sink.severity) return;
    const now = sink.clock.now();
    const { stamp } = sink;
    if (now !== stamp.at) {
      stamp.iso = new Date(now).toISOString();
      stamp.at = now;
    }
    const secrets = sink.secrets;
    if (secrets !== undefined && !sink.pretty) {
      const line = this.#cleanLine(secrets, stamp.iso, level, action, fields);
      if (line !== undefined) {
        sink.write(line);
        return;
      }
    }
    const record = recordOf(stamp.iso, level, action, this.#fields, fields ?? NO_FIELDS);
    // Most lines hold nothing to redact: serialised as they are, without a redacted deep copy.
    const r = sink.redactor;
    const clean = (secrets?.isClean(record) ? record : r.redact(record)) as Record<string, unknown>;
    const line = sink.pretty ? renderPretty(clean, sink.color) : safeJson(clean);
    sink.write(`${r.redactValues(line)}\n`);
  }

  /**
   * The JSON line `recordOf` + `safeJson` + `redactValues` would write, when none of it is to be
   * redacted and the call's fields keep to their own names (no binding's, no leading one, no
   * `message`, no array index: those change the record's order); otherwise undefined, and the
   * caller takes the general path. The bindings are serialised once, at the first line, and the
   * call's fields as they are: no merged record is built, and only the call's fields are walked
   * and scanned for secrets. A dry run writes 2,000 lines in cold code (issue #13).
   */
  #cleanLine(
    secrets: SecretRedactor,
    time: string,
    level: LogLevel,
    action: string,
    fields: LogFields | undefined,
  ): string | undefined {
    let bound = this.#bound;
    if (bound === undefined) bound = this.#bound = boundOf(this.#fields, secrets);
    if (bound === null) return undefined;
    const head = actionHead(this.#sink, action);
    if (head === undefined) return undefined;
    let tail = '}';
    if (fields !== undefined) {
      if (typeof fields !== 'object' || fields === null || Array.isArray(fields)) return undefined;
      // for-in, not Object.keys: no array of names per line (cold code, 2,000 lines).
      let named = false;
      for (const k in fields) {
        if (bound.taken.has(k) || isDigit(k.charCodeAt(0))) return undefined;
        named = true;
      }
      if (named) {
        // Undefined also for what JSON.stringify would not write as `redact` does (an Error, a
        // Date, a Map, a bigint, a cycle).
        // Registered values: `redactValues` below scans the whole line for them.
        const json = secrets.cleanJson(fields, false);
        if (json === undefined) return undefined;
        if (json.length > 2) tail = `,${json.slice(1)}`;
      }
    }
    const line = `{"time":"${time}","level":"${level}"${head}${bound.json}${tail}\n`;
    // A registered value (across two fields, or registered after the bindings were serialised):
    // what `redactValues` would blank, on the general path.
    return secrets.redactValues(line) === line ? line : undefined;
  }
}

interface Bound {
  /** `,"controller":…,"key":…` and the other bindings, as a line has them (`''`: none). */
  readonly json: string;
  /** Names a call's fields must not hold for the fast path: leading, bound, `message`. */
  readonly taken: ReadonlySet<string>;
}

/**
 * The bindings' part of every line, or null when it cannot be made once: a `message` binding
 * (renamed per line), a `__proto__` or array-index one (placed apart), a value that is not a
 * primitive (its owner may change it later) or one `redact` would change. A registered value
 * added later is caught on each line.
 */
function boundOf(base: LogFields, secrets: SecretRedactor): Bound | null {
  const keys = Object.keys(base);
  const ordered: LogFields = {};
  if (hasField(base, 'controller')) ordered['controller'] = base['controller'];
  if (hasField(base, 'key')) ordered['key'] = base['key'];
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i] as string;
    const v = base[k];
    if (k === 'message' || k === '__proto__' || isDigit(k.charCodeAt(0))) return null;
    if (v !== null && v !== undefined && !PRIMITIVES.includes(typeof v)) return null;
    if (!LEADING.includes(k)) ordered[k] = v;
  }
  if (!secrets.isClean(ordered)) return null;
  const json = JSON.stringify(ordered);
  return {
    json: json.length > 2 ? `,${json.slice(1, -1)}` : '',
    taken: new Set([...LEADING, 'message', '__proto__', ...keys]),
  };
}

const PRIMITIVES: readonly string[] = ['string', 'number', 'boolean'];

/** `0`-`9`: a name starting with one may be an array index, which JSON puts first. */
function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** `,"action":"…"`, made once per action; undefined when `redact` would change the action. */
function actionHead(sink: LineSink, action: string): string | undefined {
  const heads = sink.heads;
  let head = heads.get(action);
  if (head === undefined) {
    head =
      typeof action === 'string' && sink.secrets?.isClean(action)
        ? `,"action":${JSON.stringify(action)}`
        : null;
    // Actions are the code's own constants; bounded all the same.
    if (heads.size >= 256) heads.clear();
    heads.set(action, head);
  }
  return head ?? undefined;
}

const NO_FIELDS: LogFields = {};

/**
 * A line's record: `time`, `level`, `action`, then `controller` and `key`, then the logger's and
 * the call's fields merged (`{ ...base, ...fields }`'s keys and order; the call's value wins).
 * Callers' `message` is kept as `msg`; their `level`, `time` and `action` never replace ours.
 */
function recordOf(
  time: string,
  level: LogLevel,
  action: string,
  base: LogFields,
  fields: LogFields,
): Record<string, unknown> {
  if (hasField(base, 'message') || hasField(fields, 'message')) {
    return recordOf(time, level, action, {}, withMsg(base, fields));
  }
  // Filled straight from both sources: the merged copy this used to make first was ~15 % of a
  // line (a dry run logs 2,000). Copied key by key, never spread: `{ ...a, ...b }` cost ~10 µs a
  // line on Node 20 (V8 leaves the copy in a slow shape that every later step pays for).
  const record: Record<string, unknown> = { time, level, action };
  if (hasField(fields, 'controller')) record['controller'] = fields['controller'];
  else if (hasField(base, 'controller')) record['controller'] = base['controller'];
  if (hasField(fields, 'key')) record['key'] = fields['key'];
  else if (hasField(base, 'key')) record['key'] = base['key'];
  // A key in both is set twice: the first set places it, the second gives the call's value.
  assignOwn(record, base, LEADING);
  assignOwn(record, fields, LEADING);
  return record;
}

/** `{ ...base, ...fields }` with `message` renamed `msg` (at the end, as the rename puts it). */
function withMsg(base: LogFields, fields: LogFields): LogFields {
  const meta: LogFields = {};
  assignOwn(meta, base);
  assignOwn(meta, fields);
  meta['msg'] = meta['message'];
  delete meta['message'];
  return meta;
}

/** An own enumerable `k`: what `Object.keys` (and so a spread) copies. */
function hasField(o: LogFields, k: string): boolean {
  return Object.prototype.propertyIsEnumerable.call(o, k);
}

/**
 * Lines a stream did not take: logged after it failed or closed, or in a write that failed.
 * Process-wide, as the streams are; `PrometheusMetrics` serves it as
 * `dockop_log_lines_dropped_total`, so a daemon whose log reader went away is not silent unseen.
 */
let linesDropped = 0;

/** How many log lines this process dropped so far (see `batchFor`): a counter, never reset. */
export function logLinesDropped(): number {
  return linesDropped;
}

function dropLines(text: string): void {
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) linesDropped++;
}

/** Counts the lines of a write that failed (EPIPE, or queued behind one: the stream is gone). */
function writeCounted(stream: Writable, text: string): void {
  stream.write(text, (err) => {
    if (err) dropLines(text);
  });
}

/** Each line at once; none once the stream is closed (`write` after `end` is an error). */
function writeTo(stream: Writable): (line: string) => void {
  return (line) => {
    if (!stream.destroyed && !stream.writableEnded) writeCounted(stream, line);
    else linesDropped++;
  };
}

/**
 * Lines for process.stderr or stdout logged in one tick leave in one write at its end: a dry run
 * logs 2,000 plan lines in one loop, and each write was a syscall through the stream machinery
 * (~3 µs a line). Lines still leave within the tick they were logged in (a daemon's are not
 * held), at least every 64 kB, and the 'exit' handler writes what a process.exit() or an uncaught
 * exception left pending (Node runs it before printing the exception). Other streams (a caller's
 * file, tests' memory streams) get each line at once.
 *
 * The stream's own failures never end the process: a log reader that went away (`2>&1 | head`, a
 * collector restarted) makes the next write fail with EPIPE, and an 'error' nobody listens to
 * would be thrown, killing a backup between stopping a database and starting it again. The
 * stream is then destroyed (Node does that on a failed write) and later lines are dropped:
 * there is nowhere left to write them, and the work matters more than its log. They are counted
 * (`logLinesDropped`): the failed write's lines too, those an exit could not write are not.
 */
const batches = new Map<Writable, (line: string) => void>();

function batchFor(stream: Writable): (line: string) => void {
  let write = batches.get(stream);
  if (write) return write;
  let pending = '';
  const flush = (atExit = false): void => {
    const text = pending;
    pending = '';
    if (text === '') return;
    if (stream.destroyed || stream.writableEnded) return dropLines(text);
    // At exit a stream write that does not fit in the pipe at once is queued, and the process
    // ends before the queue drains: a reader a moment behind lost all but 64 kB. Written here
    // and now instead, unless earlier writes still wait in the stream (they go first).
    const fd = (stream as { fd?: unknown }).fd;
    if (atExit && typeof fd === 'number' && stream.writableLength === 0) writeAllSync(fd, text);
    else writeCounted(stream, text);
  };
  write = (line) => {
    if (pending === '') queueMicrotask(flush);
    pending += line;
    if (pending.length >= 65536) flush();
  };
  stream.on('error', ignoreStreamError);
  process.once('exit', () => flush(true));
  batches.set(stream, write);
  return write;
}

function ignoreStreamError(): void {
  // See batchFor: the stream is destroyed, and its lines are dropped from here on.
}

/** How long `writeAllSync` waits for a reader that takes nothing: it must not hang an exit. */
const EXIT_WRITE_PATIENCE_MS = 10_000;

/**
 * `text` to `fd`, whole, now: waits (1 ms at a time) while a non-blocking pipe is full, gives up
 * on any other error (the reader is gone) or after `EXIT_WRITE_PATIENCE_MS` without progress.
 */
function writeAllSync(fd: number, text: string): void {
  const bytes = Buffer.from(text);
  const nap = new Int32Array(new SharedArrayBuffer(4));
  let off = 0;
  let waited = 0;
  while (off < bytes.length) {
    try {
      off += writeSync(fd, bytes, off);
      waited = 0;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN' || waited >= EXIT_WRITE_PATIENCE_MS) {
        return;
      }
      Atomics.wait(nap, 0, 0, 1);
      waited++;
    }
  }
}

/**
 * `Object.assign` for own enumerable string keys, but `skip`'s, that keeps a `__proto__` key a plain
 * field.
 */
function assignOwn(
  out: Record<string, unknown>,
  from: LogFields,
  skip: readonly string[] = [],
): void {
  // Indexed, not for-of: the first few hundred lines run unoptimised, where for-of allocates an
  // iterator result per key (~0.6 MiB of garbage in a 2,000-plan dry run).
  const keys = Object.keys(from);
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i] as string;
    if (skip.includes(k)) continue;
    // A hostile field named `__proto__` stays a field instead of replacing the prototype.
    setOwn(out, k, from[k]);
  }
}

/** A logger that drops everything (tests, library defaults). */
export function createNullLogger(): Logger {
  const l: Logger = {
    error() {},
    warn() {},
    info() {},
    debug() {},
    child: () => l,
  };
  return l;
}

/** Collects lines in memory; `lines` are the parsed JSON records. For tests. */
export class MemoryLogStream {
  readonly chunks: string[] = [];
  readonly writable: Writable;

  constructor() {
    this.writable = new WritableImpl({
      write: (chunk: unknown, _enc, cb) => {
        this.chunks.push(String(chunk));
        cb();
      },
    });
  }

  get text(): string {
    return this.chunks.join('');
  }

  get lines(): Record<string, unknown>[] {
    return this.text
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  }
}
