import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { warmHeapUntil } from './heap-warmup.cjs';

const COMPILED = fileURLToPath(new URL('./heap-warmup.cjs', import.meta.url));
const MiB = 1024 * 1024;
const never = new Promise<never>(() => undefined);
const after = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `script` in a fresh Node process: its exit code and what it printed. */
function runScript(script: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    let out = '';
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'ignore'] });
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error('the process did not exit within 10 s'));
    }, 10_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

describe('warmHeapUntil (the young generation warmed up while the engine lists)', () => {
  it('allocates up to its budget, in 32 KiB arrays, when nothing settles', async () => {
    const allocated = await warmHeapUntil(never, { budgetBytes: 4 * MiB });
    expect(allocated)
      .to.be.at.least(4 * MiB)
      .and.below(4 * MiB + 32 * 1024);
  });

  it('allocates nothing when the answer came before it started', async () => {
    expect(await warmHeapUntil(Promise.resolve([]), { budgetBytes: 64 * MiB })).to.equal(0);
    expect(
      await warmHeapUntil(Promise.reject(new Error('gone')), { budgetBytes: 64 * MiB }),
    ).to.equal(0);
  });

  it('yields to the event loop between slices and stops once the answer settles', async () => {
    // 4 GiB would take seconds of allocation: only a warm-up that lets the timer fire, and
    // then stops, ends within the limit below.
    const t0 = performance.now();
    const allocated = await warmHeapUntil(after(20), { budgetBytes: 4096 * MiB, sliceMs: 1 });
    const took = performance.now() - t0;
    expect(allocated)
      .to.be.above(0)
      .and.below(4096 * MiB);
    expect(took).to.be.below(1000);
  });

  it('stops on a failed or abandoned request as on an answer', async () => {
    const failed = after(10).then(() => {
      throw new Error('abandoned');
    });
    failed.catch(() => undefined);
    const allocated = await warmHeapUntil(failed, { budgetBytes: 4096 * MiB });
    expect(allocated)
      .to.be.above(0)
      .and.below(4096 * MiB);
  });

  it('keeps a process with nothing else to do alive only until its budget is spent', async function () {
    this.timeout(20_000);
    // An answer that never comes: the process ends when the 16 MiB are allocated.
    const script = `require(${JSON.stringify(COMPILED)}).warmHeapUntil(new Promise(() => {}), { budgetBytes: 16 * 2 ** 20 }).then((n) => process.stdout.write(String(n)));`;
    const { code, out } = await runScript(script);
    expect(code).to.equal(0);
    expect(Number(out)).to.equal(16 * MiB);
  });

  it('keeps no process alive while keepsAlive says no', async function () {
    this.timeout(20_000);
    // The same process, but its slices may not keep it alive: it exits before the warm-up ends.
    const script = `let done = false; require(${JSON.stringify(COMPILED)}).warmHeapUntil(new Promise(() => {}), { budgetBytes: 16 * 2 ** 20, keepsAlive: () => false }).then(() => (done = true)); process.on('exit', () => process.stdout.write(String(done)));`;
    const { code, out } = await runScript(script);
    expect(code).to.equal(0);
    expect(out, 'the warm-up had not finished').to.equal('false');
  });
});
