// Shared guard for integration tests: they run against the real local Docker engine that
// `scripts/docker-engine.sh up` provides. Outside CI an unreachable engine skips the suite with
// the reason; in CI (CI=true) it fails, because a skipped integration test proves nothing.
import Docker from 'dockerode';
import { randomBytes } from 'node:crypto';

export const WORKLOAD_IMAGE = 'dockop/busybox:local';
export const RESTIC_IMAGE = 'dockop/restic:local';
export const NODE_IMAGE = 'dockop/node-base:local';

export function dockerClient(): Docker {
  return new Docker();
}

let reachable: Promise<string | undefined> | undefined;

/** Resolves to the engine's version, or undefined when no engine answers. */
export function engineVersion(): Promise<string | undefined> {
  reachable ??= dockerClient()
    .version()
    .then((v) => v.Version)
    .catch(() => undefined);
  return reachable;
}

/** Call in `before`: skips (or fails in CI) when the engine is unreachable. */
export async function requireEngine(ctx: Mocha.Context): Promise<Docker> {
  const version = await engineVersion();
  if (version === undefined) {
    const reason =
      'no Docker engine answers: run `bash scripts/docker-engine.sh up` (needs root on Debian)';
    if (process.env.CI === 'true')
      throw new Error(`${reason}; integration tests cannot be skipped in CI`);
    console.warn(`    skipped: ${reason}`);
    ctx.skip();
  }
  return dockerClient();
}

/** A label value unique to this test run, so parallel or leftover runs never collide. */
export function runId(): string {
  return `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

/** Remove every container carrying `label` (force), ignoring ones already gone. */
export async function removeLabeled(docker: Docker, label: string): Promise<void> {
  const found = await docker.listContainers({ all: true, filters: { label: [label] } });
  await Promise.all(
    found.map((c) =>
      docker
        .getContainer(c.Id)
        .remove({ force: true, v: true })
        .catch(() => undefined),
    ),
  );
}
