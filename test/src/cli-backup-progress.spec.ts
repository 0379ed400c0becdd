import type Docker from 'dockerode';
import { expect } from 'chai';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { RESTIC_IMAGE, removeLabeled, requireEngine, runId } from './support/engine.js';
import { exec, makeRepo, removeDir, type Repo } from './retention-fixture.js';
import { buildRcbStandIn, removeVolumes, startWorkload } from './backup-fixture.js';
import { runCli } from './support/plan-cli.js';
import { runCliOnTty } from './support/tty.js';

const ESC = String.fromCharCode(27);

// The progress display of backup-once for each engine, from the CLI bundle on the real engine:
// a bar with elapsed time and ETA on a pseudo-terminal (redrawn in place, coloured unless
// NO_COLOR), `backup.progress` JSON lines when piped. rcb reports no figures: its first run shows
// an indeterminate bar, the next one an ETA from the first one's duration (backup-durations.json).
describe('backup-once progress on a TTY and piped (integration)', function () {
  this.timeout(300_000);
  let docker: Docker;
  const run = runId();
  const runKey = 'dockop.test.run';
  const runVal = `progress-${run}`;
  const runLabel = `${runKey}=${runVal}`;
  const project = `pg${run.replace(/[^a-z0-9]/g, '')}`;
  const rcbTag = `dockop/rcb-standin:progress-${run.replace(/[^a-z0-9]/g, '')}`;
  let repo: Repo;
  let rcbEnv = '';
  let stateDir = '';

  before(async function () {
    docker = await requireEngine(this);
    repo = await makeRepo('cli-progress');
    stateDir = path.join(repo.dir, 'state');
    rcbEnv = path.join(repo.dir, 'rcb.env');
    await writeFile(rcbEnv, 'RCB_SLEEP=3\nRESTIC_PASSWORD=progress-secret-pw\n');
    await buildRcbStandIn(rcbTag, runLabel);
    await startWorkload(
      docker,
      {
        name: `progress-${run}-db`,
        project,
        service: 'db',
        labels: { 'backrest.enable': 'true' },
        volumes: [{ name: `${project}_data`, destination: '/data', files: { 'a.txt': 'hello' } }],
      },
      { [runKey]: runVal },
    );
  });

  after(async function () {
    if (docker) {
      await removeLabeled(docker, runLabel);
      await removeVolumes(docker, runLabel);
      await exec('docker', ['rmi', '-f', rcbTag]).catch(() => undefined);
    }
    await removeDir(repo?.dir);
  });

  const common = () => [
    '--no-forget',
    '--selector',
    runLabel,
    '--quiesce-label',
    `dockop.test.quiesce-${run}=true`,
    '--state-dir',
    stateDir,
  ];
  const rcb = () => [
    'backup-once',
    '--engine',
    'rcb',
    '--rcb-image',
    rcbTag,
    '--rcb-env-file',
    rcbEnv,
    ...common(),
  ];
  /** The frames drawn over each other with `\r`, escapes kept. */
  const frames = (out: string) => out.split(/[\r\n]/).filter((f) => f.includes('rcb ['));

  it('rcb: an indeterminate bar the first time, an ETA from last time the next; colours', async () => {
    const first = await runCliOnTty(rcb(), { NO_COLOR: undefined, FORCE_COLOR: undefined });
    expect(first.code, first.out).to.equal(0);
    const f1 = frames(first.out);
    expect(f1.length, first.out).to.be.at.least(3); // redrawn every second for ~3 s
    expect(f1[0]).to.include('<=>').and.include('ETA --:--');
    const green = `${ESC}[32m`;
    const reset = `${ESC}[0m`;
    expect(f1.at(-1)).to.include(`rcb [${green}${'#'.repeat(24)}${reset}] 100% ${green}done in`);
    const history = JSON.parse(
      await readFile(path.join(stateDir, 'backup-durations.json'), 'utf8'),
    );
    expect(history.rcb.rcb).to.be.at.least(3000);

    const second = await runCliOnTty(rcb(), { NO_COLOR: undefined, FORCE_COLOR: undefined });
    expect(second.code, second.out).to.equal(0);
    const f2 = frames(second.out);
    expect(f2[0]).to.match(/ETA 0:0[3-9]/);
    expect(
      f2.some((f) => / [1-9]\d%/.test(f)),
      second.out,
    ).to.equal(true);
    expect(second.out).to.not.include('progress-secret-pw');
  });

  it('NO_COLOR keeps the bar and drops the colours', async () => {
    const r = await runCliOnTty(rcb(), { NO_COLOR: '1', FORCE_COLOR: undefined });
    expect(r.code, r.out).to.equal(0);
    expect(frames(r.out).at(-1)).to.match(/rcb \[#{24}\] 100% done in \d+:\d\d/);
    expect(r.out).to.not.include(`${ESC}[3`);
  });

  it('piped: backup.progress JSON lines with elapsed and ETA, nothing on stdout, no \\r', async () => {
    const r = await runCli([...rcb(), '--progress-interval', '1s', '--log-format', 'json'], {
      timeoutMs: 120_000,
    });
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.equal('');
    expect(r.stderr).to.not.include('\r');
    const lines = r.logs.filter((l) => l.action === 'backup.progress');
    expect(lines.length, r.stderr).to.be.within(2, 5);
    expect(lines[0]).to.include({ container: 'rcb', step: '1/1' });
    expect(lines[0]).to.have.property('etaSeconds').that.is.a('number');
    expect(lines.at(-1)!.elapsedSeconds).to.be.at.least(2);
  });

  it('restic: the bar ends with the snapshot id', async () => {
    const r = await runCliOnTty(
      [
        'backup-once',
        '--engine',
        'restic',
        '--rcb-env-file',
        repo.containerEnvFile,
        '--restic-image',
        RESTIC_IMAGE,
        '--restic-volume',
        `${repo.repo}:/repo`,
        '--restic-host',
        'progress-test',
        ...common(),
      ],
      { NO_COLOR: '1' },
    );
    expect(r.code, r.out).to.equal(0);
    expect(r.out).to.match(
      new RegExp(`progress-${run}-db \\[#{24}\\] 100% snapshot [0-9a-f]{8} in \\d+:\\d\\d`),
    );
  });
});
