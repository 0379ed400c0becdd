// A daemon (re)started on a host of COUNT (2,000) created labeled containers: time from spawn to
// the first config write (`daemon --with-events`, the installed bin), its CPU and RSS then, and its
// RSS a few seconds later, with the bin's own V8 flags for the daemon (compile-cache.cts
// `v8FlagsFor`: a young generation held at 1 MiB semi-spaces, memory-saving heap growth) against
// V8's defaults (`--no-optimize-for-size` on the command line, which the bin takes as the
// operator's choice and then sets none), interleaved, ROUNDS (5) each; medians, and the ratio.
// What the daemon's memory settings (docs/adr/0010-daemon-memory-under-churn.md) cost at start-up.
// Run: npm run build && node bench/dist/daemon-startup.js   (COUNT, ROUNDS; any node: the daemon
// runs under the node that runs this)
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  cpuSeconds,
  createWorkloads,
  loadText,
  percentile,
  removeByLabel,
  rssKb,
  runTag,
  settle,
  startDaemon,
  tempConfig,
  waitFor,
  daemonScope,
} from './plan-bench-support.js';

const SUITE_LABEL = { 'dockop.bench.suite': 'daemon-startup' } as const;
const COUNT = Number(process.env.COUNT ?? 2000);
const ROUNDS = Number(process.env.ROUNDS ?? 5);
/** Seconds after the first write at which RSS is sampled again (the start-up's garbage). */
const AFTER_S = 5;

interface Start {
  ms: number;
  cpuS: number;
  rssMiB: number;
  laterRssMiB: number;
}

async function procStat(pid: number): Promise<{ cpuS: number; rssMiB: number }> {
  return { cpuS: await cpuSeconds(pid), rssMiB: (await rssKb(pid)) / 1024 };
}

async function main(): Promise<void> {
  await removeByLabel('dockop.bench.suite=daemon-startup');
  const tag = runTag();
  const label = `dockop.bench.run=${tag}`;
  const { dir, file } = await tempConfig();
  const empty = await readFile(file);
  try {
    await createWorkloads(tag, COUNT, SUITE_LABEL);
    console.log(`daemon-startup: ${COUNT} labeled containers; ${await settle()}`);

    const start = async (nodeArgs: string[]): Promise<Start> => {
      // Every start writes the whole plan set: the config as it was before any daemon ran.
      await writeFile(file, empty);
      const t0 = performance.now();
      const daemon = startDaemon(
        [...daemonScope(file, tag), '--state-dir', path.join(dir, 'state')],
        nodeArgs,
      );
      try {
        await waitFor(() => daemon.lines.some((l) => l.line.action === 'config.written'), 120_000);
        const ms = performance.now() - t0;
        const at = await procStat(daemon.child.pid!);
        await new Promise((r) => setTimeout(r, AFTER_S * 1000));
        const later = await procStat(daemon.child.pid!);
        return { ms, cpuS: at.cpuS, rssMiB: at.rssMiB, laterRssMiB: later.rssMiB };
      } finally {
        await daemon.stop();
      }
    };
    // One of each first: the compile cache of each set of flags, the engine's first list.
    const defaults = ['--no-optimize-for-size'];
    await start([]);
    await start(defaults);
    const ours: Start[] = [];
    const v8: Start[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      ours.push(await start([]));
      v8.push(await start(defaults));
    }
    const med = (xs: Start[], k: keyof Start): number =>
      percentile(
        xs.map((x) => x[k]),
        50,
      );
    const line = (name: string, xs: Start[]): string =>
      `  ${name}: first write ${Math.round(med(xs, 'ms'))} ms, CPU ${med(xs, 'cpuS').toFixed(2)} s, RSS ${Math.round(med(xs, 'rssMiB'))} MiB, ${AFTER_S} s later ${Math.round(med(xs, 'laterRssMiB'))} MiB`;
    console.log(`  medians of ${ROUNDS} interleaved starts each; ${process.version}`);
    console.log(line("the bin's daemon flags", ours));
    console.log(line("V8's defaults (baseline)", v8));
    console.log(
      `  ratio, bin's flags / V8's defaults: time ${(med(ours, 'ms') / med(v8, 'ms')).toFixed(2)}x, CPU ${(med(ours, 'cpuS') / med(v8, 'cpuS')).toFixed(2)}x, RSS ${(med(ours, 'laterRssMiB') / med(v8, 'laterRssMiB')).toFixed(2)}x; ${loadText()}`,
    );
  } finally {
    await removeByLabel(label);
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
