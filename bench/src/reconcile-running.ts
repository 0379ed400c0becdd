// 200 running labeled containers → `reconcile --dry-run` as a whole process (spawn to exit), next
// to the raw work measured in the same run: one label-filtered `GET /containers/json`.
// Targets (issue #13): dry run ≤ 8× the raw list and ≤ 350 ms. When the environment sets
// NODE_EXTRA_CA_CERTS (Node 20 parses it at every start), the dry run is also timed without it.
// Run: npm run build && node bench/dist/reconcile-running.js   (COUNT=200, ROUNDS=9; SETTLE_S=60:
// the longest wait for the engine to go quiet after starting the containers, 0 for none)
import {
  createWorkloads,
  EXTRA_CA_CERTS,
  SUITE_LABEL,
  bareNodeUsage,
  bareNodeMs,
  docker,
  envWithoutExtraCa,
  loadText,
  percentile,
  removeByLabel,
  runCliMeasured,
  runTag,
  settle,
  sweepStale,
  tempConfig,
} from './plan-bench-support.js';
import { rm } from 'node:fs/promises';

const COUNT = Number(process.env.COUNT ?? 200);
const ROUNDS = Number(process.env.ROUNDS ?? 9);

async function main(): Promise<void> {
  await sweepStale();
  const tag = runTag();
  const label = `dockop.bench.run=${tag}`;
  const { dir, file } = await tempConfig();
  try {
    const tc = performance.now();
    await createWorkloads(tag, COUNT, SUITE_LABEL, { start: true, batch: 25, prefix: 'r' });
    console.log(
      `reconcile-running: ${COUNT} running labeled containers up in ${Math.round(performance.now() - tc)} ms`,
    );

    console.log(`  ${await settle()}`);
    const scope = ['--config', file, '--selector', label, '--plan-id-prefix', `${tag}_`];
    const cli: number[] = [];
    const cpu: number[] = [];
    const faults: number[] = [];
    const raw: number[] = [];
    const withoutCa: number[] = [];
    const cleanEnv = envWithoutExtraCa();
    // The bin's early list turned off: the program lists after it loads (what the early list gains).
    const withoutEarly: number[] = [];
    const noEarlyEnv = { ...process.env, BACKREST_SIDECAR_EARLY_LIST: '0' };
    let rssKb = 0;
    let listed = 0;
    await runCliMeasured(['reconcile', '--dry-run', ...scope]); // warm the page cache
    for (let i = 0; i < ROUNDS; i++) {
      // Interleaved, so a load change on the shared machine hits both alike.
      const r = await runCliMeasured(['reconcile', '--dry-run', ...scope]);
      if (r.code !== 2)
        throw new Error(`reconcile --dry-run exited ${r.code}: ${r.stderr.slice(-2000)}`);
      cli.push(r.ms);
      cpu.push(r.cpuMs);
      faults.push(r.minflt);
      rssKb = Math.max(rssKb, r.rssKb);
      const t0 = performance.now();
      const list = await docker.listContainers({
        all: true,
        filters: { label: ['backrest.enable=true', label] },
      });
      raw.push(performance.now() - t0);
      listed = list.length;
      if (EXTRA_CA_CERTS !== undefined) {
        const c = await runCliMeasured(['reconcile', '--dry-run', ...scope], cleanEnv);
        if (c.code !== 2) throw new Error(`reconcile --dry-run exited ${c.code} without the CA`);
        withoutCa.push(c.ms);
      }
      const e = await runCliMeasured(['reconcile', '--dry-run', ...scope], noEarlyEnv);
      if (e.code !== 2)
        throw new Error(`reconcile --dry-run exited ${e.code} without the early list`);
      withoutEarly.push(e.ms);
    }
    const node = bareNodeMs();
    const cliMed = percentile(cli, 50);
    const rawMed = percentile(raw, 50);
    console.log(`  ${loadText()}`);
    console.log(
      `  reconcile --dry-run, whole process: median ${Math.round(cliMed)} ms (min ${Math.round(Math.min(...cli))}), peak RSS ${Math.round(rssKb / 1024)} MiB  [target ≤ 350 ms]`,
    );
    console.log(
      `  raw label-filtered GET /containers/json (${listed} containers): median ${rawMed.toFixed(1)} ms`,
    );
    const bare = bareNodeUsage();
    console.log(
      `  CPU time of the dry run: median ${Math.round(percentile(cpu, 50))} ms (bare node -e 0: ${bare.cpuMs} ms)`,
    );
    console.log(
      `  minor page faults of the dry run: median ${percentile(faults, 50)} (bare node -e 0: ${bare.minflt}; each a first touch of 4 KiB)`,
    );
    console.log(`  bare node -e 0: median ${Math.round(node)} ms`);
    console.log(`  ratio dry-run / raw list: ${(cliMed / rawMed).toFixed(1)}x  [target ≤ 8x]`);
    console.log(
      `  without the early list (BACKREST_SIDECAR_EARLY_LIST=0): dry run median ${Math.round(percentile(withoutEarly, 50))} ms`,
    );
    if (EXTRA_CA_CERTS !== undefined) {
      const clean = percentile(withoutCa, 50);
      console.log(
        `  NODE_EXTRA_CA_CERTS is set here (Node 20 reads it at every start, Node 22+ at the first TLS connection); without it: dry run median ${Math.round(clean)} ms (min ${Math.round(Math.min(...withoutCa))}), bare node -e 0 median ${Math.round(bareNodeMs(5, cleanEnv))} ms  [the ≤ 350 ms target on a host that does not set it]`,
      );
    }
  } finally {
    await removeByLabel(label);
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
