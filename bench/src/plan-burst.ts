// A burst of N (default 100) labeled containers started at once while the daemon runs with
// `--apply` against a stand-in Backrest (busybox `sleep`): how many config writes and how many
// restarts it takes (writes about four a second during the burst with the leading-edge debounce;
// restarts: one, the apply worker merging every write into one trailing restart).
// Run: npx tsc -b && node bench/dist/plan-burst.js
import { readFile, rm } from 'node:fs/promises';
import {
  BUSYBOX,
  docker,
  removeByLabel,
  runTag,
  startDaemon,
  tempConfig,
  waitFor,
  SUITE_LABEL,
  sweepStale,
} from './plan-bench-support.js';
import { createContainer } from '@dockop/docker';

const N = Number(process.env.BURST ?? 100);

async function main(): Promise<void> {
  await sweepStale();
  const tag = runTag();
  const label = `dockop.bench.run=${tag}`;
  const prefix = `${tag}_`;
  const { dir, file } = await tempConfig();
  const backrest = `${tag}-backrest`;
  const standIn = await createContainer(docker, {
    name: backrest,
    Image: BUSYBOX,
    Cmd: ['sleep', '3600'],
    Labels: { ...SUITE_LABEL, 'dockop.bench.run': tag },
    HostConfig: { NetworkMode: 'none' },
  });
  await standIn.start();
  const startedAt0 = (await standIn.inspect()).State.StartedAt;
  const daemon = startDaemon([
    '--config',
    file,
    '--with-events',
    '--apply',
    '--backrest-container',
    backrest,
    '--apply-stable',
    '1s',
    '--selector',
    label,
    '--plan-id-prefix',
    prefix,
  ]);
  let wall = 0;
  try {
    await waitFor(
      () => daemon.lines.some((l) => String(l.line.action).startsWith('config.')),
      60_000,
    );
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: N }, async (_, i) => {
        const c = await createContainer(docker, {
          name: `${tag}-w${i}`,
          Image: BUSYBOX,
          Cmd: ['sleep', '3600'],
          Labels: { ...SUITE_LABEL, 'dockop.bench.run': tag, 'backrest.enable': 'true' },
          HostConfig: { NetworkMode: 'none', Binds: [`/srv/${tag}-w${i}:/data`] },
        });
        await c.start();
      }),
    );
    await waitFor(
      async () => {
        const doc = JSON.parse(await readFile(file, 'utf8')) as { plans: unknown[] };
        return doc.plans.length === N;
      },
      120_000,
      20,
    );
    wall = performance.now() - t0;
    // Let a trailing restart (cooldown 10 s + stable 1 s) finish before counting.
    await new Promise((r) => setTimeout(r, 13_000));
  } finally {
    await daemon.stop();
  }
  const writes = daemon.lines.filter((l) => l.line.action === 'config.written').length;
  const restarts = daemon.lines.filter((l) => l.line.action === 'backrest.restarted').length;
  const info = await standIn.inspect();
  await removeByLabel(label);
  await rm(dir, { recursive: true, force: true });
  console.log(`plan-burst: ${N} labeled containers started at once, daemon --with-events --apply`);
  console.log(`  all ${N} plans on disk after ${Math.round(wall)} ms`);
  console.log(
    `  config writes: ${writes}   Backrest restarts (log): ${restarts}   stand-in StartedAt changed: ${info.State.StartedAt !== startedAt0}`,
  );
}

await main();
