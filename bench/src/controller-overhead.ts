// The runtime's per-key reconcile overhead (issue #13): one controller run in run-once mode whose
// aggregate key hands KEYS keys back through its own KeyTrigger (as the plan controller's
// WorkloadOutcomes does) and whose per-key reconcile does nothing. Beside it, in the same run,
// the baseline: the same reconciler awaited once per key in a plain loop. The difference is what
// the controller adds per key: queue, request, context, signal, metrics, logger. A second
// controller answers the per-key reconciles synchronously; a third settles every key from the
// aggregate reconcile (`ctx.settle`, no queue pass), as the plan controller now does. The first
// round of the last two is printed too, each in a fresh process (cold: a one-shot CLI run handles
// its keys once, before the JIT warms).
// Run: npx tsc -b bench && node bench/dist/controller-overhead.js
import {
  AjvSchemaRegistry,
  Controller,
  InMemoryConditionStore,
  InMemoryEventRecorder,
  KeyTrigger,
  PrometheusMetrics,
  ResourceCache,
  SystemClock,
  createLogger,
  makeKey,
  splitKey,
  type ReconcileContext,
  type ReconcileRequest,
  type Reconciler,
} from '@dockop/runtime';
import { execFileSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { Writable } from 'node:stream';

const KEYS = Number(process.env.KEYS ?? 2000);
const ROUNDS = Number(process.env.ROUNDS ?? 15);
const AGGREGATE = 'Config/all';

/** Process CPU ms (user + system): a descheduled round on a shared machine does not count. */
function cpuNow(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

const keys = Array.from({ length: KEYS }, (_, i) => makeKey('Workload', `w${i}`));
const clock = new SystemClock();
/** Info level, lines dropped: the debug lines of every reconcile are filtered, as in a dry run. */
const logger = createLogger({
  level: 'info',
  format: 'json',
  stream: new Writable({ write: (_c, _e, cb) => cb() }),
});

/**
 * How the workload keys are answered: fired and reconciled with a resolved promise (`async`) or
 * synchronously (`sync`), or settled by the aggregate reconcile itself (`settle`).
 */
type Mode = 'async' | 'sync' | 'settle';

/**
 * Fires (or settles) every workload key from the aggregate key's reconcile; the workload
 * reconcile is empty.
 */
function reconciler(
  trigger: KeyTrigger | undefined,
  seen: { n: number },
  mode: Mode = 'async',
): Reconciler {
  return {
    reconcile(req: ReconcileRequest, ctx: ReconcileContext): Promise<void> | void {
      if (req.key === AGGREGATE) {
        if (mode === 'settle') {
          for (const k of keys) ctx.settle(k);
          seen.n += keys.length;
        } else for (const k of keys) trigger?.fire(k);
        return Promise.resolve();
      }
      seen.n++;
      return mode === 'sync' ? undefined : Promise.resolve();
    },
  };
}

async function runController(mode: Mode = 'async'): Promise<number> {
  const trigger = new KeyTrigger('bench');
  const seen = { n: 0 };
  const metrics = new PrometheusMetrics();
  const controller = new Controller(
    {
      name: 'bench',
      watches: [],
      triggers: [trigger],
      options: { initialKeys: [AGGREGATE] },
      reconciler: reconciler(trigger, seen, mode),
    },
    {
      cache: new ResourceCache({ schemas: new AjvSchemaRegistry() }),
      logger,
      recorder: new InMemoryEventRecorder({ clock }),
      conditions: new InMemoryConditionStore(clock),
      clock,
      metrics,
    },
  );
  const t0 = cpuNow();
  const summary = await controller.runOnce();
  const ms = cpuNow() - t0;
  if (seen.n !== KEYS || summary.succeeded !== KEYS + 1) {
    throw new Error(`controller reconciled ${seen.n} of ${KEYS} keys`);
  }
  const text = await metrics.metrics();
  const line = `controller_runtime_reconcile_total{controller="bench",result="success"} ${KEYS + 1}`;
  if (!text.includes(line)) throw new Error(`metrics scrape lacks "${line}"`);
  return ms;
}

/** The same reconciler awaited per key with one shared context: no queue, no metrics. */
async function runBaseline(): Promise<number> {
  const seen = { n: 0 };
  const r = reconciler(undefined, seen);
  const ctx = {
    signal: new AbortController().signal,
    logger,
    clock,
  } as unknown as ReconcileContext;
  const t0 = cpuNow();
  for (const key of keys) await r.reconcile({ key, ...splitKey(key) }, ctx);
  const ms = cpuNow() - t0;
  if (seen.n !== KEYS) throw new Error(`baseline reconciled ${seen.n} of ${KEYS} keys`);
  return ms;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

// COLD=<mode>: this process only prints the first round of that mode (cold, as in a one-shot run).
const cold = process.env.COLD as Mode | undefined;
if (cold) {
  console.log((await runController(cold)).toFixed(2));
  process.exit(0);
}
const coldRound = (mode: Mode): number =>
  Number(
    execFileSync(process.execPath, [process.argv[1]!], {
      env: { ...process.env, COLD: mode },
      encoding: 'utf8',
    }),
  );
const coldSync = coldRound('sync');
const coldSettle = coldRound('settle');
// A warm-up, then interleaved rounds.
await runController();
await runController('sync');
await runController('settle');
await runBaseline();
const controller: number[] = [];
const controllerSync: number[] = [];
const controllerSettle: number[] = [];
const baseline: number[] = [];
for (let i = 0; i < ROUNDS; i++) {
  controller.push(await runController());
  controllerSync.push(await runController('sync'));
  controllerSettle.push(await runController('settle'));
  baseline.push(await runBaseline());
}
const c = median(controller);
const cs = median(controllerSync);
const cst = median(controllerSettle);
const b = median(baseline);
const perKey = (ms: number): string => `${((ms * 1000) / KEYS).toFixed(2)} µs/key`;
console.log(
  `controller-overhead bench: ${KEYS} keys fired through a KeyTrigger into one controller's runOnce; ${ROUNDS} rounds, interleaved`,
);
console.log(
  `node ${process.version}; load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
console.log(`baseline (await reconcile per key):  ${b.toFixed(2)} ms CPU (median), ${perKey(b)}`);
console.log(`Controller.runOnce:                  ${c.toFixed(2)} ms CPU (median), ${perKey(c)}`);
console.log(`controller overhead per key:         ${perKey(c - b)}`);
console.log(`Controller.runOnce, sync answers:    ${cs.toFixed(2)} ms CPU (median), ${perKey(cs)}`);
console.log(`sync controller overhead per key:    ${perKey(cs - b)}`);
console.log(
  `Controller.runOnce, settled keys:    ${cst.toFixed(2)} ms CPU (median), ${perKey(cst)}`,
);
console.log(
  `first round (cold, sync answers):    ${coldSync.toFixed(2)} ms CPU, ${perKey(coldSync)}`,
);
console.log(
  `first round (cold, settled keys):    ${coldSettle.toFixed(2)} ms CPU, ${perKey(coldSettle)}`,
);
