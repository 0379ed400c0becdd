import { LineBuffer } from './line-buffer.js';

/** Container actions the informer reacts to; everything else (exec_*, attach, top...) is ignored. */
export const WATCHED_ACTIONS = [
  'create',
  'start',
  'die',
  'destroy',
  'rename',
  'health_status',
] as const;
export type WatchedAction = (typeof WATCHED_ACTIONS)[number];

export type HealthState = 'healthy' | 'unhealthy' | 'starting';

/** One container event, reduced to what the informer needs. */
export interface ContainerEvent {
  action: WatchedAction;
  /** Container id. */
  id: string;
  /** Container name (no leading '/'), when the engine sent it. */
  name?: string;
  /** `rename` only: the previous name, without leading '/'. */
  oldName?: string;
  /** `health_status` only. */
  health?: HealthState;
  /** Actor attributes: the container's labels plus `name`, `image`, `exitCode`... */
  attributes: Record<string, string>;
  /** Event time in ms since the epoch. */
  time: number;
}

/** Server-side filters for `GET /events` (the parser filters again: proxies may ignore them). */
export const EVENT_FILTERS: Record<string, string[]> = {
  type: ['container'],
  event: [...WATCHED_ACTIONS],
};

/**
 * Parses one line of the events stream. Returns undefined for a valid event we ignore, throws
 * for a line that is not an event at all.
 */
export function parseEventLine(line: string): ContainerEvent | undefined {
  const msg: unknown = JSON.parse(line);
  if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) {
    throw new Error('not a JSON object');
  }
  const m = msg as Record<string, unknown>;
  const type = m.Type ?? m.type;
  if (type !== undefined && type !== 'container') return undefined;
  const rawAction = stringField(m.Action) ?? stringField(m.status);
  if (rawAction === undefined) throw new Error('event without Action');
  // health_status arrives as "health_status: healthy"; exec_* as "exec_start: sh -c ...".
  const colon = rawAction.indexOf(':');
  const verb = colon >= 0 ? rawAction.slice(0, colon) : rawAction;
  if (!(WATCHED_ACTIONS as readonly string[]).includes(verb)) return undefined;
  const actor = (typeof m.Actor === 'object' && m.Actor !== null ? m.Actor : {}) as Record<
    string,
    unknown
  >;
  const id = stringField(actor.ID) ?? stringField(m.id);
  if (!id) throw new Error(`${verb} event without container id`);
  const attributes: Record<string, string> = {};
  if (typeof actor.Attributes === 'object' && actor.Attributes !== null) {
    for (const [k, v] of Object.entries(actor.Attributes))
      if (typeof v === 'string') attributes[k] = v;
  }
  const event: ContainerEvent = {
    action: verb as WatchedAction,
    id,
    attributes,
    time: eventTime(m),
  };
  if (attributes.name) event.name = attributes.name.replace(/^\//, '');
  if (verb === 'rename' && attributes.oldName)
    event.oldName = attributes.oldName.replace(/^\//, '');
  if (verb === 'health_status') {
    const h = rawAction.slice(colon + 1).trim();
    if (h === 'healthy' || h === 'unhealthy' || h === 'starting') event.health = h;
  }
  return event;
}

export interface EventStreamParserHandlers {
  event(event: ContainerEvent): void;
  /** A line that is not a valid event: logged by the caller and skipped, never fatal. */
  malformed(line: string, error: Error): void;
}

/**
 * Newline-buffered parser of the events HTTP stream: one chunk is not one event (dockerode #363).
 * Partial lines are carried to the next chunk; a malformed line is reported and skipped.
 */
export class EventStreamParser {
  readonly #lines = new LineBuffer();
  readonly #handlers: EventStreamParserHandlers;
  /** Longest line accepted; a stream that never sends a newline must not grow memory unbounded. */
  readonly #maxLineLength: number;

  constructor(handlers: EventStreamParserHandlers, maxLineLength = 1 << 20) {
    this.#handlers = handlers;
    this.#maxLineLength = maxLineLength;
  }

  push(chunk: Buffer | string): void {
    for (const line of this.#lines.push(chunk)) this.#line(line);
    if (this.#lines.pendingLength > this.#maxLineLength) {
      const dropped = this.#lines.flush()[0] ?? '';
      this.#handlers.malformed(
        dropped.slice(0, 200),
        new Error(`line longer than ${this.#maxLineLength} characters`),
      );
    }
  }

  /** End of stream: a last line without newline is still parsed. */
  end(): void {
    for (const line of this.#lines.flush()) this.#line(line);
  }

  #line(line: string): void {
    if (line.trim() === '') return;
    let event: ContainerEvent | undefined;
    try {
      event = parseEventLine(line);
    } catch (err) {
      this.#handlers.malformed(line, err instanceof Error ? err : new Error(String(err)));
      return;
    }
    if (event) this.#handlers.event(event);
  }
}

function stringField(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function eventTime(m: Record<string, unknown>): number {
  if (typeof m.timeNano === 'number') return Math.floor(m.timeNano / 1e6);
  if (typeof m.time === 'number') return m.time * 1000;
  return Date.now();
}
