import { expect } from 'chai';
import { Writable } from 'node:stream';
import type { LogFields, Logger } from '@dockop/runtime';
import { LogProgress, TtyProgress, formatBytes } from './progress.js';

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

const status = (p: number) => ({
  message_type: 'status' as const,
  percent_done: p,
  total_bytes: 2048,
  bytes_done: 2048 * p,
  total_files: 4,
  files_done: Math.round(4 * p),
});

describe('progress', () => {
  it('log mode writes at most one line per interval per workload (virtual time)', () => {
    let now = 1_000;
    const logger = new Lines();
    const p = new LogProgress(logger, 10_000, () => now);
    p.start('db');
    p.status('db', status(0.1)); // same instant as start: skipped
    now += 9_999;
    p.status('db', status(0.2));
    now += 1;
    p.status('db', status(0.3));
    now += 5_000;
    p.status('db', status(0.4));
    now += 5_000;
    p.status('db', status(0.5));
    expect(logger.lines.map((l) => l.fields.percent)).to.deep.equal([30, 50]);
    expect(logger.lines[0]).to.deep.equal({
      action: 'backup.progress',
      fields: {
        container: 'db',
        percent: 30,
        filesDone: 1,
        totalFiles: 4,
        bytesDone: 614.4,
        totalBytes: 2048,
      },
    });
  });

  it('tty mode redraws one line in place and ends it with the snapshot id', () => {
    let out = '';
    const stream = Object.assign(
      new Writable({ write: (c, _e, cb) => ((out += String(c)), cb()) }),
      { columns: 80 },
    );
    let now = 0;
    const p = new TtyProgress(stream, () => now, 100);
    p.start('db');
    now = 500;
    p.status('db', status(0.5));
    p.finish('db', {
      message_type: 'summary',
      snapshot_id: 'abcd1234',
      files_new: 1,
      files_changed: 0,
      files_unmodified: 0,
      data_added: 1,
      total_files_processed: 1,
      total_bytes_processed: 1,
      total_duration: 1,
    });
    const frames = out.split('\r').filter(Boolean);
    expect(frames[1]).to.include('[############............]  50% 1.0 KiB/2.0 KiB 2/4 files');
    expect(frames[2]).to.include('100% snapshot abcd1234');
    expect(out.endsWith('\n')).to.equal(true);
  });

  it('formats bytes in binary units', () => {
    expect([0, 1023, 1024, 1536 * 1024, 5 * 1024 ** 4].map(formatBytes)).to.deep.equal([
      '0 B',
      '1023 B',
      '1.0 KiB',
      '1.5 MiB',
      '5.0 TiB',
    ]);
  });
});
