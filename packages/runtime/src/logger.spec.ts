import { expect } from 'chai';
import fc from 'fast-check';
import { spawn, spawnSync } from 'node:child_process';
import { PassThrough } from 'node:stream';
import {
  createLogger,
  createNullLogger,
  isLogLevel,
  logLinesDropped,
  MemoryLogStream,
  type LogFields,
  resolveLogFormat,
  useColor,
} from './logger.js';
import { REDACTED, SecretRedactor } from './redactor.js';
import { VirtualClock } from './virtual-clock.js';

describe('createLogger', () => {
  it('writes JSON lines with time, level, action, controller, key first, then extras', () => {
    const out = new MemoryLogStream();
    const clock = new VirtualClock(Date.UTC(2026, 0, 1));
    const log = createLogger({
      format: 'json',
      stream: out.writable,
      clock,
      fields: { app: 'dockop' },
    });
    log
      .child({ controller: 'plan' })
      .child({ key: 'Plan/a' })
      .info('reconcile.done', { changed: true });
    const [line] = out.lines;
    expect(line).to.deep.equal({
      time: '2026-01-01T00:00:00.000Z',
      level: 'info',
      action: 'reconcile.done',
      controller: 'plan',
      key: 'Plan/a',
      app: 'dockop',
      changed: true,
    });
    expect(Object.keys(line!).slice(0, 5)).to.deep.equal([
      'time',
      'level',
      'action',
      'controller',
      'key',
    ]);
  });

  it('filters by level (info by default) and supports debug', () => {
    const out = new MemoryLogStream();
    const log = createLogger({ format: 'json', stream: out.writable });
    log.debug('test.hidden');
    log.warn('test.shown');
    log.error('test.also');
    expect(out.lines.map((l) => `${l['level']}:${l['action']}`)).to.deep.equal([
      'warn:test.shown',
      'error:test.also',
    ]);
    const dbg = new MemoryLogStream();
    createLogger({ level: 'debug', format: 'json', stream: dbg.writable }).debug('test.visible');
    expect(dbg.lines[0]!['action']).to.equal('test.visible');
  });

  it('redacts secret fields, registered values and env assignments anywhere in the line', () => {
    const out = new MemoryLogStream();
    const redactor = new SecretRedactor();
    const log = createLogger({ format: 'json', stream: out.writable, redactor });
    redactor.addSecretValue('s3cr3t-value');
    log.info('restic.run', {
      key: 'BackupWorkload/db',
      RESTIC_PASSWORD: 'pw',
      apiKey: 'k',
      cmd: 'restic -r x --password s3cr3t-value',
      env: ['RESTIC_PASSWORD=plain', 'OTHER=ok'],
      error: new Error('auth failed for s3cr3t-value'),
    });
    expect(out.text).to.not.contain('s3cr3t-value');
    expect(out.text).to.not.contain('plain');
    const [line] = out.lines;
    expect(line).to.deep.include({
      key: 'BackupWorkload/db',
      RESTIC_PASSWORD: REDACTED,
      apiKey: REDACTED,
    });
    expect(line!['env']).to.deep.equal([`RESTIC_PASSWORD=${REDACTED}`, 'OTHER=ok']);
  });

  it('never writes a secret a label put into a plan line (the fast path falls back to redact)', () => {
    const out = new MemoryLogStream();
    const redactor = new SecretRedactor();
    redactor.addSecretValue('registered-s3cret');
    const log = createLogger({ format: 'json', stream: out.writable, redactor }).child({
      controller: 'plan',
      key: 'BackrestConfig//etc/backrest/config.json',
    });
    const line = (container: string, sources: string[]) =>
      log.info('plan.rendered', {
        plan_id: 'p_a',
        container,
        changed: true,
        repo: 'default',
        schedule: '0 2 * * *',
        sources,
        exclude: [],
        hooks: { pre: 0, post: 0 },
        retention: { spec: 'daily=7', defaulted: true },
      });
    line('a', ['/srv/a']);
    line('b', ['/srv/RESTIC_PASSWORD=hunter2', 's3:https://AKIA:wJalrXUt@s3.example/b']);
    line('registered-s3cret', ['/srv/c']);
    for (const secret of ['hunter2', 'wJalrXUt', 'registered-s3cret']) {
      expect(out.text).to.not.contain(secret);
    }
    expect(out.lines.map((l) => l['action'])).to.deep.equal(Array(3).fill('plan.rendered'));
    expect(out.lines[0]!['sources']).to.deep.equal(['/srv/a']);
  });

  it('writes nothing to a stream that has ended, and does not throw; counts what it dropped', () => {
    const out = new MemoryLogStream();
    const log = createLogger({ format: 'json', stream: out.writable });
    const before = logLinesDropped();
    log.info('a.one');
    out.writable.end();
    log.info('a.two');
    expect(out.lines.map((l) => l['action'])).to.deep.equal(['a.one']);
    expect(logLinesDropped() - before).to.equal(1);
  });

  it("keeps callers' message and level fields from clobbering the logger's", () => {
    const out = new MemoryLogStream();
    createLogger({ format: 'json', stream: out.writable }).warn('test.x', {
      message: 'hello',
      level: 'bogus',
    });
    expect(out.lines[0]).to.deep.include({ level: 'warn', action: 'test.x', msg: 'hello' });
  });

  it('keeps a hostile __proto__ field a plain field, not the prototype of the line', () => {
    const out = new MemoryLogStream();
    const fields = JSON.parse('{"__proto__": {"polluted": "yes"}, "n": 1}') as LogFields;
    createLogger({ format: 'json', stream: out.writable }).info('test.proto', fields);
    const text = out.text;
    expect(text).to.contain('"__proto__":{"polluted":"yes"}');
    expect(({} as Record<string, unknown>)['polluted']).to.equal(undefined);
  });

  it('pretty format prints a readable line; auto picks pretty only on a TTY', () => {
    const out = new MemoryLogStream();
    const clock = new VirtualClock(Date.UTC(2026, 0, 1, 12, 30, 15, 5));
    createLogger({ format: 'pretty', stream: out.writable, clock }).info('source.synced', {
      key: 'K/a',
      n: 2,
      note: 'two words',
    });
    expect(out.text).to.equal('12:30:15.005 INFO  source.synced key=K/a n=2 note="two words"\n');

    const auto = new MemoryLogStream();
    createLogger({ format: 'auto', stream: auto.writable }).info('test.json_here');
    expect(auto.lines[0]!['action']).to.equal('test.json_here');

    const tty = Object.assign(new PassThrough(), { isTTY: true });
    let text = '';
    tty.on('data', (c: Buffer) => (text += c.toString()));
    createLogger({ format: 'auto', stream: tty, clock }).warn('test.colored');
    return new Promise<void>((resolve) =>
      setImmediate(() => {
        expect(text).to.contain('\x1b[33mWARN');
        expect(text).to.contain('test.colored');
        resolve();
      }),
    );
  });

  it('createNullLogger drops everything; isLogLevel validates', () => {
    const l = createNullLogger();
    l.info('test.x');
    expect(l.child({})).to.equal(l);
    expect(isLogLevel('debug')).to.equal(true);
    expect(isLogLevel('trace')).to.equal(false);
  });
});

describe('useColor / resolveLogFormat', () => {
  it('NO_COLOR wins, FORCE_COLOR forces (0/false refuse), else a TTY decides', () => {
    expect(useColor({ isTTY: true }, {})).to.equal(true);
    expect(useColor({ isTTY: false }, {})).to.equal(false);
    expect(useColor({ isTTY: true }, { NO_COLOR: '1' })).to.equal(false);
    expect(useColor({ isTTY: true }, { NO_COLOR: '' })).to.equal(true);
    expect(useColor({ isTTY: false }, { FORCE_COLOR: '1' })).to.equal(true);
    expect(useColor({ isTTY: false }, { FORCE_COLOR: '' })).to.equal(true);
    expect(useColor({ isTTY: true }, { FORCE_COLOR: '0' })).to.equal(false);
    expect(useColor({ isTTY: false }, { NO_COLOR: 'x', FORCE_COLOR: '1' })).to.equal(false);
  });

  it('auto is pretty on a TTY and JSON elsewhere', () => {
    expect(resolveLogFormat('auto', { isTTY: true })).to.equal('pretty');
    expect(resolveLogFormat('auto', {})).to.equal('json');
    expect(resolveLogFormat('json', { isTTY: true })).to.equal('json');
  });

  it('colours pretty lines when told to, even off a TTY', () => {
    const out = new MemoryLogStream();
    createLogger({ format: 'pretty', stream: out.writable, color: true }).error('x.y');
    expect(out.text).to.include('\x1b[31mERROR\x1b[0m x.y');
  });
});

describe('createLogger JSON lines against the plain path (spread, redacted copy, JSON)', () => {
  /** A line as the logger built it before its fast paths, every record through `redact`. */
  function referenceLine(
    r: SecretRedactor,
    time: string,
    base: LogFields,
    action: string,
    fields: LogFields | undefined,
  ): string {
    const meta: LogFields = { ...base, ...fields };
    if ('message' in meta) {
      meta['msg'] = meta['message'];
      delete meta['message'];
    }
    const record: Record<string, unknown> = { time, level: 'info', action };
    if ('controller' in meta) record['controller'] = meta['controller'];
    if ('key' in meta) record['key'] = meta['key'];
    for (const k of Object.keys(meta)) {
      if (['time', 'level', 'action', 'controller', 'key'].includes(k)) continue;
      if (k === '__proto__') {
        Object.defineProperty(record, k, { value: meta[k], enumerable: true, writable: true });
      } else record[k] = meta[k];
    }
    return `${r.redactValues(JSON.stringify(r.redact(record)))}\n`;
  }

  const word = fc.constantFrom(
    'plan_id',
    'controller',
    'key',
    'time',
    'level',
    'message',
    'msg',
    '__proto__',
    'password',
    'url',
    'webhookUrl',
    'env',
    '0',
    '12',
    'sources',
  );
  const text = fc.oneof(
    fc.constantFrom(
      'hunter2hunter2',
      'x hunter2hunter2 y',
      's3:https://KEY:SECRET@s3.example.com/b',
      'https://hooks.slack.com/services/T0/B0/XXXXXXXXXXXXXXXXXXXXXXXX',
      'sftp:user:pass@host:/srv',
      'RESTIC_PASSWORD=s3cr3t',
      '--password hunter',
      'Bearer abc.def',
      '/srv/data',
      'daily=7,weekly=4',
      'BackrestConfig//etc/backrest/config.json',
    ),
    fc.string({ maxLength: 16 }),
  );
  /** Objects built with defineProperty, so `__proto__` is an own field as in parsed JSON. */
  const record = (node: fc.Arbitrary<unknown>): fc.Arbitrary<LogFields> =>
    fc.array(fc.tuple(word, node), { maxLength: 5 }).map((entries) => {
      const o: LogFields = {};
      for (const [k, v] of entries) {
        Object.defineProperty(o, k, {
          value: v,
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      return o;
    });
  const value = fc.letrec((tie) => ({
    node: fc.oneof(
      { depthSize: 'small' },
      text,
      fc.integer(),
      fc.double(),
      fc.boolean(),
      fc.constant(null),
      fc.constant(undefined),
      fc.array(tie('node'), { maxLength: 3 }),
      record(tie('node')),
    ),
  })).node;

  it('writes byte-identical lines for records with secrets, URLs, env pairs, __proto__, nesting', () => {
    fc.assert(
      fc.property(record(value), fc.option(record(value), { nil: undefined }), (base, fields) => {
        const out = new MemoryLogStream();
        const clock = new VirtualClock(Date.UTC(2026, 0, 1));
        const r = new SecretRedactor();
        r.addSecretValue('hunter2hunter2');
        const log = createLogger({ format: 'json', stream: out.writable, redactor: r, clock });
        log.child(base).info('test.line', fields);
        const time = new Date(clock.now()).toISOString();
        expect(out.text).to.equal(referenceLine(r, time, base, 'test.line', fields));
      }),
      { numRuns: 2000 },
    );
  });

  it('writes byte-identical lines through bindings serialised once, a secret registered between lines', () => {
    const flat = record(
      fc.oneof(text, fc.integer(), fc.boolean(), fc.constant(null), fc.constant(undefined)),
    );
    const calls = fc.array(fc.option(record(value), { nil: undefined }), {
      minLength: 2,
      maxLength: 4,
    });
    fc.assert(
      fc.property(flat, calls, text, (base, lines, later) => {
        const out = new MemoryLogStream();
        const clock = new VirtualClock(Date.UTC(2026, 0, 1));
        const r = new SecretRedactor();
        r.addSecretValue('hunter2hunter2');
        const log = createLogger({ format: 'json', stream: out.writable, redactor: r, clock });
        const child = log.child(base);
        const time = new Date(clock.now()).toISOString();
        let expected = '';
        lines.forEach((fields, i) => {
          // After the first line (the bindings are serialised by then): may be in them.
          if (i === 1) r.addSecretValue(later);
          child.info('test.line', fields);
          expected += referenceLine(r, time, base, 'test.line', fields);
        });
        expect(out.text).to.equal(expected);
      }),
      { numRuns: 1000 },
    );
  });

  it('writes cycles, bigints, Errors, Dates and Maps as redact copies them, without throwing', () => {
    const out = new MemoryLogStream();
    const log = createLogger({ format: 'json', stream: out.writable }).child({ key: 'Plan/a' });
    const cyclic: Record<string, unknown> = { name: 'c' };
    cyclic['self'] = cyclic;
    log.info('odd', {
      cyclic,
      n: 5n,
      err: new Error('boom'),
      at: new Date(0),
      m: new Map([['a', 1]]),
    });
    const [line] = out.lines;
    expect(line?.['cyclic']).to.deep.equal({ name: 'c', self: '[Circular]' });
    expect(line?.['n']).to.equal('5');
    expect(line?.['err']).to.include({ name: 'Error', message: 'boom' });
    expect(line?.['at']).to.equal('1970-01-01T00:00:00.000Z');
    expect(line?.['m']).to.deep.equal({ a: 1 });
  });

  it('redacts a value registered after the bindings that hold it were serialised', () => {
    const out = new MemoryLogStream();
    const r = new SecretRedactor();
    const log = createLogger({ format: 'json', stream: out.writable, redactor: r })
      .child({ controller: 'plan' })
      .child({ key: 'Plan/s3cr3t-value' });
    log.info('a', { n: 1 });
    r.addSecretValue('s3cr3t-value');
    log.info('b', { n: 2 });
    expect(out.lines.map((l) => l['key'])).to.deep.equal(['Plan/s3cr3t-value', `Plan/${REDACTED}`]);
  });
});

describe('createLogger on process.stderr (lines of one tick in one write)', () => {
  /** Runs `body` in a child whose process.stderr.write records its calls; returns its stderr. */
  function child(body: string): { stderr: string; status: number | null } {
    const logger = new URL('./logger.js', import.meta.url).href;
    const script = `
      import { createLogger } from ${JSON.stringify(logger)};
      const writes = [];
      const write = process.stderr.write.bind(process.stderr);
      process.stderr.write = (chunk, ...rest) => { writes.push(String(chunk)); return write(chunk, ...rest); };
      const log = createLogger({ format: 'json' });
      const note = (what) => write(what + ' ' + JSON.stringify(writes.map((w) => w.split('\\n').length - 1)) + '\\n');
      ${body}`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
    });
    return { stderr: r.stderr, status: r.status };
  }

  it("writes a tick's lines once, before the next timer fires", () => {
    const { stderr } = child(`
      for (let i = 0; i < 3; i++) log.info('t.line', { i });
      note('same tick');
      setTimeout(() => { log.info('t.later'); note('timer'); setTimeout(() => note('next timer'), 0); }, 0);`);
    expect(stderr).to.contain('same tick []\n');
    expect(stderr).to.contain('timer [3]\n');
    expect(stderr).to.contain('next timer [3,1]\n');
  });

  it('writes what is pending when the process exits or throws in the same tick', () => {
    const exited = child(`log.info('t.a'); log.warn('t.b'); process.exit(4);`);
    expect(exited.status).to.equal(4);
    expect(exited.stderr.match(/"action":"t\.[ab]"/g)).to.deep.equal([
      '"action":"t.a"',
      '"action":"t.b"',
    ]);
    const thrown = child(`log.error('t.c'); throw new Error('boom');`);
    expect(thrown.status).to.equal(1);
    expect(thrown.stderr.indexOf('"action":"t.c"')).to.be.within(0, thrown.stderr.indexOf('boom'));
  });
});

describe('createLogger on process.stderr: a reader that is slow or gone', () => {
  function script(body: string): string {
    const logger = new URL('./logger.js', import.meta.url).href;
    return `
      import { createLogger, logLinesDropped } from ${JSON.stringify(logger)};
      const log = createLogger({ format: 'json' });
      ${body}`;
  }

  it('writes every pending line at exit, into a pipe its reader has not emptied yet', () => {
    // 60 kB sits in the pipe; the next tick logs 45 kB more (one batch) and exits. A stream
    // write at exit that did not fit was queued, and the process ended before it left: lines were
    // lost. A shell pipe whose reader sleeps first (a Node parent would read into its own buffer).
    const r = spawnSync(
      'sh',
      [
        '-c',
        '("$NODE" --input-type=module -e "$SCRIPT" 2>&1 >/dev/null; echo "status=$?") | (sleep 0.6; cat)',
      ],
      {
        encoding: 'utf8',
        env: {
          ...process.env,
          NODE: process.execPath,
          SCRIPT: script(`
            process.stderr.write('x'.repeat(60_000) + '\\n');
            setTimeout(() => {
              for (let i = 0; i < 200; i++) log.info('t.line', { i, pad: 'y'.repeat(150) });
              process.exit(5);
            }, 100);`),
        },
      },
    );
    const lines = r.stdout.split('\n').filter((l) => l.includes('"t.line"'));
    expect(lines).to.have.length(200);
    expect(JSON.parse(lines[199]!)).to.include({ i: 199 });
    expect(r.stdout).to.match(/status=5\n$/);
  });

  it('a reader gone (EPIPE) drops the lines and ends nothing: the process goes on', async () => {
    const child = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        script(`
          setTimeout(() => {
            for (let i = 0; i < 5; i++) log.info('t.more', { i });
            setTimeout(() => {
              log.info('t.last');
              setTimeout(() => {
                process.stdout.write('still here, dropped ' + logLinesDropped() + '\\n');
                process.exitCode = 7;
              }, 50);
            }, 100);
          }, 100);`),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stderr.destroy();
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
    // Before: the first write after the reader left threw EPIPE, uncaught: exit 1.
    // The 5 lines of one tick fail in one write (EPIPE) and are counted, as is the line after
    // it (the stream destroyed by then).
    expect(stdout).to.equal('still here, dropped 6\n');
    expect(status).to.equal(7);
  });
});
