import { expect } from 'chai';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type Dockerode from 'dockerode';
import type { ContainerActions, DockerClient } from '@dockop/docker';
import { PrometheusMetrics, createNullLogger } from '@dockop/runtime';
import { WorkloadConditions, WorkloadStatusStore } from '@backrest-sidecar/api';
import type { BackupController } from './backup-controller.js';
import { LAST_VERIFIED_METRIC } from './verify-metrics.js';
import { VerifyScheduler, type VerifyCronFactory } from './verify-scheduler.js';
import { recordVerifyResult } from './verify-status.js';

describe('VerifyScheduler', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'verify-scheduler-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const client = {} as unknown as DockerClient;
  let lists = 0;
  const actions = {
    list: async (): Promise<Dockerode.ContainerInfo[]> => {
      lists++;
      return [];
    },
  } as unknown as ContainerActions;

  function scheduler(
    schedule: string | undefined,
    extra: { registry?: PrometheusMetrics; backups?: Pick<BackupController, 'busy'> } = {},
  ): { s: VerifyScheduler; tick: () => Promise<void> } {
    let tick: (() => Promise<void>) | undefined;
    const cron: VerifyCronFactory = (expr, t) => {
      expect(expr).to.equal('0 3 * * 0');
      tick = t;
      return { start() {}, stop() {}, destroy() {} };
    };
    const s = new VerifyScheduler(
      actions,
      client,
      { ...(schedule ? { schedule } : {}), verify: { stateDir: dir } },
      createNullLogger(),
      undefined,
      cron,
      undefined,
      undefined,
      extra.registry?.registry,
      extra.backups as BackupController | undefined,
    );
    return { s, tick: () => (tick ? tick() : Promise.reject(new Error('no cron started'))) };
  }

  it('refuses a cron expression Backrest would refuse, naming the flag', () => {
    expect(() => scheduler('0 3 * *')).to.throw(/--verify-schedule "0 3 \* \*"/);
  });

  it('seeds the last-verified gauge from the status files of earlier drills (only passed ones)', async () => {
    const store = new WorkloadStatusStore({ stateDir: dir });
    const check = { name: 'restore' as const, ok: true, detail: 'ok' };
    await recordVerifyResult(
      store,
      {
        workload: 'db',
        passed: true,
        checks: [check],
        time: '2026-11-30T10:00:00.000Z',
        durationMs: 5,
      },
      'restore drill OK',
    );
    await recordVerifyResult(
      store,
      {
        workload: 'app',
        passed: false,
        checks: [check],
        time: '2026-11-30T11:00:00.000Z',
        durationMs: 5,
      },
      'restore drill FAILED',
    );
    expect(
      (await store.get('db'))?.conditions.find((c) => c.type === WorkloadConditions.Verified)
        ?.status,
    ).to.equal('True');
    const metrics = new PrometheusMetrics();
    const { s } = scheduler(undefined, { registry: metrics });
    await s.onStart();
    const text = await metrics.registry.metrics();
    expect(text).to.include(
      `${LAST_VERIFIED_METRIC}{workload="db"} ${Date.parse('2026-11-30T10:00:00Z') / 1000}`,
    );
    expect(text).to.not.include('workload="app"');
    await s.onStop();
  });

  it('skips a tick while a backup runs, else runs verify --all', async () => {
    const backups = { busy: true };
    const { s, tick } = scheduler('0 3 * * 0', { backups });
    await s.onStart();
    lists = 0;
    await tick();
    expect(lists, 'no drill while a backup runs').to.equal(0);
    expect(s.lastReport).to.equal(undefined);
    backups.busy = false;
    await tick();
    expect(lists).to.be.greaterThan(0);
    expect(s.lastReport?.fatal).to.equal('no workload to verify');
    expect(s.lastReport?.exitCode).to.equal(1);
    await s.onStop();
  });
});
