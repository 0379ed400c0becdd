import { expect } from 'chai';
import { InMemoryEventRecorder } from './event-recorder.js';
import type { LogFields, Logger } from './logger.js';
import { VirtualClock } from './virtual-clock.js';

function recordingLogger(): Logger & {
  lines: { level: string; action: string; fields?: LogFields }[];
} {
  const lines: { level: string; action: string; fields?: LogFields }[] = [];
  const l = {
    lines,
    error: (action: string, fields?: LogFields) => lines.push({ level: 'error', action, fields }),
    warn: (action: string, fields?: LogFields) => lines.push({ level: 'warn', action, fields }),
    info: (action: string, fields?: LogFields) => lines.push({ level: 'info', action, fields }),
    debug: (action: string, fields?: LogFields) => lines.push({ level: 'debug', action, fields }),
    child: () => l,
  };
  return l;
}

describe('InMemoryEventRecorder', () => {
  it('aggregates repeats into count with first and last timestamps, newest last', () => {
    const clock = new VirtualClock(Date.UTC(2026, 0, 1));
    const r = new InMemoryEventRecorder({ clock });
    r.event('K/a', 'Warning', 'Failed', 'boom');
    clock.advance(1000);
    r.event('K/b', 'Normal', 'Synced', 'ok');
    clock.advance(1000);
    r.event('K/a', 'Warning', 'Failed', 'boom');
    const all = r.all();
    expect(all.map((e) => `${e.key}:${e.count}`)).to.deep.equal(['K/b:1', 'K/a:2']);
    expect(all[1]).to.deep.include({
      firstTimestamp: '2026-01-01T00:00:00.000Z',
      lastTimestamp: '2026-01-01T00:00:02.000Z',
    });
    r.event('K/a', 'Warning', 'Failed', 'other message');
    expect(r.list('K/a').map((e) => e.message)).to.deep.equal(['boom', 'other message']);
  });

  it('bounds the history, dropping the oldest', () => {
    const r = new InMemoryEventRecorder({ maxEvents: 3 });
    for (let i = 0; i < 5; i++) r.event(`K/${i}`, 'Normal', 'R', 'm');
    expect(r.all().map((e) => e.key)).to.deep.equal(['K/2', 'K/3', 'K/4']);
  });

  it('logs each event with action "event", Warnings at warn level', () => {
    const logger = recordingLogger();
    const r = new InMemoryEventRecorder({ logger });
    r.event('K/a', 'Normal', 'Synced', 'ok');
    r.event('K/a', 'Warning', 'Failed', 'bad');
    r.event('K/a', 'Warning', 'Failed', 'bad');
    expect(logger.lines.map((l) => `${l.level} ${l.action}`)).to.deep.equal([
      'info event',
      'warn event',
      'warn event',
    ]);
    expect(logger.lines[2]!.fields).to.deep.equal({
      key: 'K/a',
      type: 'Warning',
      reason: 'Failed',
      message: 'bad',
      count: 2,
    });
  });

  it('returns copies', () => {
    const r = new InMemoryEventRecorder();
    r.event('K/a', 'Normal', 'R', 'm');
    r.all()[0]!.count = 99;
    expect(r.all()[0]!.count).to.equal(1);
  });
});
