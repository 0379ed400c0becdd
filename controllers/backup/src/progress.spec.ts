import { expect } from 'chai';
import { Writable } from 'node:stream';
import type { LogFields, Logger } from '@dockop/runtime';
import { LogProgress, ProgressTracker, TtyProgress, formatClock } from './progress.js';

const ESC = String.fromCharCode(27);

class Lines implements Logger {
  readonly lines: { action: string; fields: LogFields }[] = [];
  error() {}
  warn() {}
  debug() {}
  info(action: string, fields: LogFields = {}) {
    this.lines.push({ action, fields });
  }
  child() {
    return this;
  }
}

const status = (p: number, secondsRemaining?: number) => ({
  message_type: 'status' as const,
  percent_done: p,
  total_bytes: 2048,
  bytes_done: 2048 * p,
  total_files: 4,
  files_done: Math.round(4 * p),
  ...(secondsRemaining !== undefined ? { seconds_remaining: secondsRemaining } : {}),
});

const summary = {
  message_type: 'summary' as const,
  snapshot_id: 'abcd1234',
  files_new: 1,
  files_changed: 0,
  files_unmodified: 0,
  data_added: 1,
  total_files_processed: 1,
  total_bytes_processed: 1,
  total_duration: 1,
};

function ttyStream(): { stream: Writable & { columns: number }; text: () => string } {
  let out = '';
  const stream = Object.assign(new Writable({ write: (c, _e, cb) => ((out += String(c)), cb()) }), {
    columns: 120,
  });
  return { stream, text: () => out };
}

describe('progress', () => {
  it('log mode writes at most one line per interval, with step, percent, elapsed and ETA', () => {
    let now = 1_000;
    const logger = new Lines();
    const p = new LogProgress(logger, 10_000, () => now);
    p.plan([{ name: 'db' }, { name: 'web', expectedMs: 60_000 }]);
    p.start('db');
    p.status('db', status(0.1)); // same instant as start: skipped
    now += 9_999;
    p.status('db', status(0.2));
    now += 1;
    p.status('db', status(0.3, 20));
    now += 5_000;
    p.status('db', status(0.4));
    now += 5_000;
    p.status('db', status(0.5));
    p.close();
    expect(logger.lines.map((l) => l.fields.percent)).to.deep.equal([30, 50]);
    expect(logger.lines[0]).to.deep.equal({
      action: 'backup.progress',
      fields: {
        container: 'db',
        step: '1/2',
        percent: 30,
        filesDone: 1,
        totalFiles: 4,
        bytesDone: 614.4,
        totalBytes: 2048,
        elapsedSeconds: 10,
        // restic's 20 s for db, plus web's 60 s last time.
        etaSeconds: 80,
      },
    });
  });

  it('ETA: restic seconds_remaining, else percent and time so far, else last time, else unknown', () => {
    let now = 0;
    const t = new ProgressTracker(() => now);
    t.plan([{ name: 'a', expectedMs: 30_000 }, { name: 'b' }, { name: 'c' }]);
    t.start('a');
    now = 10_000;
    // No figures: last time's 30 s minus 10 s; b and c have no history: a's 30 s each.
    expect(t.snapshot()).to.include({ index: 1, total: 3, etaMs: 80_000 });
    expect(t.snapshot().fraction).to.be.closeTo(1 / 3, 1e-9);
    now = 12_000;
    t.finish();
    t.start('b');
    now = 15_000;
    t.status(status(0.25));
    // b: 3 s for 25 % → 9 s left; c: the mean of finished steps (12 s).
    expect(t.snapshot().etaMs).to.equal(21_000);
    t.status(status(0.5, 4));
    expect(t.snapshot().etaMs).to.equal(16_000);
    expect(t.snapshot().fraction).to.equal(0.5);
  });

  it('tty mode redraws one line in place with the ETA, ends it with the snapshot id', () => {
    const { stream, text } = ttyStream();
    let now = 0;
    const p = new TtyProgress(stream, {
      now: () => now,
      minRedrawMs: 100,
      tickMs: 0,
      color: false,
    });
    p.plan([{ name: 'db' }, { name: 'web' }]);
    p.start('db');
    now = 500;
    p.status('db', status(0.5, 75));
    now = 1_000;
    p.finish('db', summary);
    p.close();
    const frames = text()
      .split('\r')
      .filter(Boolean)
      .map((f) => f.split(`${ESC}[K`).join(''));
    expect(frames[0]).to.match(/^\[1\/2\] db \[ *<=> *\] {3}\?% {2}0:00 ETA --:--$/);
    expect(frames[1]).to.equal(
      // db: restic's 75 s; web (no history): db's projected 75.5 s.
      '[1/2] db [############............]  50% 1.0KiB/2.0KiB 2/4 files  0:01 ETA 2:31',
    );
    expect(frames[2]).to.equal(
      '[1/2] db [########################] 100% snapshot abcd1234 in 0:01\n',
    );
    expect(text()).to.not.include('\x1b[3');
  });

  it('tty mode without figures (rcb, backrest) times the step against last time, coloured', () => {
    const { stream, text } = ttyStream();
    let now = 0;
    const p = new TtyProgress(stream, { now: () => now, tickMs: 0, color: true });
    p.plan([{ name: 'rcb', expectedMs: 40_000 }]);
    p.start('rcb');
    now = 10_000;
    p.finish('rcb', undefined, false);
    const frames = text().split('\r').filter(Boolean);
    expect(frames[0]).to.include('0% ').and.include('ETA 0:40');
    expect(frames[1]).to.include('\x1b[31mfailed\x1b[0m');
  });

  it('formats times as m:ss or h:mm:ss', () => {
    expect([0, 59.6, 75, 3725].map(formatClock)).to.deep.equal(['0:00', '1:00', '1:15', '1:02:05']);
  });
});
