// Latency from `docker run` of a labeled container to its plan on disk, with the daemon running
// (`--with-events`): p50/p95 over RUNS (default 20). The daemon's debounce (leading edge: a lone
// change goes at once; a burst is merged, at most 100 ms apart) is part of what is measured.
// Run: npx tsc -b && node bench/dist/plan-latency.js
import { readFile, rm } from 'node:fs/promises';
import {
  BUSYBOX,
  docker,
  percentile,
  removeByLabel,
  runTag,
  startDaemon,
  tempConfig,
  waitFor,
  SUITE_LABEL,
  sweepStale,
  daemonScope,
} from './plan-bench-support.js';
import { createContainer } from '@dockop/docker';

const RUNS = Number(process.env.RUNS ?? 20);

async function main(): Promise<void> {
  await sweepStale();
  const tag = runTag();
  const label = `dockop.bench.run=${tag}`;
  const prefix = `${tag}_`;
  const { dir, file } = await tempConfig();
  const daemon = startDaemon(daemonScope(file, tag));
  const latencies: number[] = [];
  try {
    await waitFor(
      () =>
        daemon.lines.some(
          (l) => l.line.action === 'config.unchanged' || l.line.action === 'config.written',
        ),
      60_000,
    );
    for (let i = 0; i < RUNS; i++) {
      const name = `${tag}-w${i}`;
      const id = `${prefix}${name}`;
      const t0 = performance.now();
      const c = await createContainer(docker, {
        name,
        Image: BUSYBOX,
        Cmd: ['sleep', '3600'],
        Labels: { ...SUITE_LABEL, 'dockop.bench.run': tag, 'backrest.enable': 'true' },
        HostConfig: { NetworkMode: 'none', Binds: [`/srv/${name}:/data`] },
      });
      await c.start();
      await waitFor(async () => (await readFile(file, 'utf8')).includes(`"${id}"`), 30_000, 2);
      latencies.push(performance.now() - t0);
    }
  } finally {
    await daemon.stop();
    await removeByLabel(label);
    await rm(dir, { recursive: true, force: true });
  }
  const r = (n: number) => Math.round(n);
  console.log(
    `plan-latency: ${RUNS} runs, docker run → plan on disk (daemon --with-events, debounce quiet 500 ms)`,
  );
  console.log(
    `  p50 ${r(percentile(latencies, 50))} ms   p95 ${r(percentile(latencies, 95))} ms   min ${r(Math.min(...latencies))} ms   max ${r(Math.max(...latencies))} ms`,
  );
}

await main();
