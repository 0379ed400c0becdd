import { expect } from 'chai';
import { spawn } from 'node:child_process';

describe('watchStdout (stdout whose reader went away)', () => {
  it('aborts stdoutClosed and lets the process go on to its own end (no process.exit, no EPIPE trace)', async () => {
    const output = new URL('./cli-output.js', import.meta.url).href;
    const script = `
      import { stdoutClosed, watchStdout } from ${JSON.stringify(output)};
      watchStdout();
      stdoutClosed.addEventListener('abort', () => process.stderr.write('closed\\n'));
      const tick = setInterval(() => process.stdout.write('row\\n'), 20);
      // Work that outlives the reader: a container started again, a config written.
      setTimeout(() => { clearInterval(tick); process.stderr.write('finished\\n'); process.exitCode = 3; }, 300);`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(stderr).to.equal('closed\nfinished\n');
    expect(status).to.equal(3);
  });
});
