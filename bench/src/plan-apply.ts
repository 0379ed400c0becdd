// `daemon --with-events --apply` against a stand-in Backrest container, with the installed CLI:
// - latency from `docker run` (create+start) of a labeled container to its plan in the config file
//   (the sink fsyncs before its rename, so a plan visible in the file is on disk), for SEQ (10)
//   containers started 1 s apart and a burst of BURST (100) started at once;
// - Backrest restarts for each (goal ≤ 2 and 1);
// each against a stand-in that ignores SIGTERM (busybox `sleep` as PID 1: every restart costs the
// stop timeout) and one that exits on it (as Backrest does). Then a stand-in running a real
// `restic` process: restarts until that process ends (goal 0), and after (goal 1).
// Run: npx tsc -b && node bench/dist/plan-apply.js   (SEQ=3 BURST=10 for a quick smoke run;
// PARTS=exits for one stand-in only; TRACE=1 to split the latency into steps)
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  BUSYBOX,
  docker,
  loadText,
  percentile,
  removeByLabel,
  runTag,
  startDaemon,
  tempConfig,
  waitFor,
  type Daemon,
} from './plan-bench-support.js';
import { createContainer } from '@dockop/docker';

const SEQ = Number(process.env.SEQ ?? 10);
const BURST = Number(process.env.BURST ?? 100);
/**
 * `TRACE=1`: the daemon logs at debug, and each report splits "created → plan on disk" into
 * created → observed (the informer's list after the event) → rendered (the reconcile that
 * included it) → config written → seen by this bench's file poll (p50/p95 of each step).
 */
const TRACE = process.env.TRACE === '1';
/** Which parts run (comma-separated): `exits`, `ignores`, `busy`. Default all three. */
const PARTS = new Set((process.env.PARTS ?? 'exits,ignores,busy').split(','));
/** Bench-clock times of each container: create returned, start returned, plan seen in the file. */
const stamps = new Map<string, { created: number; started: number; seen: number }>();
const RESTIC = 'dockop/restic:local';
// Its own suite label: other plan benches sweep `dockop.bench.suite=plan` when they start, which
// removed this bench's containers mid-burst on a shared engine.
const SUITE_LABEL = { 'dockop.bench.suite': 'plan-apply' } as const;

interface Run {
  tag: string;
  dir: string;
  file: string;
  backrest: string;
  daemon: Daemon;
  plans: PlanWatch;
}

/**
 * One reader of the config file for all the containers of a run: it reads the file every 5 ms
 * while someone waits and resolves each waiter when its plan id appears. (A poll per container
 * was 100 readers of a growing file every 5 ms in a burst: the bench's own load, on the daemon's
 * two cores.)
 */
class PlanWatch {
  readonly #file: string;
  readonly #waiters = new Map<string, () => void>();
  #polling = false;

  constructor(file: string) {
    this.#file = file;
  }

  /** Resolves (at the first read that shows it) once `"<planId>"` is in the file. */
  until(planId: string): Promise<void> {
    return new Promise((resolve) => {
      this.#waiters.set(`"${planId}"`, resolve);
      if (!this.#polling) {
        this.#polling = true;
        setTimeout(() => void this.#poll(), 0);
      }
    });
  }

  async #poll(): Promise<void> {
    const text = await readFile(this.#file, 'utf8').catch(() => '');
    for (const [needle, resolve] of this.#waiters) {
      if (text.includes(needle)) {
        this.#waiters.delete(needle);
        resolve();
      }
    }
    this.#polling = this.#waiters.size > 0;
    if (this.#polling) setTimeout(() => void this.#poll(), 5);
  }
}

async function setUp(
  variant: string,
  standIn: (name: string, tag: string, dir: string) => Promise<void>,
): Promise<Run> {
  const tag = `${runTag()}${variant}`;
  const { dir, file } = await tempConfig();
  const backrest = `${tag}-backrest`;
  await standIn(backrest, tag, dir);
  const daemon = startDaemon([
    '--config',
    file,
    '--with-events',
    '--apply',
    '--backrest-container',
    backrest,
    '--selector',
    `dockop.bench.run=${tag}`,
    '--plan-id-prefix',
    `${tag}_`,
    ...(TRACE ? ['--log-level', 'debug'] : []),
  ]);
  await waitFor(
    () => daemon.lines.some((l) => /^config\.(unchanged|written)$/.test(String(l.line.action))),
    60_000,
  );
  return { tag, dir, file, backrest, daemon, plans: new PlanWatch(file) };
}

async function tearDown(r: Run): Promise<void> {
  await r.daemon.stop();
  await removeByLabel(`dockop.bench.run=${r.tag}`);
  await rm(r.dir, { recursive: true, force: true });
}

function busybox(cmd: string) {
  return async (name: string, tag: string, dir: string): Promise<void> => {
    const c = await createContainer(docker, {
      name,
      Image: BUSYBOX,
      Cmd: ['sh', '-c', cmd],
      Labels: { ...SUITE_LABEL, 'dockop.bench.run': tag },
      HostConfig: { NetworkMode: 'none', Binds: [`${dir}:/config`] },
    });
    await c.start();
  };
}

const restarts = (r: Run): number =>
  r.daemon.lines.filter((l) => l.line.action === 'backrest.restarted').length;

/**
 * create+start of one labeled workload → its plan id in the file: [from the create call, from
 * "started" (0 when the plan was on disk before start returned: the daemon renders a plan for a
 * created container), from "created"].
 */
async function runOne(r: Run, name: string): Promise<[number, number, number]> {
  const t0 = performance.now();
  const c = await createContainer(docker, {
    name,
    Image: BUSYBOX,
    Cmd: ['sleep', '3600'],
    Labels: { ...SUITE_LABEL, 'dockop.bench.run': r.tag, 'backrest.enable': 'true' },
    HostConfig: { NetworkMode: 'none', Binds: [`/srv/${name}:/data`] },
  });
  const created = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const seen = Promise.race([
    r.plans.until(`${r.tag}_${name}`).then(() => performance.now()),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no plan for ${name} after 120 s`)), 120_000);
    }),
  ]).finally(() => clearTimeout(timer));
  seen.catch(() => undefined); // awaited below; not unhandled while start runs
  await c.start();
  const started = performance.now();
  const t2 = await seen;
  stamps.set(name, { created, started, seen: t2 });
  return [t2 - t0, Math.max(0, t2 - started), t2 - created];
}

/** TRACE: where "started → plan on disk" went, per step, over the containers of run `r`. */
function trace(r: Run): void {
  const at = (action: string, container?: string): number[] =>
    r.daemon.lines
      .filter(
        (l) =>
          l.line.action === action &&
          (container === undefined || l.line.container === container) &&
          (action !== 'plan.rendered' || l.line.changed === true),
      )
      .map((l) => l.at);
  const written = at('config.written');
  const steps: Record<string, number[]> = {
    'created→observed': [],
    'observed→rendered': [],
    'rendered→written': [],
    'written→seen': [],
  };
  for (const [name, s] of stamps) {
    if (!name.startsWith(`${r.tag}-`)) continue;
    const observed = at('docker.container.observed', name)[0];
    const rendered = at('plan.rendered', name)[0];
    if (observed === undefined || rendered === undefined) continue;
    const w = written.find((t) => t >= rendered) ?? NaN;
    steps['created→observed']!.push(observed - s.created);
    steps['observed→rendered']!.push(rendered - observed);
    steps['rendered→written']!.push(w - rendered);
    steps['written→seen']!.push(s.seen - w);
  }
  const f = (xs: number[], p: number) => `${Math.round(percentile(xs, p))}`;
  console.log(
    `  trace (ms, p50/p95 over ${steps['created→observed']!.length}): ` +
      Object.entries(steps)
        .map(([k, xs]) => `${k} ${f(xs, 50)}/${f(xs, 95)}`)
        .join(', '),
  );
}

function report(what: string, xs: [number, number, number][], r: Run): void {
  const f = (i: number, p: number) =>
    `${Math.round(
      percentile(
        xs.map((x) => x[i]!),
        p,
      ),
    )} ms`;
  console.log(
    `${what}: docker run → plan on disk p50 ${f(0, 50)} p95 ${f(0, 95)} ` +
      `(from "started": p50 ${f(1, 50)} p95 ${f(1, 95)}; from "created": p50 ${f(2, 50)} p95 ${f(2, 95)}); ` +
      `writes ${r.daemon.lines.filter((l) => l.line.action === 'config.written').length}, ` +
      `Backrest restarts ${restarts(r)}; ${loadText()}`,
  );
  if (TRACE) trace(r);
}

/** Waits for the trailing restart: apply quiet 5 s, stop timeout, 5 s stability, margin. */
const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 20_000));

async function sequentialAndBurst(variant: string, cmd: string, label: string): Promise<void> {
  const seq = await setUp(`${variant}s`, busybox(cmd));
  try {
    const xs: [number, number, number][] = [];
    for (let i = 0; i < SEQ; i++) {
      const started = performance.now();
      xs.push(await runOne(seq, `${seq.tag}-s${i}`));
      const wait = 1_000 - (performance.now() - started);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    await settle();
    report(`${label}, ${SEQ} containers 1 s apart`, xs, seq);
  } finally {
    await tearDown(seq);
  }
  const burst = await setUp(`${variant}b`, busybox(cmd));
  try {
    const xs = await Promise.all(
      Array.from({ length: BURST }, (_, i) => runOne(burst, `${burst.tag}-b${i}`)),
    );
    await settle();
    report(`${label}, burst of ${BURST}`, xs, burst);
  } finally {
    await tearDown(burst);
  }
}

async function busy(): Promise<void> {
  const r = await setUp('busy', async (name, tag, dir) => {
    const c = await createContainer(docker, {
      name,
      Image: RESTIC,
      Entrypoint: ['/bin/sh'],
      Cmd: [
        '-c',
        `trap 'exit 0' TERM; restic -r /tmp/repo --password-command "sh -c 'while [ ! -e /config/done ]; do sleep 0.2; done; echo pw'" init & sleep 3600 & wait`,
      ],
      Labels: { ...SUITE_LABEL, 'dockop.bench.run': tag },
      HostConfig: { NetworkMode: 'none', Binds: [`${dir}:/config`] },
    });
    await c.start();
  });
  try {
    await runOne(r, `${r.tag}-w0`);
    await new Promise((res) => setTimeout(res, 15_000));
    const during = restarts(r);
    const deferred = r.daemon.lines.some((l) => l.line.action === 'apply.deferred');
    await writeFile(path.join(r.dir, 'done'), '');
    await waitFor(() => restarts(r) > 0, 60_000, 50);
    await settle();
    console.log(
      `busy stand-in (restic running): restarts while it ran ${during} (deferred: ${deferred}), after it ended ${restarts(r) - during}; ${loadText()}`,
    );
  } finally {
    await tearDown(r);
  }
}

async function main(): Promise<void> {
  await removeByLabel('dockop.bench.suite=plan-apply');
  if (PARTS.has('exits')) {
    await sequentialAndBurst(
      't',
      "trap 'exit 0' TERM; sleep 3600 & wait",
      'stand-in exits on SIGTERM',
    );
  }
  if (PARTS.has('ignores')) {
    await sequentialAndBurst('i', 'sleep 3600', 'stand-in ignores SIGTERM');
  }
  if (PARTS.has('busy')) await busy();
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
