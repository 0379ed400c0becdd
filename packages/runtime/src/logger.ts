import winston from 'winston';
import { Writable as WritableImpl, type Writable } from 'node:stream';
import type { Clock } from './clock.js';
import { SecretRedactor, type Redactor } from './redactor.js';

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
  /** Fields on every line. */
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

const MESSAGE = Symbol.for('message');
const LEVEL = Symbol.for('level');
/** Fields printed first, in this order; everything else follows. */
const LEADING = ['time', 'level', 'action', 'controller', 'key'];

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
 * A winston-backed `Logger`: each line carries `time`, `level`, `action` (the first argument),
 * then `controller`, `key` and any extra fields. Secrets are redacted before serialisation and the
 * serialised line is scanned once more for registered secret values.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const stream = options.stream ?? process.stderr;
  const redactor = options.redactor ?? new SecretRedactor();
  const clock = options.clock ?? { now: () => Date.now() };
  const format = options.format ?? 'auto';
  const pretty = resolveLogFormat(format, stream as { isTTY?: boolean }) === 'pretty';
  const color = pretty && (options.color ?? useColor(stream as { isTTY?: boolean }));

  const shape = winston.format((info) => {
    const raw = info as unknown as Record<string | symbol, unknown>;
    const record: Record<string, unknown> = {
      time: new Date(clock.now()).toISOString(),
      level: raw[LEVEL] ?? info.level,
      action: info.message,
    };
    for (const [k, v] of Object.entries(raw)) {
      if (k === 'level' || k === 'message' || k === 'time' || k === 'action') continue;
      record[k] = v;
    }
    const ordered: Record<string, unknown> = {};
    for (const k of LEADING) if (k in record) ordered[k] = record[k];
    for (const [k, v] of Object.entries(record)) if (!(k in ordered)) ordered[k] = v;
    const clean = redactor.redact(ordered) as Record<string, unknown>;
    const line = pretty ? renderPretty(clean, color) : safeJson(clean);
    raw[MESSAGE] = redactor.redactValues(line);
    return info;
  });

  const w = winston.createLogger({
    level: options.level ?? 'info',
    levels: { error: 0, warn: 1, info: 2, debug: 3 },
    format: shape(),
    transports: [new winston.transports.Stream({ stream })],
  });
  return new WinstonLogger(w, options.fields ?? {});
}

class WinstonLogger implements Logger {
  constructor(
    readonly winston: winston.Logger,
    readonly fields: LogFields,
  ) {}

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
    return new WinstonLogger(this.winston, { ...this.fields, ...fields });
  }

  #log(level: LogLevel, action: string, fields?: LogFields): void {
    if (!this.winston.isLevelEnabled(level)) return;
    // winston treats `message` and `level` specially: keep callers' fields under other names.
    const meta: LogFields = { ...this.fields, ...fields };
    if ('message' in meta) {
      meta['msg'] = meta['message'];
      delete meta['message'];
    }
    if ('level' in meta) delete meta['level'];
    this.winston.log(level, action, meta);
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
