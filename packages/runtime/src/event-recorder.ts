import type { Clock } from './clock.js';
import type { Logger } from './logger.js';
import { redactText, type Redactor } from './redactor.js';
import type { ResourceKey } from './resource.js';

export type EventType = 'Normal' | 'Warning';

/** A recorded event; repeats of the same (key, type, reason, message) are aggregated into `count`. */
export interface RecordedEvent {
  key: ResourceKey;
  type: EventType;
  reason: string;
  message: string;
  count: number;
  /** ISO-8601. */
  firstTimestamp: string;
  lastTimestamp: string;
}

export const EventRecorder = Symbol.for('dockop.EventRecorder');

export interface EventRecorder {
  event(key: ResourceKey, type: EventType, reason: string, message: string): void;
  /** Events of one key, oldest first. */
  list(key: ResourceKey): RecordedEvent[];
  /** Every event, oldest first. */
  all(): RecordedEvent[];
}

export interface InMemoryEventRecorderOptions {
  /** Default: `Date.now()`. */
  clock?: Pick<Clock, 'now'>;
  /** Each event is also logged with action `event` (Warning at warn level). Default: not logged. */
  logger?: Logger;
  /** Oldest events are dropped past this many distinct events. Default 1000. */
  maxEvents?: number;
  /**
   * Masks secrets in messages before they are stored (events are shown by `describe`, served
   * and logged). Default: the redaction rules without registered values.
   */
  redactor?: Redactor;
}

/**
 * Events in memory, newest last. A repeat of (key, type, reason, message) bumps `count` and
 * `lastTimestamp` and moves the event to the end instead of adding a line (Kubernetes' aggregation).
 */
export class InMemoryEventRecorder implements EventRecorder {
  readonly #events = new Map<string, RecordedEvent>();
  readonly #clock: Pick<Clock, 'now'>;
  readonly #logger: Logger | undefined;
  readonly #max: number;
  readonly #redact: (s: string) => string;

  constructor(options: InMemoryEventRecorderOptions = {}) {
    const redactor = options.redactor;
    this.#redact = redactor ? (s) => redactor.redactString(s) : redactText;
    this.#clock = options.clock ?? { now: () => Date.now() };
    this.#logger = options.logger;
    this.#max = Math.max(1, options.maxEvents ?? 1000);
  }

  event(key: ResourceKey, type: EventType, reason: string, rawMessage: string): void {
    const message = this.#redact(rawMessage);
    const id = JSON.stringify([key, type, reason, message]);
    const now = new Date(this.#clock.now()).toISOString();
    const existing = this.#events.get(id);
    let recorded: RecordedEvent;
    if (existing) {
      this.#events.delete(id);
      recorded = { ...existing, count: existing.count + 1, lastTimestamp: now };
    } else {
      recorded = { key, type, reason, message, count: 1, firstTimestamp: now, lastTimestamp: now };
    }
    this.#events.set(id, recorded);
    while (this.#events.size > this.#max) {
      const oldest = this.#events.keys().next().value as string;
      this.#events.delete(oldest);
    }
    const fields = { key, type, reason, message, count: recorded.count };
    if (type === 'Warning') this.#logger?.warn('event', fields);
    else this.#logger?.info('event', fields);
  }

  list(key: ResourceKey): RecordedEvent[] {
    return this.all().filter((e) => e.key === key);
  }

  all(): RecordedEvent[] {
    return [...this.#events.values()].map((e) => ({ ...e }));
  }
}
