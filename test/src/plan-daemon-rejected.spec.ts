import type Docker from 'dockerode';
import { expect } from 'chai';
import type { ChildProcess } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { WORKLOAD_IMAGE, removeLabeled, requireEngine, runId } from './support/engine.js';
import {
  eventually,
  isolate,
  prefixOf,
  spawnDaemon,
  stopDaemon,
  tempConfig,
} from './support/plan-cli.js';
import { createContainer } from '@dockop/docker';

// A container whose labels fail the schema is no valid event, yet the daemon must report it at
// once: the cache's refusal reaches the plan controller through its watch. --interval 1h rules
// out the periodic resync as the trigger.
describe('backrest-sidecar daemon: refused workloads (integration)', function () {
  this.timeout(60_000);
  let docker: Docker;
  const run = runId();
  const prefix = prefixOf(run);
  let daemon: ChildProcess | undefined;
  let exited: Promise<number | null> = Promise.resolve(null);
  let logs: Record<string, unknown>[] = [];
  let dir = '';
  let port = 0;

  /** `controller_runtime_reconcile_total{controller="plan",result}` from the daemon's /metrics. */
  const planReconciles = async (result: string): Promise<number> => {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const m = text.match(
      new RegExp(
        `controller_runtime_reconcile_total\\{controller="plan",result="${result}"\\} (\\d+)`,
      ),
    );
    return m ? Number(m[1]) : 0;
  };

  before(async function () {
    docker = await requireEngine(this);
    let file: string;
    ({ dir, path: file } = await tempConfig());
    port = await new Promise<number>((resolve, reject) => {
      const srv = createServer();
      srv.once('error', reject);
      srv.listen(0, '127.0.0.1', () => {
        const p = (srv.address() as { port: number }).port;
        srv.close(() => resolve(p));
      });
    });
    ({ daemon, logs, exited } = spawnDaemon([
      '--config',
      file,
      '--http-addr',
      `127.0.0.1:${port}`,
      '--with-events',
      '--interval',
      '1h',
      ...isolate(run),
    ]));
    await eventually(
      () => logs.some((l) => l.action === 'config.unchanged' || l.action === 'config.written'),
      30_000,
      'first reconcile',
    );
  });

  after(async function () {
    // Killed and gone before its config dir is removed (it may be writing there).
    if (daemon) await stopDaemon({ daemon, exited }, 0);
    if (docker) await removeLabeled(docker, `dockop.test.run=${run}`);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const skippedFor = (name: string, from = 0) =>
    logs.slice(from).filter((l) => l.action === 'plan.skipped' && l.container === name);
  const isReconcileEnd = (l: Record<string, unknown>) =>
    l.action === 'config.unchanged' || l.action === 'config.written';
  /** Log lines of the last finished reconcile that began after `from` (undefined: none yet). */
  const lastReconcile = (from: number): Record<string, unknown>[] | undefined => {
    const end = logs.findLastIndex(isReconcileEnd);
    if (end < from) return undefined;
    const begin = logs.slice(0, end).findLastIndex(isReconcileEnd);
    return begin + 1 < from ? undefined : logs.slice(begin + 1, end + 1);
  };
  const name = `bad-${run}`;

  it('logs plan.skipped for a new container with an invalid backrest.schedule within seconds', async () => {
    const mark = logs.length;
    const c = await createContainer(docker, {
      name,
      Image: WORKLOAD_IMAGE,
      Cmd: ['sleep', '3600'],
      Labels: {
        'dockop.test.run': run,
        'backrest.enable': 'true',
        'backrest.schedule': '61 * * * *',
      },
      HostConfig: { NetworkMode: 'none' },
    });
    await c.start();
    await eventually(() => skippedFor(name, mark).length > 0, 5_000, `plan.skipped for ${name}`);
    expect(skippedFor(name, mark)[0]).to.include({
      level: 'warn',
      plan_id: `${prefix}${name}`,
      reason: 'InvalidSpec',
    });
    // The message is logged once, by the Warning event plan.skipped points at.
    expect(skippedFor(name, mark)[0]!.see).to.equal(`event BackupWorkload/${name}`);
    const warning = logs
      .slice(mark)
      .find((l) => l.action === 'event' && l.key === `BackupWorkload/${name}`);
    expect(String(warning?.msg)).to.contain('label backrest.schedule="61 * * * *"');
  });

  it('counts the refused workload as an error of the plan controller, never as a success', async () => {
    await eventually(
      async () => (await planReconciles('error')) === 1,
      10_000,
      'the refused workload counted as an error',
    );
    // Its key's error is reported by plan.skipped and the event: the plan controller logs no
    // error-level line for it.
    expect(
      logs.filter(
        (l) => l.action === 'reconcile.error' && l.controller === 'plan' && l.level !== 'debug',
      ),
    ).to.deep.equal([]);
    // Nothing about it changed: later renders (its container's own late events, say) do not
    // count it again.
    await new Promise((r) => setTimeout(r, 1500));
    expect(await planReconciles('error')).to.equal(1);
  });

  it('reconciles without it once the refused container is destroyed', async () => {
    // Let the reconcile that reported it finish first.
    const reported = logs.findIndex((l) => l.action === 'plan.skipped' && l.container === name);
    await eventually(
      () => logs.findLastIndex(isReconcileEnd) > reported,
      5_000,
      'the reconcile that reported it finished',
    );
    const mark = logs.length;
    await docker.getContainer(name).remove({ force: true });
    await eventually(
      () => {
        const last = lastReconcile(mark);
        return last !== undefined && !last.some((l) => l.container === name);
      },
      5_000,
      `a reconcile without ${name}`,
    );
  });
});
