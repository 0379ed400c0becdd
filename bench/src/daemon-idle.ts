// The daemon at rest and under churn, run as operators run it (the installed binary,
// `daemon --with-events --apply` against a stand-in Backrest container; `SCHEDULE=<cron>` adds
// `--backup-schedule`, so the backup controller's runs are scheduled too):
//  1. idle CPU: COUNT (500) created labeled containers, daemon synced, then IDLE_S (300 s) of
//     nothing: CPU time of the daemon process (/proc/<pid>/stat) as % of one core [target ≤ 0.2 %].
//     Baseline in the same window: a bare Node process holding Docker's events stream open;
//  2. RSS over CYCLES (1,000) create/destroy cycles of a labeled container: VmRSS sampled every
//     tenth of the run; the figure is the change from the first sample to the last [target ±5 %].
//     Also after every batch of 10 cycles: the level (median) of the first and of the last tenth
//     of those samples, their lowest and highest, and the slope (see rssLevelText). With
//     POST_GRACE_S, RSS again that long after the churn (the orphan grace over: the
//     destroyed containers' plans are gone from the config). With HEAP=1, also the heap the daemon
//     retains: after a full GC at each sample (daemon-heap-hook.cts). A leak grows it; V8 sizing
//     its heap to the allocation rate grows RSS only. The GCs make RSS lower than without HEAP.
//     With PROMOTED=1, where what outlived the young generation during the churn was allocated.
//     Also printed: the daemon's CPU over the churn (what a memory setting costs in work).
// Run: npm run build && node bench/dist/daemon-idle.js   (COUNT, IDLE_S, CYCLES to change sizes)
import { spawn } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { SourceMap } from 'node:module';
import { fileURLToPath } from 'node:url';
import { createContainer } from '@dockop/docker';
import {
  BUSYBOX,
  percentile,
  cpuSeconds,
  createWorkloads,
  docker,
  loadText,
  removeByLabel,
  rssKb,
  runTag,
  startDaemon,
  tempConfig,
  waitFor,
  daemonScope,
  workloadLabels,
} from './plan-bench-support.js';

// Its own suite label: the other plan benches sweep `dockop.bench.suite=plan` when they start,
// which would remove this bench's containers mid-run on a shared engine (and it theirs).
const SUITE_LABEL = { 'dockop.bench.suite': 'daemon-idle' } as const;

const COUNT = Number(process.env.COUNT ?? 500);
const IDLE_S = Number(process.env.IDLE_S ?? 300);
const CYCLES = Number(process.env.CYCLES ?? 1000);
/**
 * `--orphan-grace` of the daemon; default its own (10 min). Each destroyed container's plan is
 * kept that long by design, so with the default the config holds up to COUNT + CYCLES plans at
 * the end of the churn: `ORPHAN_GRACE=1s` measures what the daemon retains beyond its config.
 */
const ORPHAN_GRACE = process.env.ORPHAN_GRACE;
/** `--backup-schedule` of the daemon (e.g. `0 3 * * *`); default none (status refresh only). */
const SCHEDULE = process.env.SCHEDULE;
/** `APPLY=0`: no `--apply` and no stand-in Backrest. Default on, as operators run it. */
const APPLY = process.env.APPLY !== '0';
/** Seconds to wait after the churn before a last RSS sample (0: none). */
const POST_GRACE_S = Number(process.env.POST_GRACE_S ?? 0);
const BATCH = 10;
/** `--log-level` of the daemon (e.g. `debug`, to see what it does at rest; costs CPU itself). */
const LOG_LEVEL = process.env.LOG_LEVEL;
/** `HEAP=1`: sample the daemon's heap after a full GC beside RSS (see above). Default off. */
const HEAP = process.env.HEAP === '1';
const HEAP_HOOK = fileURLToPath(new URL('./daemon-heap-hook.cjs', import.meta.url));
/**
 * `PROMOTED=1`: where what outlives the young generation during the churn was allocated (the
 * allocations old space grows by), the top sites through the bundle's source map
 * (daemon-promoted-hook.cts). Not with HEAP=1, whose forced GCs would collect it first.
 */
const PROMOTED = process.env.PROMOTED === '1' && !HEAP;
const PROMOTED_HOOK = fileURLToPath(new URL('./daemon-promoted-hook.cjs', import.meta.url));
const CLI_BUNDLE = fileURLToPath(
  new URL('../../packages/cli/dist/backrest-sidecar.bundle.cjs', import.meta.url),
);

/**
 * The floor of any `--with-events` daemon: a bare Node process with Docker's events stream
 * open and nothing else (no modules of ours loaded).
 */
function startBaseline() {
  // Reconnects when the stream ends (an engine restart), as the daemon does.
  const code = `const open = () => require('node:http').get({ socketPath: '/var/run/docker.sock', path: '/events?filters=' + encodeURIComponent(JSON.stringify({ type: ['container'] })) }, (res) => { res.resume(); res.on('end', () => setTimeout(open, 500)); }).on('error', () => setTimeout(open, 500)); open(); setInterval(() => {}, 1 << 30);`;
  return spawn(process.execPath, ['-e', code], { stdio: 'ignore' });
}

/** Resolves once the process used < 10 ms of CPU over 3 s, or after `maxMs`. */
async function settled(pid: number, maxMs: number): Promise<void> {
  const deadline = performance.now() + maxMs;
  let last = await cpuSeconds(pid);
  while (performance.now() < deadline) {
    await new Promise((r) => setTimeout(r, 3_000));
    const now = await cpuSeconds(pid);
    if (now - last < 0.01) return;
    last = now;
  }
  console.log(`  note: the daemon was still busy ${maxMs / 1000} s after its first write`);
}

/**
 * RSS sampled after every batch of the churn, as levels: the median of the first and of the last
 * tenth of the samples and their change [the ±5 % target read as a level], the lowest and highest
 * sample (the sawtooth's height), and the least-squares slope over all samples (MiB per 1,000
 * cycles: a leak climbs, a sawtooth does not).
 */
function rssLevelText(dense: readonly { cycle: number; kb: number }[]): string {
  if (dense.length < 2) return 'RSS levels: too few samples';
  // A tenth of the samples at each end (at least one): 10 of the 100 a 1,000-cycle churn takes.
  const k = Math.max(1, Math.round(dense.length / 10));
  const head = dense.slice(0, k).map((s) => s.kb);
  const tail = dense.slice(-k).map((s) => s.kb);
  const first = percentile(head, 50);
  const last = percentile(tail, 50);
  const kbs = dense.map((s) => s.kb);
  const n = dense.length;
  const mx = dense.reduce((a, s) => a + s.cycle, 0) / n;
  const my = kbs.reduce((a, kb) => a + kb, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (const s of dense) {
    sxy += (s.cycle - mx) * (s.kb - my);
    sxx += (s.cycle - mx) ** 2;
  }
  const slope = sxx > 0 ? (sxy / sxx) * 1000 : 0;
  const mib = (kb: number): string => (kb / 1024).toFixed(1);
  return (
    `RSS every ${dense[0]!.cycle} cycles (${n} samples): level of the first tenth ${mib(first)} MiB (median of ${head.length}), ` +
    `of the last tenth ${mib(last)} MiB (median of ${tail.length}): ${(((last - first) / first) * 100).toFixed(1)} %  [target ±5 %, as a level]; ` +
    `lowest ${mib(Math.min(...kbs))}, highest ${mib(Math.max(...kbs))} MiB; slope ${(slope / 1024).toFixed(2)} MiB per 1,000 cycles`
  );
}

async function main(): Promise<void> {
  await removeByLabel('dockop.bench.suite=daemon-idle');
  const tag = runTag();
  const label = `dockop.bench.run=${tag}`;
  const { dir, file } = await tempConfig();
  const backrest = `${tag}-backrest`;
  if (APPLY) {
    // Exits on SIGTERM as Backrest does.
    const c = await createContainer(docker, {
      name: backrest,
      Image: BUSYBOX,
      Cmd: ['sh', '-c', "trap 'exit 0' TERM; sleep 3600 & wait"],
      Labels: { ...SUITE_LABEL, 'dockop.bench.run': tag },
      HostConfig: { NetworkMode: 'none', Binds: [`${dir}:/config`] },
    });
    await c.start();
  }
  await createWorkloads(tag, COUNT, SUITE_LABEL);
  // The hook writes its profile here when the daemon stops (read before `dir` is removed).
  const promotedOut = path.join(dir, 'promoted.heapprofile');
  if (PROMOTED) process.env['PROMOTED_OUT'] = promotedOut;
  const daemon = startDaemon(
    [
      ...daemonScope(file, tag),
      ...(ORPHAN_GRACE ? ['--orphan-grace', ORPHAN_GRACE] : []),
      ...(APPLY ? ['--apply', '--backrest-container', backrest] : []),
      ...(SCHEDULE ? ['--backup-schedule', SCHEDULE] : []),
      '--state-dir',
      path.join(dir, 'state'),
      ...(LOG_LEVEL ? ['--log-level', LOG_LEVEL] : []),
    ],
    HEAP ? ['--expose-gc', '--require', HEAP_HOOK] : PROMOTED ? ['--require', PROMOTED_HOOK] : [],
  );
  const baseline = startBaseline();
  try {
    const pid = daemon.child.pid!;
    await waitFor(
      () =>
        daemon.lines.some(
          (l) => l.line.action === 'config.written' || l.line.action === 'config.unchanged',
        ),
      120_000,
    );
    // Let the start-up work settle before measuring rest: the first write, JIT and GC, and the
    // backup controller's first status file per workload (COUNT atomic writes, seconds on a busy
    // machine). Settled: under 10 ms of CPU in 3 s (bounded: 120 s, then measured anyway).
    await settled(pid, 120_000);
    const c0 = await cpuSeconds(pid);
    const b0 = await cpuSeconds(baseline.pid!);
    const t0 = performance.now();
    const linesBefore = daemon.lines.length;
    await new Promise((r) => setTimeout(r, IDLE_S * 1000));
    const idleCpu = (await cpuSeconds(pid)) - c0;
    const baseCpu = (await cpuSeconds(baseline.pid!)) - b0;
    const idleWall = (performance.now() - t0) / 1000;
    const pct = (cpu: number) => `${((100 * cpu) / idleWall).toFixed(3)} %`;
    console.log(
      `daemon-idle: ${COUNT} labeled containers, --with-events${APPLY ? ' --apply' : ''}${SCHEDULE ? ` --backup-schedule '${SCHEDULE}'` : ''}, orphan grace ${ORPHAN_GRACE ?? 'default'}; ${loadText()}`,
    );
    // What the daemon logged while at rest (a diagnosis of the CPU figure): actions per minute.
    const idleLines = daemon.lines.slice(linesBefore).filter((l) => l.at <= t0 + idleWall * 1000);
    const perMinute = new Map<number, Map<string, number>>();
    for (const { at, line } of idleLines) {
      const minute = Math.floor((at - t0) / 60_000);
      const counts = perMinute.get(minute) ?? new Map<string, number>();
      const what =
        typeof line.controller === 'string'
          ? `${String(line.action)} (${line.controller})`
          : String(line.action);
      counts.set(what, (counts.get(what) ?? 0) + 1);
      perMinute.set(minute, counts);
    }
    console.log(
      `  log lines while idle: ${idleLines.length}${[...perMinute]
        .map(
          ([m, counts]) =>
            `; minute ${m + 1}: ${[...counts]
              .sort((a, b) => b[1] - a[1])
              .slice(0, 4)
              .map(([a, n]) => `${a} ×${n}`)
              .join(', ')}`,
        )
        .join('')}`,
    );
    const reconnects = daemon.lines.filter((l) => l.line.action === 'docker.stream.reconnecting');
    if (reconnects.length > 0) {
      console.log(
        `  note: the events stream reconnected ${reconnects.length} time(s) (engine restarted?)`,
      );
    }
    console.log(
      `  idle CPU over ${idleWall.toFixed(0)} s: ${idleCpu.toFixed(2)} s = ${pct(idleCpu)} of a core  [target ≤ 0.2 %]; ` +
        `baseline (bare node, events stream open) ${baseCpu.toFixed(2)} s = ${pct(baseCpu)}; RSS ${Math.round((await rssKb(pid)) / 1024)} MiB, baseline ${Math.round((await rssKb(baseline.pid!)) / 1024)} MiB`,
    );

    /** Heap used after a full GC, bytes (HEAP=1): signals the hook, waits for its line. */
    const heapUsed = async (): Promise<number> => {
      const seen = daemon.lines.length;
      daemon.child.kill('SIGUSR2');
      let found: Record<string, unknown> | undefined;
      await waitFor(() => {
        found = daemon.lines.slice(seen).find((l) => l.line.action === 'bench.heap')?.line;
        return found !== undefined;
      }, 60_000);
      return Number(found!['heap_used']);
    };
    const samples: { cycle: number; kb: number; heap?: number }[] = [];
    // RSS after every batch as well, for rssLevelText: one sample at each end lands anywhere on
    // V8's old-space sawtooth (ADR 0010).
    const dense: { cycle: number; kb: number }[] = [];
    if (PROMOTED) {
      const seen = daemon.lines.length;
      daemon.child.kill('SIGUSR2');
      await waitFor(
        () => daemon.lines.slice(seen).some((l) => l.line.action === 'bench.promoted.started'),
        10_000,
      );
    }
    // The daemon's CPU over the churn: what a memory setting costs in work (HEAP=1 adds its GCs).
    const churnCpu0 = await cpuSeconds(pid);
    const churnT0 = performance.now();
    const every = Math.max(BATCH, Math.round(CYCLES / 10 / BATCH) * BATCH);
    for (let cycle = 0; cycle < CYCLES; cycle += BATCH) {
      await Promise.all(
        Array.from({ length: Math.min(BATCH, CYCLES - cycle) }, async (_, j) => {
          const c = await createContainer(docker, {
            name: `${tag}-churn${cycle + j}`,
            Image: BUSYBOX,
            Cmd: ['sleep', '3600'],
            Labels: workloadLabels(SUITE_LABEL, tag, `churn${cycle + j}`),
            HostConfig: { NetworkMode: 'none' },
          });
          await c.remove({ force: true });
        }),
      );
      const done = Math.min(cycle + BATCH, CYCLES);
      const kb = await rssKb(pid);
      dense.push({ cycle: done, kb });
      if (done % every === 0 || done === CYCLES) {
        samples.push({
          cycle: done,
          kb,
          ...(HEAP ? { heap: await heapUsed() } : {}),
        });
      }
      if (daemon.child.exitCode !== null) throw new Error(`daemon exited ${daemon.child.exitCode}`);
    }
    const churnCpu = (await cpuSeconds(pid)) - churnCpu0;
    const churnWall = (performance.now() - churnT0) / 1000;
    if (samples.length === 0) return;
    const first = samples[0]!.kb;
    const last = samples.at(-1)!.kb;
    console.log(
      `  RSS over ${CYCLES} create/destroy cycles: ${samples.map((s) => `${s.cycle}:${Math.round(s.kb / 1024)}`).join(' ')} MiB`,
    );
    console.log(
      `  RSS change first → last sample: ${(((last - first) / first) * 100).toFixed(1)} %  [target ±5 %]; ${loadText()}`,
    );
    console.log(`  ${rssLevelText(dense)}`);
    console.log(
      `  daemon CPU over the churn: ${churnCpu.toFixed(2)} s in ${churnWall.toFixed(1)} s (${((100 * churnCpu) / churnWall).toFixed(0)} % of a core)`,
    );
    if (HEAP) {
      const h0 = samples[0]!.heap!;
      const h1 = samples.at(-1)!.heap!;
      console.log(
        `  heap used after a full GC: ${samples.map((s) => `${s.cycle}:${(s.heap! / 2 ** 20).toFixed(1)}`).join(' ')} MiB; first → last ${(((h1 - h0) / h0) * 100).toFixed(1)} %`,
      );
    }
    if (POST_GRACE_S > 0) {
      await new Promise((r) => setTimeout(r, POST_GRACE_S * 1000));
      const after = await rssKb(pid);
      const plans = ((await readFile(file, 'utf8')).match(/"id":/g) ?? []).length;
      console.log(
        `  RSS ${POST_GRACE_S} s after the churn: ${Math.round(after / 1024)} MiB = ${(((after - first) / first) * 100).toFixed(1)} % from the first sample  [target ±5 %]; ${plans} ids in the config; ${loadText()}`,
      );
    }
  } finally {
    baseline.kill();
    await daemon.stop();
    if (PROMOTED) console.log(await promotedReport(promotedOut));
    await removeByLabel(label);
    await rm(dir, { recursive: true, force: true });
  }
}

interface HeapProfileNode {
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  selfSize: number;
  children: HeapProfileNode[];
}

/**
 * PROMOTED=1's report: the sampled bytes that outlived a scavenge during the churn, by the
 * nearest frame of the bundle (mapped to its source line), largest first.
 */
async function promotedReport(file: string): Promise<string> {
  const text = await readFile(file, 'utf8').catch(() => undefined);
  if (text === undefined) return '  promoted: the daemon wrote no profile';
  const head = (JSON.parse(text) as { head: HeapProfileNode }).head;
  const map = new SourceMap(JSON.parse(await readFile(`${CLI_BUNDLE}.map`, 'utf8')) as never);
  const bySite = new Map<string, number>();
  let total = 0;
  const walk = (node: HeapProfileNode, site: string): void => {
    const f = node.callFrame;
    if (f.url.endsWith('.bundle.cjs')) {
      const e = map.findEntry(f.lineNumber, f.columnNumber) as {
        originalSource?: string;
        originalLine?: number;
      };
      if (e.originalSource) {
        const src = e.originalSource.split('/').slice(-3).join('/');
        site = `${f.functionName || '(anonymous)'} ${src}:${(e.originalLine ?? 0) + 1}`;
      }
    }
    total += node.selfSize;
    if (node.selfSize > 0) bySite.set(site, (bySite.get(site) ?? 0) + node.selfSize);
    for (const c of node.children) walk(c, site);
  };
  walk(head, '(outside the bundle)');
  const mib = (n: number): string => (n / 2 ** 20).toFixed(2);
  const top = [...bySite]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 15)
    .map(([site, bytes]) => `    ${mib(bytes).padStart(6)} MiB  ${site}`);
  return [
    `  allocated during the churn and outliving a scavenge (promoted, or still alive): ${mib(total)} MiB sampled; top sites:`,
    ...top,
  ].join('\n');
}

await main();
