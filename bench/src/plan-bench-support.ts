// Shared by the plan-*.ts benches: spawn the real CLI, follow its JSON log lines, percentiles.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Docker from 'dockerode';
import { createContainer } from '@dockop/docker';

export const CLI = fileURLToPath(
  new URL('../../packages/cli/bin/backrest-sidecar.js', import.meta.url),
);
export const RSS_HOOK = fileURLToPath(new URL('./plan-rss-hook.cjs', import.meta.url));
export const BUSYBOX = 'dockop/busybox:local';
export const docker = new Docker();

export function runTag(): string {
  return `b${Date.now().toString(36)}`;
}

export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? NaN;
}

export async function tempConfig(): Promise<{ dir: string; file: string }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'bench-plan-'));
  const file = path.join(dir, 'config.json');
  await writeFile(
    file,
    `${JSON.stringify({ repos: [{ id: 'default', type: 'local', url: '/repo' }], plans: [] })}\n`,
  );
  return { dir, file };
}

export interface Daemon {
  child: ChildProcess;
  /** Every JSON log line so far, with the local receive time. */
  lines: { at: number; line: Record<string, unknown> }[];
  stop(): Promise<void>;
}

/** Extra Node flags for the daemon under test, e.g. `DAEMON_NODE_ARGS=--cpu-prof` (space-separated). */
const DAEMON_NODE_ARGS = (process.env.DAEMON_NODE_ARGS ?? '').split(' ').filter(Boolean);

/**
 * The daemon command line every daemon bench starts from: `config`, `--with-events`, and the run
 * `tag`'s containers only (`--selector dockop.bench.run=<tag>`, plan ids prefixed `<tag>_`).
 */
export function daemonScope(config: string, tag: string): string[] {
  return [
    '--config',
    config,
    '--with-events',
    '--selector',
    `dockop.bench.run=${tag}`,
    '--plan-id-prefix',
    `${tag}_`,
  ];
}

/** `nodeArgs`: Node flags of this run, after `DAEMON_NODE_ARGS`. */
export function startDaemon(args: string[], nodeArgs: string[] = []): Daemon {
  const child = spawn(
    process.execPath,
    [...DAEMON_NODE_ARGS, ...nodeArgs, CLI, 'daemon', ...args],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const lines: Daemon['lines'] = [];
  let buf = '';
  // Log lines are on stderr (stdout is for command output).
  child.stderr!.on('data', (d: Buffer) => {
    buf += d.toString();
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const text = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      try {
        lines.push({ at: performance.now(), line: JSON.parse(text) as Record<string, unknown> });
      } catch {
        // not JSON
      }
    }
  });
  child.stdout!.on('data', () => undefined);
  return {
    child,
    lines,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

export async function waitFor(
  cond: () => boolean | Promise<boolean>,
  timeoutMs: number,
  stepMs = 5,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await cond())) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

export async function removeByLabel(label: string): Promise<void> {
  const found = await docker.listContainers({ all: true, filters: { label: [label] } });
  for (let i = 0; i < found.length; i += 50) {
    await Promise.all(
      found.slice(i, i + 50).map((c) =>
        docker
          .getContainer(c.Id)
          .remove({ force: true, v: true })
          .catch(() => undefined),
      ),
    );
  }
}

/**
 * A bench workload's labels: `suite` (the bench's sweep label), `dockop.bench.run=<tag>`,
 * `backrest.enable=true`, the tag as compose project and `service` as compose service.
 */
export function workloadLabels(
  suite: Readonly<Record<string, string>>,
  tag: string,
  service: string,
): Record<string, string> {
  return {
    ...suite,
    'dockop.bench.run': tag,
    'backrest.enable': 'true',
    'com.docker.compose.project': tag,
    'com.docker.compose.service': service,
  };
}

/** utime + stime of a process in seconds (Linux /proc; clock ticks are 100 Hz on Linux). */
export async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which is in parentheses and may contain spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Resident set size of a process in KiB (VmRSS of /proc/<pid>/status). */
export async function rssKb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
}

/**
 * Creates `count` labeled workloads of the bench run `tag`, `batch` (50) at a time: busybox
 * `sleep`, `backrest.enable=true`, the tag as compose project, `s<i>` as service, a bind mount
 * `/srv/<tag>/<i>:/data`, named `<tag>-<prefix><i>` (prefix `w`), with `suite` (the bench's sweep
 * label) and `dockop.bench.run=<tag>` (`workloadLabels`). `start`: started too (created only by
 * default).
 */
export async function createWorkloads(
  tag: string,
  count: number,
  suite: Readonly<Record<string, string>>,
  options: { start?: boolean; batch?: number; prefix?: string } = {},
): Promise<void> {
  const batch = options.batch ?? 50;
  for (let i = 0; i < count; i += batch) {
    await Promise.all(
      Array.from({ length: Math.min(batch, count - i) }, async (_, j) => {
        const c = await createContainer(docker, {
          name: `${tag}-${options.prefix ?? 'w'}${i + j}`,
          Image: BUSYBOX,
          Cmd: ['sleep', '3600'],
          Labels: workloadLabels(suite, tag, `s${i + j}`),
          HostConfig: { NetworkMode: 'none', Binds: [`/srv/${tag}/${i + j}:/data`] },
        });
        if (options.start) await c.start();
      }),
    );
  }
}

/** On every container the plan benches create, so a run that died (engine restart) is swept. */
export const SUITE_LABEL = { 'dockop.bench.suite': 'plan' } as const;

/** Removes containers left by an earlier plan bench run that could not clean up. */
export async function sweepStale(): Promise<void> {
  await removeByLabel('dockop.bench.suite=plan');
}

/** Median wall time of `node -e 0` (bare Node start-up on this machine, now) in `env`. */
export function bareNodeMs(rounds = 5, env: NodeJS.ProcessEnv = process.env): number {
  const xs: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const t0 = performance.now();
    spawnSync(process.execPath, ['-e', '0'], { stdio: 'ignore', env });
    xs.push(performance.now() - t0);
  }
  return percentile(xs, 50);
}

/**
 * `NODE_EXTRA_CA_CERTS` when this environment sets it. Node 20 reads that file (and builds its
 * whole root store) at every process start, before any JavaScript runs; Node 22 and later do it
 * at the first TLS connection. A machine behind a TLS-inspecting proxy sets it for everything
 * (this one: ~90 ms of every `node -e 0`). The benches measure in the environment they are
 * given, and, when it is set, also without it: what a host that does not set it pays.
 */
export const EXTRA_CA_CERTS = process.env.NODE_EXTRA_CA_CERTS;

/** This environment without `NODE_EXTRA_CA_CERTS`. */
export function envWithoutExtraCa(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  return env;
}

/**
 * Busy share of all CPUs over `ms` (from /proc/stat: everything but idle; time waiting for the
 * disk counts as busy, as removing and starting containers is mostly disk work), and whether
 * any process is blocked on I/O at the end of the window.
 */
async function cpuBusy(ms: number): Promise<{ busy: number; blocked: number }> {
  const read = async (): Promise<{ busy: number; total: number; blocked: number }> => {
    const lines = (await readFile('/proc/stat', 'utf8')).split('\n');
    const t = lines[0]!.trim().split(/\s+/).slice(1).map(Number);
    const total = t.reduce((a, b) => a + b, 0);
    const blocked = Number(lines.find((l) => l.startsWith('procs_blocked '))?.split(' ')[1] ?? 0);
    return { busy: total - (t[3] ?? 0), total, blocked };
  };
  const a = await read();
  await new Promise((r) => setTimeout(r, ms));
  const b = await read();
  return {
    busy: b.total > a.total ? (b.busy - a.busy) / (b.total - a.total) : 0,
    blocked: b.blocked,
  };
}

/**
 * Waits until the machine is quiet: all CPUs together < `maxBusy` busy over a 2 s window and no
 * process blocked on I/O, or `maxMs`. Creating and starting hundreds of containers leaves dockerd,
 * containerd, the shims and the disk busy for a while after the last API call returns (load
 * average 17 with the CPUs idle); an operator's reconcile runs on a steady
 * host, so the figures are taken once that tail is over. Returns what it waited and saw.
 * `SETTLE_S` (default 60) bounds the wait; 0 skips it (the CI smoke run).
 */
export async function settle(
  maxBusy = 0.15,
  maxMs = Number(process.env.SETTLE_S ?? 60) * 1000,
): Promise<string> {
  const t0 = performance.now();
  if (maxMs <= 0) return 'not settled (SETTLE_S=0)';
  let seen = { busy: 1, blocked: 0 };
  while (performance.now() - t0 < maxMs) {
    seen = await cpuBusy(2_000);
    if (seen.busy < maxBusy && seen.blocked === 0) break;
  }
  return `settled ${((performance.now() - t0) / 1000).toFixed(0)} s (CPUs ${(seen.busy * 100).toFixed(0)} % busy or waiting for the disk over the last 2 s, ${seen.blocked} blocked)`;
}

/** `load average: 1m 5m 15m` of this (shared) machine, printed beside every figure. */
export function loadText(): string {
  return `load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`;
}

/** What `runMeasured` reports of one process. */
export interface Measured {
  code: number | null;
  ms: number;
  rssKb: number;
  cpuMs: number;
  minflt: number;
  stderr: string;
}

/**
 * Runs Node with `nodeArgs` and the peak-RSS hook in `env`: wall time from spawn to exit, peak
 * RSS, CPU time and minor page faults (the hook's), stderr.
 */
function runMeasured(nodeArgs: string[], env: NodeJS.ProcessEnv): Promise<Measured> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, ['--require', RSS_HOOK, ...nodeArgs], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env,
    });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const m = /PEAK_RSS_KB=(\d+)/.exec(stderr);
      const cpu = /CPU_MS=(\d+)/.exec(stderr);
      const minflt = /MINFLT=(\d+)/.exec(stderr);
      resolve({
        code,
        ms: performance.now() - t0,
        rssKb: Number(m?.[1] ?? NaN),
        cpuMs: Number(cpu?.[1] ?? NaN),
        minflt: Number(minflt?.[1] ?? NaN),
        stderr,
      });
    });
  });
}

/** Runs the CLI with the peak-RSS hook in `env`: wall time from spawn to exit, peak RSS, stderr. */
export function runCliMeasured(
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<Measured> {
  return runMeasured([CLI, ...args], env);
}

/** CPU time and minor page faults of `node -e 0`: the floor of a process's figures. */
export function bareNodeUsage(env: NodeJS.ProcessEnv = process.env): {
  cpuMs: number;
  minflt: number;
} {
  const r = spawnSync(process.execPath, ['--require', RSS_HOOK, '-e', '0'], {
    encoding: 'utf8',
    env,
  });
  return {
    cpuMs: Number(/CPU_MS=(\d+)/.exec(r.stderr)?.[1] ?? NaN),
    minflt: Number(/MINFLT=(\d+)/.exec(r.stderr)?.[1] ?? NaN),
  };
}

/**
 * What a fresh Node process does for the raw work of a one-shot reconcile, and nothing else: one
 * label-filtered list over the engine's unix socket, `JSON.parse` of the answer, and one atomic
 * write (tmp + fsync + rename) of the bytes of `bytesFile` to `target`. The in-process baseline
 * runs warm, in this bench's own grown heap; a CLI starts with none, and grows it as it reads the
 * answer (each fresh 4 KiB page a fault: `pageTouchUs`). Measured as `runCliMeasured` measures the
 * CLI: wall time from spawn to exit, with its minor page faults.
 */
export async function runFreshRawMeasured(
  socketPath: string,
  filters: string,
  bytesFile: string,
  target: string,
): Promise<{ ms: number; minflt: number; listed: number }> {
  const script = `const http = require('node:http'); const fs = require('node:fs');
const [sock, filters, src, dst] = process.argv.slice(1);
http.get({ socketPath: sock, path: '/containers/json?all=true&filters=' + encodeURIComponent(filters) }, (res) => {
  const chunks = []; res.on('data', (c) => chunks.push(c));
  res.on('end', () => {
    const list = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    const tmp = dst + '.new'; const fd = fs.openSync(tmp, 'w');
    fs.writeSync(fd, fs.readFileSync(src)); fs.fsyncSync(fd); fs.closeSync(fd); fs.renameSync(tmp, dst);
    process.stderr.write('LISTED=' + list.length + '\\n');
  });
});`;
  const r = await runMeasured(['-e', script, socketPath, filters, bytesFile, target], process.env);
  const listed = /LISTED=(\d+)/.exec(r.stderr);
  if (r.code !== 0 || !listed) {
    throw new Error(`the raw-work process exited ${r.code}: ${r.stderr.slice(-2000)}`);
  }
  return { ms: r.ms, minflt: r.minflt, listed: Number(listed[1]) };
}

/**
 * Microseconds a first touch of a 4 KiB page costs on this machine: a fresh Node process fills
 * 64 MiB it has just allocated (untouched until then), median of `rounds`. A process pays it for
 * every page its heap grows by; on our VMs it is ~20 µs, where bare metal takes well under 1 µs.
 */
export function pageTouchUs(rounds = 3): number {
  const script = `const b = Buffer.allocUnsafeSlow(64 << 20); const t = process.hrtime.bigint();
b.fill(1); process.stdout.write(String(Number(process.hrtime.bigint() - t) / 1000 / 16384));`;
  const xs: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
    xs.push(Number(r.stdout));
  }
  return percentile(xs, 50);
}
