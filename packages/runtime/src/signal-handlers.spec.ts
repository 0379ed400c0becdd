import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';

// A real process: what a second signal does to it cannot be observed on a stand-in `process`.
const HANDLERS = new URL('./signal-handlers.js', import.meta.url).href;

/**
 * A node process with the handlers installed on a target whose graceful stop never ends (a
 * drain that hangs), plus `extra` (code run after them), logging one JSON line per call to
 * stdout, 'ready' once set up.
 */
function startChild(extra = ''): { child: ChildProcess; lines: string[]; ready: Promise<void> } {
  const script = `
    import { installSignalHandlers } from ${JSON.stringify(HANDLERS)};
    const log = (level) => (action, fields) =>
      process.stdout.write(JSON.stringify({ level, action, ...fields }) + '\\n');
    const logger = { error: log('error'), warn: log('warn'), info: log('info'), debug: log('debug') };
    logger.child = () => logger;
    installSignalHandlers(
      { logger, stop: () => new Promise(() => {}), resync: async () => {} },
      process,
    );
    ${extra}
    setInterval(() => {}, 1000);
    process.stdout.write('ready\\n');
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines: string[] = [];
  let buffered = '';
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      buffered += d.toString();
      const parts = buffered.split('\n');
      buffered = parts.pop() ?? '';
      for (const l of parts) {
        if (l === 'ready') resolve();
        else lines.push(l);
      }
    });
    child.once('exit', () => reject(new Error(`exited before ready: ${lines.join('\n')}`)));
  });
  return { child, lines, ready };
}

async function until(check: () => boolean, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('installSignalHandlers (a real process)', function () {
  this.timeout(20_000);
  let child: ChildProcess | undefined;

  afterEach(() => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    child = undefined;
  });

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`a first ${signal} stops gracefully; a second ends the process by ${signal}, the forced exit logged`, async () => {
      const c = startChild();
      child = c.child;
      await c.ready;
      const exited = once(c.child, 'close');
      c.child.kill(signal);
      await until(() => c.lines.some((l) => l.includes('"signal.received"')));
      // The graceful stop never ends: still running.
      await new Promise((r) => setTimeout(r, 200));
      expect(c.child.exitCode).to.equal(null);
      expect(c.child.signalCode).to.equal(null);
      c.child.kill(signal);
      // 'close', not 'exit': the lines asserted below may still be in the stdout pipe at 'exit'.
      const [code, sig] = (await exited) as [number | null, NodeJS.Signals | null];
      expect({ code, sig }).to.deep.equal({ code: null, sig: signal });
      expect(c.lines.map((l) => JSON.parse(l) as Record<string, unknown>)).to.deep.equal([
        { level: 'info', action: 'signal.received', signal },
        { level: 'warn', action: 'signal.forced_exit', signal },
      ]);
    });
  }

  it("a second SIGTERM ends the process even with other modules' listeners on it", async () => {
    // A library's own listener (which alone would keep the process alive) does not block it.
    const c = startChild("process.on('SIGTERM', () => {});");
    child = c.child;
    await c.ready;
    const exited = once(c.child, 'close');
    c.child.kill('SIGTERM');
    await until(() => c.lines.length === 1);
    c.child.kill('SIGTERM');
    const [code, sig] = (await exited) as [number | null, NodeJS.Signals | null];
    expect({ code, sig }).to.deep.equal({ code: null, sig: 'SIGTERM' });
  });
});
