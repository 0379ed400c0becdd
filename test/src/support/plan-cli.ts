// Helpers for the plan controller / CLI integration tests (plan-*.spec.ts, cli-*.spec.ts): spawn
// the real `backrest-sidecar` binary, parse its JSON log lines, make throwaway configs.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const CLI_BIN = fileURLToPath(
  new URL('../../../packages/cli/bin/backrest-sidecar.js', import.meta.url),
);

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stderr (where logs go) parsed as JSON lines (non-JSON lines skipped). */
  logs: Record<string, unknown>[];
}

export function parseJsonLines(text: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      out.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // not a log line
    }
  }
  return out;
}

/** Runs the CLI to completion (bounded by `timeoutMs`, then SIGKILL). */
export function runCli(
  args: string[],
  options: {
    env?: Record<string, string>;
    timeoutMs?: number;
    /** Close the read end of this pipe at once: a reader gone (`| head -1`, a log collector). */
    closed?: 'stdout' | 'stderr';
  } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_BIN, ...args], {
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    if (options.closed) child[options.closed].destroy();
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, logs: parseJsonLines(stderr) });
    });
  });
}

/** A temp dir holding `config.json` in the sidecar format with the given repos and plans. */
export async function tempConfig(
  repos: string[] = ['default'],
  plans: object[] = [],
): Promise<{ dir: string; path: string }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'plan-it-'));
  const file = path.join(dir, 'config.json');
  await writeFile(
    file,
    `${JSON.stringify({ repos: repos.map((id) => ({ id, type: 'local', url: `/repos/${id}` })), plans }, null, 2)}\n`,
  );
  return { dir, path: file };
}

/** Flags that confine a CLI run to this test's containers and plan ids. */
export function isolate(run: string): string[] {
  return ['--selector', `dockop.test.run=${run}`, '--plan-id-prefix', `t${run.replace(/-/g, '')}_`];
}

export function prefixOf(run: string): string {
  return `t${run.replace(/-/g, '')}_`;
}

/** Polls `cond` every 50 ms until true, or fails after `ms` (a bound, not a timing assertion). */
export async function eventually(
  cond: () => Promise<boolean> | boolean,
  ms: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Starts `backrest-sidecar daemon <args>` and collects its JSON log lines (stderr) into `logs` as
 * they arrive (one chunk is not one line). `exited` settles with the exit code (null when killed by
 * a signal); it listens from the spawn, so an exit before anyone awaits it is not missed.
 */
export function spawnDaemon(args: string[]): {
  daemon: ChildProcess;
  logs: Record<string, unknown>[];
  exited: Promise<number | null>;
} {
  const logs: Record<string, unknown>[] = [];
  const daemon = spawn(process.execPath, [CLI_BIN, 'daemon', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) =>
    daemon.once('exit', (code) => resolve(code)),
  );
  let buf = '';
  daemon.stderr!.on('data', (d: Buffer) => {
    buf += d.toString();
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      logs.push(...parseJsonLines(buf.slice(0, nl)));
      buf = buf.slice(nl + 1);
    }
  });
  daemon.stdout!.resume();
  return { daemon, logs, exited };
}

/**
 * SIGTERM, then waits for the exit (SIGKILL after `graceMs`). A test must wait before it removes
 * the daemon's directories: a daemon still shutting down writes status and config files into them,
 * and a recursive rm racing those writes fails with ENOTEMPTY.
 */
export async function stopDaemon(
  started: { daemon: ChildProcess; exited: Promise<number | null> },
  graceMs = 30_000,
): Promise<number | null> {
  if (started.daemon.exitCode !== null || started.daemon.signalCode !== null) return started.exited;
  started.daemon.kill('SIGTERM');
  const timer = setTimeout(() => started.daemon.kill('SIGKILL'), graceMs);
  try {
    return await started.exited;
  } finally {
    clearTimeout(timer);
  }
}
