import type Docker from 'dockerode';
import { expect } from 'chai';
import { readFile, rm } from 'node:fs/promises';
import { planIdFor } from '@backrest-sidecar/api';
import { WORKLOAD_IMAGE, removeLabeled, requireEngine, runId } from './support/engine.js';
import { isolate, prefixOf, runCli, tempConfig } from './support/plan-cli.js';
import { createContainer } from '@dockop/docker';

// Labels the schema refuses, on the real engine: the Warning names container, label and value,
// the refused workload counts as skipped (exit 3), and `get plans` / `describe plan` show it,
// while a valid sibling still gets its plan.
describe('backrest-sidecar with invalid labels (integration)', function () {
  this.timeout(120_000);
  let docker: Docker;
  const run = runId();
  const hostile = `inv${run.replace(/-/g, '')}-hostile`;
  const sibling = `inv${run.replace(/-/g, '')}-ok`;
  const prefix = prefixOf(run);
  const hostileId = planIdFor({ name: hostile }, { prefix });
  const siblingId = planIdFor({ name: sibling }, { prefix });
  const dirs: string[] = [];

  before(async function () {
    docker = await requireEngine(this);
    const common = { 'dockop.test.run': run, 'backrest.enable': 'true' };
    const bad = await createContainer(docker, {
      name: hostile,
      Image: WORKLOAD_IMAGE,
      Cmd: ['sleep', '600'],
      Labels: {
        ...common,
        'backrest.paths.include': '/data/../../etc',
        'backrest.schedule': '61 * * * *',
        'backrest.keep': 'daily=7,weekly=x',
      },
      HostConfig: { NetworkMode: 'none' },
    });
    const ok = await createContainer(docker, {
      name: sibling,
      Image: WORKLOAD_IMAGE,
      Cmd: ['sleep', '600'],
      Labels: common,
      HostConfig: { NetworkMode: 'none', Binds: ['/srv/ok-data:/data:ro'] },
    });
    await Promise.all([bad.start(), ok.start()]);
  });

  after(async function () {
    if (docker) await removeLabeled(docker, `dockop.test.run=${run}`);
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  async function config(): Promise<string> {
    const c = await tempConfig();
    dirs.push(c.dir);
    return c.path;
  }

  it('reconcile --dry-run: a Warning naming container, label and value, plan.skipped, exit 3', async () => {
    const file = await config();
    const original = await readFile(file, 'utf8');
    const r = await runCli(['reconcile', '--dry-run', '--config', file, ...isolate(run)]);
    expect(r.code, r.stderr + r.stdout).to.equal(3);
    expect(await readFile(file, 'utf8')).to.equal(original);

    const warning = r.logs.find(
      (l) => l.action === 'event' && l.key === `BackupWorkload/${hostile}`,
    );
    expect(warning, r.stdout).to.include({ type: 'Warning', reason: 'InvalidSpec' });
    const msg = String(warning?.msg);
    expect(msg).to.include(hostile);
    expect(msg).to.include('label backrest.schedule="61 * * * *"');
    expect(msg).to.include('label backrest.paths.include="/data/../../etc"');
    expect(msg).to.include('label backrest.keep="daily=7,weekly=x"');

    const skipped = r.logs.filter((l) => l.action === 'plan.skipped');
    expect(skipped).to.have.length(1);
    expect(skipped[0]).to.include({
      plan_id: hostileId,
      container: hostile,
      reason: 'InvalidSpec',
      changed: false,
    });
    // Logged once: plan.skipped points at the Warning instead of repeating its message.
    expect(skipped[0]).to.not.have.property('error');
    expect(skipped[0]?.see).to.equal(`event BackupWorkload/${hostile}`);
    const mentions = r.stderr
      .split('\n')
      .filter((l) => l.includes(hostile) && l.includes('label backrest.keep='));
    expect(mentions, r.stderr).to.have.length(1);

    const rendered = r.logs.filter((l) => l.action === 'plan.rendered');
    expect(rendered.map((l) => [l.plan_id, l.container])).to.deep.equal([[siblingId, sibling]]);
    expect(r.logs.find((l) => l.action === 'dry-run.complete')).to.include({
      plans_seen: 2,
      plans_skipped: 1,
      plans_changed: 1,
    });
    // The diff (stdout) adds the sibling's plan only.
    expect(r.stdout).to.include(siblingId).and.not.include(hostileId);
  });

  it('get plans -o json lists the refused workload as Invalid next to the valid sibling', async () => {
    const file = await config();
    const r = await runCli(['get', 'plans', '-o', 'json', '--config', file, ...isolate(run)]);
    expect(r.code, r.stderr).to.equal(0);
    const rows = JSON.parse(r.stdout) as { planId: string; container: string; status: string }[];
    expect(rows.map((row) => [row.planId, row.container, row.status])).to.have.deep.members([
      [hostileId, hostile, 'Invalid'],
      [siblingId, sibling, 'Pending'],
    ]);
    expect(rows).to.have.length(2);

    const table = await runCli(['get', 'plans', '--config', file, ...isolate(run)]);
    const line = table.stdout.split('\n').find((l) => l.startsWith(hostileId));
    expect(line, table.stdout).to.match(/\sInvalid$/);
  });

  it('describe plan <id> shows the message, the conditions and the Warning event', async () => {
    const file = await config();
    const r = await runCli(['describe', 'plan', hostileId, '--config', file, ...isolate(run)]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.include(`Container:  ${hostile}`);
    expect(r.stdout).to.include('State:      Skipped (InvalidSpec)');
    expect(r.stdout).to.match(/Message: {4}.*label backrest\.schedule="61 \* \* \* \*"/);
    expect(r.stdout).to.match(/InvalidSpec +True +InvalidSpec/);
    const events = r.stdout.slice(r.stdout.indexOf('Events:'));
    expect(events).to.match(/Warning +InvalidSpec +x\d+ +\(the Message above\)/);
    // The message once in the output, and no warning on stderr repeating it.
    expect(r.stdout.split('label backrest.keep=').length - 1, r.stdout).to.equal(1);
    expect(r.stderr, r.stderr).to.equal('');
  });
});
