// Helpers for the plan controller / CLI integration tests (plan-*.spec.ts, cli-*.spec.ts): spawn
// the real `backrest-sidecar` binary, parse its JSON log lines, make throwaway configs.
import { spawn } from 'node:child_process';
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
  /** stdout parsed as JSON lines (non-JSON lines skipped). */
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
  options: { env?: Record<string, string>; timeoutMs?: number } = {},
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
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, logs: parseJsonLines(stdout) });
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
