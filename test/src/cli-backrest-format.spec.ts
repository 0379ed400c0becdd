import type Docker from 'dockerode';
import { expect } from 'chai';
import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { assertBackrestLoads } from '@backrest-sidecar/config-sink/backrest-oracle';
import { createContainer } from '@dockop/docker';
import { WORKLOAD_IMAGE, removeLabeled, requireEngine, runId } from './support/engine.js';
import { isolate, prefixOf, runCli } from './support/plan-cli.js';

const EXAMPLE = fileURLToPath(
  new URL('../../testdata/example-backrest.config.json', import.meta.url),
);

// The real binary against the real engine, writing Backrest's native file: whatever it writes
// must load in Backrest (the oracle written from Backrest's Go source), schedules in Backrest's
// cron dialect, excludes in label order.
describe('backrest-sidecar reconcile into a Backrest-native config (integration)', function () {
  this.timeout(120_000);
  let docker: Docker;
  const run = runId();
  const prefix = prefixOf(run);
  const name = (s: string) => `bf${run.replace(/-/g, '')}-${s}`;
  let dir: string;

  before(async function () {
    docker = await requireEngine(this);
    dir = await mkdtemp(path.join(tmpdir(), 'backrest-format-'));
    const labels = (extra: Record<string, string>) => ({
      'dockop.test.run': run,
      'backrest.enable': 'true',
      ...extra,
    });
    const container = (n: string, extra: Record<string, string>) =>
      createContainer(docker, {
        name: name(n),
        Image: WORKLOAD_IMAGE,
        Cmd: ['sleep', '3600'],
        Labels: labels(extra),
        HostConfig: { NetworkMode: 'none', Binds: [`/srv/${name(n)}:/data:ro`] },
      });
    await container('daily', {
      'backrest.schedule': '@daily',
      'backrest.paths.exclude': '/data/z,/data/a',
    });
    await container('weekend', { 'backrest.schedule': '0 12 * * 5-7' });
    await container('quartz', { 'backrest.schedule': '0 0 1 * ?' });
  });

  after(async function () {
    if (docker) await removeLabeled(docker, `dockop.test.run=${run}`);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('writes a file Backrest loads: @daily as five fields (with a note), excludes in order, a ? cron refused by name', async () => {
    const file = path.join(dir, 'config.json');
    await copyFile(EXAMPLE, file);
    const r = await runCli(['reconcile', '--config', file, ...isolate(run)]);
    // 3: a workload was skipped (the Quartz cron); the others are written.
    expect(r.code, r.stderr + r.stdout).to.equal(3);
    const bytes = await readFile(file, 'utf8');
    assertBackrestLoads(bytes, file);

    const plans = JSON.parse(bytes).plans as {
      id: string;
      excludes?: string[];
      schedule: { cron: string };
    }[];
    const daily = plans.find((p) => p.id === `${prefix}${name('daily')}`);
    expect(daily?.schedule.cron).to.equal('0 0 * * *');
    expect(daily?.excludes).to.deep.equal([`/srv/${name('daily')}/z`, `/srv/${name('daily')}/a`]);
    expect(plans.find((p) => p.id === `${prefix}${name('weekend')}`)?.schedule.cron).to.equal(
      '0 12 * * 5-7',
    );
    expect(plans.some((p) => p.id === `${prefix}${name('quartz')}`)).to.equal(false);

    const notes = r.logs.filter((l) => l.action === 'plan.note').map((l) => String(l.note));
    expect(notes).to.include(
      `container ${name('daily')}: label backrest.schedule="@daily": "@daily" is written as "0 0 * * *": Backrest's parser takes five fields, not descriptors`,
    );
    expect(notes.join()).to.match(/7 never matches/);
    // The label schema refuses it (the message, naming label and value, is in the event).
    const skipped = r.logs.find(
      (l) => l.action === 'plan.skipped' && l.container === name('quartz'),
    );
    expect(skipped?.reason).to.equal('InvalidSpec');
  });

  it('refuses a bad --default-schedule and --backup-schedule before touching anything', async () => {
    const file = path.join(dir, 'untouched.json');
    await copyFile(EXAMPLE, file);
    const before = await readFile(file, 'utf8');
    const a = await runCli(['reconcile', '--config', file, '--default-schedule', '61 * * * *']);
    expect(a.code).to.not.equal(0);
    const usage = (x: typeof a) => x.logs.map((l) => String(l.error ?? '')).join('\n');
    expect(usage(a)).to.include(
      '--default-schedule "61 * * * *": minute field "61": 61 is out of range 0-59',
    );
    const b = await runCli(['daemon', '--config', file, '--backup-schedule', '0 0 * * 7']);
    expect(b.code).to.not.equal(0);
    expect(usage(b)).to.match(/--backup-schedule "0 0 \* \* 7": .*never fires/);
    expect(await readFile(file, 'utf8')).to.equal(before);
  });
});
