// The real CLI bundle on a pseudo-terminal (util-linux `script`), as a person at a terminal sees it.
import { spawn } from 'node:child_process';
import { CLI_BIN } from './plan-cli.js';

export interface TtyResult {
  code: number | null;
  /** stdout and stderr as the terminal shows them (CRLF line ends normalised). */
  out: string;
}

/** Runs the CLI with stdin/stdout/stderr on a pseudo-terminal: `script -qfec <cmd> /dev/null`. */
export function runCliOnTty(
  args: string[],
  env: Record<string, string | undefined> = {},
  timeoutMs = 120_000,
): Promise<TtyResult> {
  const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
  // A fixed width, so the bar is never cut by whatever terminal runs the tests.
  const command = `stty cols 160 2>/dev/null; ${[process.execPath, CLI_BIN, ...args].map(quote).join(' ')}`;
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete childEnv[k];
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qfec', command, '/dev/null'], {
      env: childEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out: out.replace(/\r\n/g, '\n') });
    });
  });
}
