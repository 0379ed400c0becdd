import type Docker from 'dockerode';
import { expect } from 'chai';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { removeLabeled, requireEngine, runId } from './support/engine.js';
import { runCli } from './support/plan-cli.js';
import { removeDir } from './retention-fixture.js';
import { startWorkload } from './backup-fixture.js';

interface Row {
  name: string;
  state: string;
  invalid: { reason: string; message: string } | null;
  status: { conditions: { type: string; status: string; reason: string; message: string }[] };
}

// `get workloads` lists containers itself (no daemon): a workload whose labels the daemon refuses
// must not look Ok there. Real engine: one valid workload, one with `backrest.keep=daily=seven`,
// one with a schedule that is no cron expression, and one whose hook carries a secret.
describe('get workloads / describe workload: refused labels show as Invalid (integration)', function () {
  this.timeout(120_000);
  let docker: Docker;
  let stateDir: string;
  const run = runId();
  const runKey = 'dockop.test.run';
  const runLabel = `${runKey}=wil-${run}`;
  const project = `wil${run.replace(/[^a-z0-9]/g, '')}`;
  const secret = `s3cr3t${run.replace(/[^a-z0-9]/g, '')}`;
  const names = {
    ok: `wil-${run}-ok`,
    keep: `wil-${run}-keep`,
    cron: `wil-${run}-cron`,
    hook: `wil-${run}-hook`,
  };
  const flags = () => [
    '--state-dir',
    stateDir,
    '--no-repository',
    '--selector',
    runLabel,
    '--log-format',
    'json',
  ];

  before(async function () {
    docker = await requireEngine(this);
    stateDir = await mkdtemp(path.join(tmpdir(), 'workload-invalid-'));
    const labels: Record<keyof typeof names, Record<string, string>> = {
      ok: { 'backrest.enable': 'true', 'backrest.keep': 'daily=7' },
      keep: { 'backrest.enable': 'true', 'backrest.keep': 'daily=seven' },
      cron: { 'backrest.enable': 'true', 'backrest.schedule': '61 25 * * *' },
      // Invalid for its schedule; the hook's password must appear nowhere in the output.
      hook: {
        'backrest.enable': 'true',
        'backrest.schedule': 'every day',
        'backrest.pre': `curl -u admin:${secret} https://admin:${secret}@example.invalid/start`,
      },
    };
    for (const k of Object.keys(names) as (keyof typeof names)[]) {
      await startWorkload(
        docker,
        { name: names[k], project, service: k, labels: labels[k] },
        { [runKey]: `wil-${run}` },
      );
    }
  });

  after(async () => {
    if (docker) await removeLabeled(docker, runLabel);
    if (stateDir) await removeDir(stateDir);
  });

  it('-o json: state Invalid with the reason naming label and value; the valid one is not', async () => {
    const r = await runCli(['get', 'workloads', '-o', 'json', ...flags()]);
    expect(r.code, r.stderr).to.equal(0);
    const rows = JSON.parse(r.stdout) as Row[];
    const row = (n: string) => rows.find((x) => x.name === n)!;
    expect(row(names.ok).state).to.equal('NeverBackedUp');
    expect(row(names.ok).invalid).to.equal(null);
    for (const n of [names.keep, names.cron, names.hook]) {
      expect(row(n).state, n).to.equal('Invalid');
      expect(row(n).invalid?.reason).to.equal('InvalidSpec');
      expect(row(n).status.conditions.find((c) => c.type === 'InvalidSpec')).to.include({
        status: 'True',
        reason: 'InvalidSpec',
      });
    }
    expect(row(names.keep).invalid?.message).to.contain(names.keep);
    expect(row(names.keep).invalid?.message).to.contain('backrest.keep=');
    expect(row(names.keep).invalid?.message).to.contain('daily=seven');
    expect(row(names.cron).invalid?.message).to.contain('backrest.schedule=');
    expect(row(names.cron).invalid?.message).to.contain('61 25 * * *');
    expect(r.stdout + r.stderr).not.to.contain(secret);
  });

  it('table: STATUS Invalid and the reason on stderr; wide: in MESSAGE', async () => {
    const table = await runCli(['get', 'workloads', ...flags()]);
    expect(table.code, table.stderr).to.equal(0);
    const line = (out: string, n: string) => out.split('\n').find((l) => l.startsWith(`${n} `))!;
    expect(line(table.stdout, names.keep)).to.match(/\sInvalid\s/);
    expect(line(table.stdout, names.ok)).not.to.match(/Invalid/);
    expect(table.stderr).to.contain(`workload ${names.keep} is Invalid: InvalidSpec:`);
    expect(table.stderr).to.contain('daily=seven');
    const wide = await runCli(['get', 'workloads', '-o', 'wide', ...flags()]);
    expect(wide.code, wide.stderr).to.equal(0);
    expect(line(wide.stdout, names.cron)).to.contain('backrest.schedule=');
    expect(line(wide.stdout, names.cron)).to.contain('61 25 * * *');
    expect(table.stdout + table.stderr + wide.stdout + wide.stderr).not.to.contain(secret);
  });

  it('describe workload: Status Invalid, the refusal and the InvalidSpec condition', async () => {
    const r = await runCli(['describe', 'workload', names.keep, names.hook, ...flags()]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/Status:\s+Invalid/);
    expect(r.stdout).to.contain('Refused:    InvalidSpec:');
    expect(r.stdout).to.contain('daily=seven');
    expect(r.stdout).to.match(/InvalidSpec\s+True\s+InvalidSpec/);
    expect(r.stdout + r.stderr).not.to.contain(secret);
  });
});
