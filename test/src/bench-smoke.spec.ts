// CI-cheap runs of the benches (bench/src): each must run to the end and print its figures next
// to its baseline. Sizes are tiny; the figures are not judged here (full size by hand, see
// bench/README.md). The benches run the installed binary, i.e. the bundle.
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { requireEngine } from './support/engine.js';

const BENCH = fileURLToPath(new URL('../../bench/dist/', import.meta.url));

/** Runs a bench with `env` over this environment (an undefined value removes the variable). */
function bench(file: string, env: Record<string, string | undefined>): Promise<string> {
  const childEnv = { ...process.env, ...env };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete childEnv[k];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BENCH + file], {
      env: childEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`${file} exited ${code}:\n${out}`)),
    );
  });
}

/** The number in `text` after `label`, e.g. figure(out, 'ratio dry-run / raw list:'). */
function figure(text: string, label: string): number {
  const at = text.indexOf(label);
  expect(at, `"${label}" in:\n${text}`).to.be.greaterThan(-1);
  const m = /-?\d+(\.\d+)?/.exec(text.slice(at + label.length));
  expect(m, `a number after "${label}"`).to.not.equal(null);
  return Number(m![0]);
}

describe('benches (smoke: tiny sizes)', function () {
  this.timeout(180_000);

  it('workqueue: WorkQueue next to the array+Set baseline', async () => {
    const out = await bench('workqueue.js', { ROUNDS: '2' });
    expect(figure(out, 'WorkQueue add/tryGet/done')).to.be.greaterThan(0);
    expect(figure(out, 'ratio')).to.be.greaterThan(0);
  });

  it('controller-overhead: Controller.runOnce next to awaiting the reconciler per key', async () => {
    const out = await bench('controller-overhead.js', { KEYS: '200', ROUNDS: '2' });
    expect(figure(out, 'Controller.runOnce:')).to.be.greaterThan(0);
    expect(figure(out, 'baseline (await reconcile per key):')).to.be.greaterThan(0);
    // Settling 200 keys may take less than the 0.01 ms printed: present is what counts here.
    expect(figure(out, 'Controller.runOnce, settled keys:')).to.be.at.least(0);
    expect(figure(out, 'first round (cold, settled keys):')).to.be.greaterThan(0);
  });

  it('cli-startup: --help and version next to bare node', async () => {
    const out = await bench('cli-startup.js', { ROUNDS: '1', NODE_EXTRA_CA_CERTS: undefined });
    for (const name of ['node -e 0', '--help', 'version', '--help, program']) {
      expect(figure(out, `${name} `.padEnd(23) + 'min')).to.be.greaterThan(0);
    }
    expect(out).to.not.include('no extra CA');
  });

  it('cli-startup: also without NODE_EXTRA_CA_CERTS when the environment sets it', async () => {
    // Any value makes Node 20 read the file at start-up (a missing one is warned about).
    const out = await bench('cli-startup.js', {
      ROUNDS: '1',
      NODE_EXTRA_CA_CERTS: '/nonexistent/dockop-bench-ca.pem',
    });
    for (const name of ['node -e 0, no extra CA', '--help, no extra CA', 'version, no extra CA']) {
      expect(figure(out, `${name} `.padEnd(23) + 'min')).to.be.greaterThan(0);
    }
  });

  it('reconcile-running: dry run next to the raw list', async function () {
    await requireEngine(this);
    const out = await bench('reconcile-running.js', { COUNT: '3', ROUNDS: '1', SETTLE_S: '0' });
    expect(figure(out, 'raw label-filtered GET /containers/json (')).to.equal(3);
    expect(figure(out, 'ratio dry-run / raw list:')).to.be.greaterThan(0);
    expect(figure(out, 'minor page faults of the dry run: median')).to.be.greaterThan(0);
    expect(figure(out, '(BACKREST_SIDECAR_EARLY_LIST=0): dry run median')).to.be.greaterThan(0);
    if (process.env.NODE_EXTRA_CA_CERTS === undefined) expect(out).to.not.include('without it:');
    else expect(figure(out, 'without it: dry run median')).to.be.greaterThan(0);
  });

  it('plan-scale: dry run next to raw list + atomic write + bare node', async function () {
    await requireEngine(this);
    const out = await bench('plan-scale.js', { COUNT: '5', SETTLE_S: '0' });
    expect(figure(out, 'one label-filtered list (')).to.equal(5);
    expect(figure(out, 'dry-run / (baseline + bare node start-up):')).to.be.greaterThan(0);
    expect(figure(out, 'minor page faults of the dry run: median')).to.be.greaterThan(0);
    expect(
      figure(
        out,
        '(BACKREST_SIDECAR_HEAP_WARMUP=0: the process idles while the engine lists): dry run median',
      ),
    ).to.be.greaterThan(0);
    // Each of the 3 rounds' ratios: a spread, lowest first.
    const spread = /\(dry-run − bare node\) \/ baseline min (\S+)x, median (\S+)x, max (\S+)x/.exec(
      out,
    );
    expect(spread, out).to.not.equal(null);
    const [lo, mid, hi] = spread!.slice(1).map(Number);
    expect(lo).to.be.greaterThan(0);
    expect(lo).to.be.at.most(mid!);
    expect(mid).to.be.at.most(hi!);
    expect(figure(out, 'the program lists after it loads): dry run median')).to.be.greaterThan(0);
    expect(figure(out, 'the same atomic write; ')).to.equal(5);
    expect(figure(out, 'dry-run / fresh raw process:')).to.be.greaterThan(0);
    expect(figure(out, 'first touch of a 4 KiB page on this machine:')).to.be.greaterThan(0);
    if (process.env.NODE_EXTRA_CA_CERTS === undefined)
      expect(out).to.not.include('without NODE_EXTRA_CA_CERTS');
    else expect(figure(out, 'at the first TLS connection): dry run median')).to.be.greaterThan(0);
  });

  it('plan-apply: docker run → plan on disk with --apply, sequential and burst', async function () {
    await requireEngine(this);
    const out = await bench('plan-apply.js', { SEQ: '3', BURST: '10', PARTS: 'exits', TRACE: '1' });
    for (const what of ['3 containers 1 s apart', 'burst of 10']) {
      const line = out.split('\n').find((l) => l.includes(what)) ?? '';
      expect(figure(line, 'p50'), line).to.be.greaterThan(0);
      expect(figure(line, 'Backrest restarts'), line).to.be.at.least(1);
    }
    expect(figure(out, 'trace (ms, p50/p95 over'), 'every container traced').to.equal(3);
  });

  it('daemon-idle: idle CPU and RSS over create/destroy cycles', async function () {
    await requireEngine(this);
    const out = await bench('daemon-idle.js', {
      COUNT: '5',
      IDLE_S: '1',
      CYCLES: '20',
      HEAP: '1',
    });
    expect(figure(out, 'idle CPU over')).to.be.greaterThan(0);
    expect(out).to.match(/RSS change first → last sample: -?\d+(\.\d+)? %/);
    // RSS after each batch of 10 cycles (2 here), as levels and a slope.
    expect(out).to.match(
      /RSS every 10 cycles \(2 samples\): level of the first tenth \d+\.\d MiB \(median of 1\), of the last tenth \d+\.\d MiB \(median of 1\): -?\d+\.\d %.*slope -?\d+\.\d\d MiB per 1,000 cycles/,
    );
    // The daemon's heap after a full GC: megabytes, not zero (the hook's GC ran).
    expect(figure(out, 'heap used after a full GC: 10:')).to.be.within(1, 500);
    expect(figure(out, 'daemon CPU over the churn:')).to.be.greaterThan(0);
  });

  it('daemon-idle, PROMOTED=1: what outlived the young generation during the churn, by site', async function () {
    await requireEngine(this);
    const out = await bench('daemon-idle.js', {
      COUNT: '5',
      IDLE_S: '1',
      CYCLES: '20',
      PROMOTED: '1',
    });
    expect(figure(out, 'outliving a scavenge (promoted, or still alive):')).to.be.greaterThan(0);
    // Sites are the project's own source lines, mapped through the bundle's source map.
    expect(out).to.match(/^ +\d+\.\d\d MiB {2}\S+ [\w./-]+\/src\/[\w.-]+\.c?ts:\d+$/m);
  });

  it("daemon-startup: first write with the bin's daemon flags next to V8's defaults", async function () {
    await requireEngine(this);
    const out = await bench('daemon-startup.js', { COUNT: '5', ROUNDS: '1' });
    expect(figure(out, "the bin's daemon flags: first write")).to.be.greaterThan(0);
    expect(figure(out, "V8's defaults (baseline): first write")).to.be.greaterThan(0);
    expect(figure(out, "ratio, bin's flags / V8's defaults: time")).to.be.greaterThan(0);
  });
});
