import { expect } from 'chai';
import fc from 'fast-check';
import { createLogger, MemoryLogStream, type LogFields } from './logger.js';
import { SecretRedactor } from './redactor.js';
import { VirtualClock } from './virtual-clock.js';

/** The general way (#log before its piecewise JSON line): merged copies, redacted, serialised. */
function referenceLine(r: SecretRedactor, time: string, base: LogFields, fields?: LogFields) {
  const meta: LogFields = { ...base, ...fields };
  const record: Record<string, unknown> = { time, level: 'info', action: 'plan.rendered' };
  if ('controller' in meta) record['controller'] = meta['controller'];
  if ('key' in meta) record['key'] = meta['key'];
  for (const k of Object.keys(meta)) {
    if (!['time', 'level', 'action', 'controller', 'key'].includes(k)) record[k] = meta[k];
  }
  return `${r.redactValues(JSON.stringify(r.redact(record)))}\n`;
}

describe('createLogger: lines of plain fields (serialised in pieces) as the general way writes them', () => {
  // Mostly keys a plan line has, so most lines take the piecewise path; a few that must not.
  const key = fc.constantFrom('plan_id', 'container', 'sources', 'hooks', 'pre', 'x', 'token', '7');
  const text = fc.oneof(
    fc.constantFrom('big_s1', '/srv/big/1', 'daily=7,weekly=4', 'hunter2hunter2', 'a@b', 'k"\\'),
    fc.string({ maxLength: 8 }),
  );
  const value = fc.letrec((tie) => ({
    node: fc.oneof(
      { depthSize: 'small' },
      text,
      fc.integer(),
      fc.boolean(),
      fc.constant(null),
      fc.constant(undefined),
      fc.array(tie('node'), { maxLength: 3 }),
      fc.dictionary(key, tie('node'), { maxKeys: 3 }),
    ),
  })).node;
  const fields = fc.dictionary(key, value, { maxKeys: 6 });
  const base = fc.record({ controller: text, key: text, extra: text }, { requiredKeys: [] });

  it('fast-check: byte-identical lines, a registered value among them', () => {
    fc.assert(
      fc.property(base, fc.option(fields, { nil: undefined }), (b, f) => {
        const out = new MemoryLogStream();
        const clock = new VirtualClock(Date.UTC(2026, 0, 1));
        const r = new SecretRedactor();
        r.addSecretValue('hunter2hunter2');
        createLogger({ format: 'json', stream: out.writable, redactor: r, clock })
          .child(b)
          .info('plan.rendered', f);
        const time = new Date(clock.now()).toISOString();
        expect(out.text).to.equal(referenceLine(r, time, b, f));
      }),
      { numRuns: 3000 },
    );
  });

  it('a plan.rendered line', () => {
    const out = new MemoryLogStream();
    const log = createLogger({ format: 'json', stream: out.writable, clock: new VirtualClock(0) });
    log.child({ controller: 'plan', key: 'BackrestConfig//c.json' }).info('plan.rendered', {
      plan_id: 'p_db',
      sources: ['/srv/db'],
      hooks: { pre: 0, post: 0 },
      skipped: undefined,
    });
    expect(out.text).to.equal(
      '{"time":"1970-01-01T00:00:00.000Z","level":"info","action":"plan.rendered","controller":"plan","key":"BackrestConfig//c.json","plan_id":"p_db","sources":["/srv/db"],"hooks":{"pre":0,"post":0}}\n',
    );
  });
});
