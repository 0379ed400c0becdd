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
