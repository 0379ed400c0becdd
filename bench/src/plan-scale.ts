// 2,000 created (not started) labeled containers → `reconcile --dry-run` wall time and peak RSS,
// next to a baseline measured in the same run: one raw label-filtered list call plus one atomic
// write (tmp + fsync + rename) of a config of the same size, and bare Node start-up. Prints the
// ratios. Targets (issue #13): dry run ≤ 1.5× (baseline + bare node), peak RSS ≤ 120 MiB.
// Run: npx tsc -b && node bench/dist/plan-scale.js   (COUNT=... to change the 2,000)
import { open, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import {
  BUSYBOX,
  bareNodeMs,
  docker,
  loadText,
  runCliMeasured,
  removeByLabel,
  runTag,
  tempConfig,
  SUITE_LABEL,
  sweepStale,
} from './plan-bench-support.js';
import { createContainer } from '@dockop/docker';

const COUNT = Number(process.env.COUNT ?? 2000);

async function main(): Promise<void> {
  await sweepStale();
  const tag = runTag();
  const label = `dockop.bench.run=${tag}`;
  const { dir, file } = await tempConfig();
  try {
    const tc = performance.now();
    for (let i = 0; i < COUNT; i += 50) {
      await Promise.all(
        Array.from({ length: Math.min(50, COUNT - i) }, (_, j) =>
          createContainer(docker, {
            name: `${tag}-w${i + j}`,
            Image: BUSYBOX,
            Cmd: ['sleep', '3600'],
            Labels: {
              ...SUITE_LABEL,
              'dockop.bench.run': tag,
              'backrest.enable': 'true',
              'com.docker.compose.project': tag,
              'com.docker.compose.service': `s${i + j}`,
            },
            HostConfig: { NetworkMode: 'none', Binds: [`/srv/${tag}/${i + j}:/data`] },
          }),
        ),
      );
    }
    console.log(
      `plan-scale: created ${COUNT} labeled containers in ${Math.round(performance.now() - tc)} ms`,
    );

    const scope = ['--config', file, '--selector', label, '--plan-id-prefix', `${tag}_`];
    const cli = await runCliMeasured(['reconcile', '--dry-run', ...scope]);
    if (cli.code !== 2)
      throw new Error(`reconcile --dry-run exited ${cli.code}: ${cli.stderr.slice(-2000)}`);
    // Render the size of the config the dry run would write, for a same-size baseline write.
    const real = await runCliMeasured(['reconcile', ...scope]);
    if (real.code !== 0)
      throw new Error(`reconcile exited ${real.code}: ${real.stderr.slice(-2000)}`);
    const bytes = await readFile(file);

    const tb = performance.now();
    const listed = await docker.listContainers({
      all: true,
      filters: { label: ['backrest.enable=true', label] },
    });
    const tmp = path.join(dir, 'baseline.json.new');
    const fh = await open(tmp, 'w');
    await fh.writeFile(bytes);
    await fh.sync();
    await fh.close();
    await rename(tmp, path.join(dir, 'baseline.json'));
    const baseline = performance.now() - tb;

    console.log(
      `  reconcile --dry-run (process start to exit): ${Math.round(cli.ms)} ms (CPU ${cli.cpuMs} ms), peak RSS ${Math.round(cli.rssKb / 1024)} MiB`,
    );
    console.log(
      `  reconcile (writing ${bytes.length} bytes):        ${Math.round(real.ms)} ms, peak RSS ${Math.round(real.rssKb / 1024)} MiB`,
    );
    console.log(
      `  baseline: one label-filtered list (${listed.length} containers) + one atomic write: ${Math.round(baseline)} ms`,
    );
    const node = bareNodeMs();
    console.log(`  bare node -e 0: ${Math.round(node)} ms; ${loadText()}`);
    console.log(`  ratio dry-run / baseline: ${(cli.ms / baseline).toFixed(1)}x`);
    console.log(
      `  dry-run / (baseline + bare node start-up): ${(cli.ms / (baseline + node)).toFixed(2)}x  [target ≤ 1.5x, peak RSS ≤ 120 MiB]`,
    );
  } finally {
    await removeByLabel(label);
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
