// Helpers shared by the deploy end-to-end tests (image, swarm): run commands from the repository
// root, poll for a condition, read the plans of a config file in either format.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';

export const ROOT = path.resolve(import.meta.dirname, '..', '..', '..');
export const BUILD_TIMEOUT_MS = 150_000;

export interface Exec {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run a command from the repository root; never throws for a non-zero exit (check `code`). */
export function run(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
  timeoutMs = 60_000,
): Promise<Exec> {
  return new Promise((resolve) => {
    execFile(
      cmd,
      args,
      {
        cwd: ROOT,
        env: { ...process.env, ...env },
        timeout: timeoutMs,
        maxBuffer: 64 * 1024 * 1024,
      },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
  });
}

/** Poll `probe` until it returns a value, or fail naming `what`. */
export async function waitFor<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | undefined>,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

export interface PlanLike {
  id?: string;
  sources?: string[];
  paths?: string[];
  schedule?: unknown;
  repo?: string;
}

/** The plans of a config file in either format (seed: `sources`; Backrest native: `paths`). */
function plansIn(file: string): PlanLike[] {
  try {
    const cfg = JSON.parse(readFileSync(file, 'utf8')) as { plans?: PlanLike[] };
    return cfg.plans ?? [];
  } catch {
    return []; // not written yet, or caught between writes (the sink renames atomically)
  }
}

export function planWithSource(file: string, source: string): PlanLike | undefined {
  return plansIn(file).find((p) => (p.sources ?? p.paths ?? []).includes(source));
}
