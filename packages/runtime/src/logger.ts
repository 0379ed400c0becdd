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
