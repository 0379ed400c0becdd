import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { EventStreamParser, parseEventLine, type ContainerEvent } from './event-stream.js';

// Recorded from a real engine (Docker 20.10): run with a healthcheck, exec, rename, exit, rm.
const recorded = readFileSync(new URL('../testdata/events-recorded.jsonl', import.meta.url));

function collect(chunks: (Buffer | string)[]): { events: ContainerEvent[]; malformed: string[] } {
  const events: ContainerEvent[] = [];
  const malformed: string[] = [];
  const parser = new EventStreamParser({
    event: (e) => events.push(e),
    malformed: (line) => malformed.push(line),
  });
  for (const c of chunks) parser.push(c);
  parser.end();
  return { events, malformed };
}

function splitEvery(buf: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < buf.length; i += size) out.push(buf.subarray(i, i + size));
  return out;
}

describe('event-stream', () => {
  const whole = collect([recorded]);

  it('keeps the watched actions of a recorded stream and drops exec_* and attach', () => {
    expect(whole.malformed).to.deep.equal([]);
    expect(whole.events.map((e) => e.action)).to.deep.equal([
      'create',
      'start',
      'health_status',
      'rename',
      'die',
      'destroy',
    ]);
  });

  it('extracts health, names, the old name and labels', () => {
    const health = whole.events.find((e) => e.action === 'health_status');
    expect(health?.health).to.equal('healthy');
    const rename = whole.events.find((e) => e.action === 'rename');
    expect(rename?.oldName).to.equal('rec-5206');
    expect(rename?.name).to.equal('rec-5206-b');
    expect(whole.events[0]?.attributes['rec.x']).to.equal('a b');
    expect(whole.events[0]?.id).to.match(/^[0-9a-f]{64}$/);
    const first = JSON.parse(recorded.toString('utf8').split('\n')[0] ?? '') as {
      timeNano: number;
    };
    expect(whole.events[0]?.time).to.equal(Math.floor(first.timeNano / 1e6));
  });

  for (const size of [1, 7, 64, 333, 4096]) {
    it(`gives the same events when the stream is split into ${size}-byte chunks`, () => {
      expect(collect(splitEvery(recorded, size))).to.deep.equal(whole);
    });
  }

  it('handles several events merged into one chunk with a partial tail', () => {
    const text = recorded.toString('utf8');
    const cut = text.indexOf('\n', text.length / 2) + 20;
    expect(collect([text.slice(0, cut), text.slice(cut)])).to.deep.equal(whole);
  });

  it('decodes a multi-byte character split across chunks', () => {
    const line = Buffer.from(
      JSON.stringify({
        Type: 'container',
        Action: 'start',
        Actor: { ID: 'abc', Attributes: { name: 'n', 'x.y': 'héllo ✓' } },
      }) + '\n',
    );
    const at = line.indexOf(Buffer.from('✓')) + 1;
    const { events } = collect([line.subarray(0, at), line.subarray(at)]);
    expect(events[0]?.attributes['x.y']).to.equal('héllo ✓');
  });

  it('skips garbage lines and keeps parsing', () => {
    const lines = recorded.toString('utf8').split('\n');
    const dirty = [
      lines[0],
      '{"broken',
      'not json at all',
      '[1,2]',
      '{"Type":"container"}',
      ...lines.slice(1),
    ].join('\n');
    const { events, malformed } = collect([dirty]);
    expect(events).to.deep.equal(whole.events);
    expect(malformed).to.deep.equal([
      '{"broken',
      'not json at all',
      '[1,2]',
      '{"Type":"container"}',
    ]);
  });

  it('parses a last line without trailing newline at end of stream', () => {
    const line = '{"Type":"container","Action":"destroy","Actor":{"ID":"ff","Attributes":{}}}';
    expect(collect([line]).events.map((e) => e.id)).to.deep.equal(['ff']);
  });

  it('ignores other event types', () => {
    expect(parseEventLine('{"Type":"network","Action":"connect","Actor":{"ID":"n"}}')).to.equal(
      undefined,
    );
    expect(parseEventLine('{"Type":"container","Action":"exec_die","Actor":{"ID":"c"}}')).to.equal(
      undefined,
    );
  });

  it('rejects an event without id', () => {
    expect(() => parseEventLine('{"Type":"container","Action":"start"}')).to.throw(
      /without container id/,
    );
  });

  it('drops a line that never ends instead of buffering it forever', () => {
    const malformed: string[] = [];
    const parser = new EventStreamParser(
      { event: () => {}, malformed: (l) => malformed.push(l) },
      100,
    );
    parser.push('x'.repeat(150));
    expect(malformed).to.have.length(1);
    const events: string[] = [];
    const p2 = new EventStreamParser({ event: (e) => events.push(e.id), malformed: () => {} }, 100);
    p2.push('y'.repeat(150));
    p2.push('\n{"Type":"container","Action":"start","Actor":{"ID":"ok"}}\n');
    expect(events).to.deep.equal(['ok']);
  });
});
