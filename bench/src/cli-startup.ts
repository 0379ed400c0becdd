// Start-up of the installed binary: `--help` and `version` wall time, next to bare `node -e 0`
// measured in the same run (interleaved, so load changes hit all three alike). Target: ≤ 150 ms.
// Run: npm run build && node bench/dist/cli-startup.js   (ROUNDS=... default 20; the smoke spec
// runs 3). Prints min and median per command and the load average (the machine is shared).
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { CLI, EXTRA_CA_CERTS, envWithoutExtraCa, percentile } from './plan-bench-support.js';

const ROUNDS = Number(process.env.ROUNDS ?? 20);

export interface StartupFigures {
  /** Milliseconds per round, per command. */
  samples: Record<string, number[]>;
}

/** Through the program instead of the build's stored answer (packages/cli/src/static-answers.cts). */
const PROGRAM = { BACKREST_SIDECAR_STATIC_ANSWERS: '0' };

const COMMANDS: Record<string, [string[], NodeJS.ProcessEnv?]> = {
  'node -e 0': [['-e', '0']],
  '--help': [[CLI, '--help']],
  version: [[CLI, 'version']],
  // For reference (no target): what the stored answers save.
  '--help, program': [[CLI, '--help'], { ...process.env, ...PROGRAM }],
  'version, program': [[CLI, 'version'], { ...process.env, ...PROGRAM }],
  // Node 20 parses NODE_EXTRA_CA_CERTS at every start (plan-bench-support.ts): when this
  // environment sets it, also what a host without it pays.
  ...(EXTRA_CA_CERTS === undefined
    ? {}
    : {
        'node -e 0, no extra CA': [['-e', '0'], envWithoutExtraCa()],
        '--help, no extra CA': [[CLI, '--help'], envWithoutExtraCa()],
        'version, no extra CA': [[CLI, 'version'], envWithoutExtraCa()],
      }),
};

function once([args, env]: [string[], NodeJS.ProcessEnv?]): number {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, args, {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: env ?? process.env,
  });
  const ms = performance.now() - t0;
  if (r.status !== 0)
    throw new Error(`node ${args.join(' ')} exited ${r.status}: ${String(r.stderr)}`);
  return ms;
}

export function measureStartup(rounds: number): StartupFigures {
  const samples: Record<string, number[]> = Object.fromEntries(
    Object.keys(COMMANDS).map((k) => [k, []]),
  );
  once(COMMANDS['--help']!); // warm the page cache
  for (let i = 0; i < rounds; i++) {
    for (const [name, args] of Object.entries(COMMANDS)) samples[name]!.push(once(args));
  }
  return { samples };
}

export function report(f: StartupFigures): string {
  const base = percentile(f.samples['node -e 0']!, 50);
  const cleanBase = f.samples['node -e 0, no extra CA'];
  return Object.entries(f.samples)
    .map(([name, xs]) => {
      const med = percentile(xs, 50);
      // Each command against the bare node of its own environment.
      const bare = name.endsWith(', no extra CA') ? percentile(cleanBase!, 50) : base;
      const extra = name.startsWith('node -e 0')
        ? ''
        : `  (+${Math.round(med - bare)} ms over bare node)`;
      return `  ${name.padEnd(22)} min ${Math.round(Math.min(...xs))} ms, median ${Math.round(med)} ms${extra}`;
    })
    .join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const f = measureStartup(ROUNDS);
  console.log(
    `cli-startup: ${ROUNDS} rounds, load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  console.log(report(f));
}
