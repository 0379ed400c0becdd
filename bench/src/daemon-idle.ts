// The daemon at rest and under churn, with `--with-events`:
//  1. idle CPU: COUNT (500) created labeled containers, daemon synced, then IDLE_S (300 s) of
//     nothing: CPU time of the daemon process (/proc/<pid>/stat) as % of one core [target ≤ 0.2 %];
//  2. RSS over CYCLES (1,000) create/destroy cycles of a labeled container: VmRSS sampled every
//     tenth of the run; the figure is the change from the first sample to the last [target ±5 %].
// Run: npm run build && node bench/dist/daemon-idle.js   (COUNT, IDLE_S, CYCLES to change sizes)
import { readFile, rm } from 'node:fs/promises';
import { createContainer } from '@dockop/docker';
import {
  BUSYBOX,
  SUITE_LABEL,
  docker,
  loadText,
  removeByLabel,
  runTag,
  startDaemon,
  sweepStale,
  tempConfig,
  waitFor,
} from './plan-bench-support.js';

const COUNT = Number(process.env.COUNT ?? 500);
const IDLE_S = Number(process.env.IDLE_S ?? 300);
const CYCLES = Number(process.env.CYCLES ?? 1000);
/**
 * `--orphan-grace` of the daemon; default its own (10 min). Each destroyed container's plan is
 * kept that long by design, so with the default the config holds up to COUNT + CYCLES plans at
 * the end of the churn: `ORPHAN_GRACE=1s` measures what the daemon retains beyond its config.
 */
const ORPHAN_GRACE = process.env.ORPHAN_GRACE;
const BATCH = 10;

/** utime + stime of a process in seconds (Linux /proc; clock ticks are 100 Hz on Linux). */
async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which is in parentheses and may contain spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function rssKb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
}

function labels(tag: string, service: string): Record<string, string> {
  return {
    ...SUITE_LABEL,
    'dockop.bench.run': tag,
    'backrest.enable': 'true',
    'com.docker.compose.project': tag,
    'com.docker.compose.service': service,
  };
}

async function main(): Promise<void> {
  await sweepStale();
  const tag = runTag();
  const label = `dockop.bench.run=${tag}`;
  const { dir, file } = await tempConfig();
  for (let i = 0; i < COUNT; i += 50) {
    await Promise.all(
      Array.from({ length: Math.min(50, COUNT - i) }, (_, j) =>
        createContainer(docker, {
          name: `${tag}-w${i + j}`,
          Image: BUSYBOX,
          Cmd: ['sleep', '3600'],
          Labels: labels(tag, `s${i + j}`),
          HostConfig: { NetworkMode: 'none', Binds: [`/srv/${tag}/${i + j}:/data`] },
        }),
      ),
    );
  }
  const daemon = startDaemon([
    '--config',
    file,
    '--with-events',
    '--selector',
    label,
    '--plan-id-prefix',
    `${tag}_`,
    ...(ORPHAN_GRACE ? ['--orphan-grace', ORPHAN_GRACE] : []),
  ]);
  try {
    const pid = daemon.child.pid!;
    await waitFor(
      () =>
        daemon.lines.some(
          (l) => l.line.action === 'config.written' || l.line.action === 'config.unchanged',
        ),
      120_000,
    );
    // Let the start-up work (first write, JIT, GC) settle before measuring rest.
    await new Promise((r) => setTimeout(r, 2_000));
    const c0 = await cpuSeconds(pid);
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, IDLE_S * 1000));
    const idleCpu = (await cpuSeconds(pid)) - c0;
    const idleWall = (performance.now() - t0) / 1000;
    console.log(
      `daemon-idle: ${COUNT} labeled containers, --with-events, orphan grace ${ORPHAN_GRACE ?? 'default'}; ${loadText()}`,
    );
    console.log(
      `  idle CPU over ${idleWall.toFixed(0)} s: ${idleCpu.toFixed(2)} s = ${((100 * idleCpu) / idleWall).toFixed(3)} % of a core  [target ≤ 0.2 %]`,
    );

    const samples: { cycle: number; kb: number }[] = [];
    const every = Math.max(BATCH, Math.round(CYCLES / 10 / BATCH) * BATCH);
    for (let cycle = 0; cycle < CYCLES; cycle += BATCH) {
      await Promise.all(
        Array.from({ length: Math.min(BATCH, CYCLES - cycle) }, async (_, j) => {
          const c = await createContainer(docker, {
            name: `${tag}-churn${cycle + j}`,
            Image: BUSYBOX,
            Cmd: ['sleep', '3600'],
            Labels: labels(tag, `churn${cycle + j}`),
            HostConfig: { NetworkMode: 'none' },
          });
          await c.remove({ force: true });
        }),
      );
      if ((cycle + BATCH) % every === 0 || cycle + BATCH >= CYCLES) {
        samples.push({ cycle: Math.min(cycle + BATCH, CYCLES), kb: await rssKb(pid) });
      }
      if (daemon.child.exitCode !== null) throw new Error(`daemon exited ${daemon.child.exitCode}`);
    }
    const first = samples[0]!.kb;
    const last = samples.at(-1)!.kb;
    console.log(
      `  RSS over ${CYCLES} create/destroy cycles: ${samples.map((s) => `${s.cycle}:${Math.round(s.kb / 1024)}`).join(' ')} MiB`,
    );
    console.log(
      `  RSS change first → last sample: ${(((last - first) / first) * 100).toFixed(1)} %  [target ±5 %]; ${loadText()}`,
    );
  } finally {
    await daemon.stop();
    await removeByLabel(label);
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
