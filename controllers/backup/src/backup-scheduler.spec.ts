import { expect } from 'chai';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type Dockerode from 'dockerode';
import type { ContainerActions, DockerClient } from '@dockop/docker';
import type { LogFields, Logger } from '@dockop/runtime';
import { BackupScheduler, type CronFactory } from './backup-scheduler.js';

class Lines implements Logger {
  readonly lines: { level: string; action: string; fields?: LogFields }[] = [];
  error(action: string, fields?: LogFields) {
    this.lines.push({ level: 'error', action, ...(fields ? { fields } : {}) });
  }
  warn(action: string, fields?: LogFields) {
    this.lines.push({ level: 'warn', action, ...(fields ? { fields } : {}) });
  }
  info(action: string, fields?: LogFields) {
    this.lines.push({ level: 'info', action, ...(fields ? { fields } : {}) });
  }
  debug() {}
  child() {
    return this;
  }
}

describe('BackupScheduler', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'backup-scheduler-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('skips a tick with a warning while the previous run is still going; the next tick runs again', async () => {
    let release!: () => void;
    let lists = 0;
    const actions = {
      list: async (): Promise<Dockerode.ContainerInfo[]> => {
        lists++;
        // The first run's quiesce listing blocks until released: the run stays busy.
        if (lists === 1) await new Promise<void>((r) => (release = r));
        return [];
      },
      start: async () => {},
      stop: async () => {},
    } as unknown as ContainerActions;
    let tick: (() => Promise<void>) | undefined;
    const cron: CronFactory = (expr, t) => {
      expect(expr).to.equal('*/5 * * * *');
      tick = t;
      return { start() {}, stop() {}, destroy() {} };
    };
    const logger = new Lines();
    const s = new BackupScheduler(
      actions,
      { request: async () => ({ Name: 'scheduler-host' }) } as unknown as DockerClient,
      {
        schedule: '*/5 * * * *',
        backup: { engine: 'restic', stateDir: dir, noForget: true, progress: 'none' },
      },
      logger,
      undefined,
      cron,
    );
    s.onStart();
    const first = tick!();
    while (!release) await new Promise((r) => setImmediate(r));
    expect(s.busy).to.equal(true);
    await tick!();
    expect(s.skipped).to.equal(1);
    expect(logger.lines.filter((l) => l.action === 'backup.skipped_overlap')).to.have.length(1);
    release();
    await first;
    expect(s.busy).to.equal(false);
    expect(s.lastReport?.exitCode).to.equal(0);
    await tick!();
    expect(s.skipped).to.equal(1);
    expect(lists).to.be.greaterThan(2);
    await s.onStop();
  });

  it('refuses an invalid cron expression at construction', () => {
    expect(
      () =>
        new BackupScheduler(
          {} as ContainerActions,
          {} as DockerClient,
          { schedule: 'every night', backup: {} },
          undefined,
          undefined,
          () => ({ start() {}, stop() {}, destroy() {} }),
        ),
    ).to.throw(/--backup-schedule "every night" is not a valid cron expression/);
  });

  it('runs a descriptor as its five fields and refuses what Backrest refuses', () => {
    let got: string | undefined;
    const s = new BackupScheduler(
      {} as ContainerActions,
      {} as DockerClient,
      { schedule: '@daily', backup: {} },
      undefined,
      undefined,
      (expr) => {
        got = expr;
        return { start() {}, stop() {}, destroy() {} };
      },
    );
    s.onStart();
    expect(got).to.equal('0 0 * * *');
    for (const bad of ['0 0 1 * ?', '0 0 * * 7', '*/0 * * * *']) {
      expect(
        () =>
          new BackupScheduler(
            {} as ContainerActions,
            {} as DockerClient,
            { schedule: bad, backup: {} },
            undefined,
            undefined,
            () => ({
              start() {},
              stop() {},
              destroy() {},
            }),
          ),
      ).to.throw(/--backup-schedule .* is not a valid cron expression: /);
    }
  });
});
