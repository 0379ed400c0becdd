// Fixtures for the dump tests: database containers from the local images that
// scripts/docker-engine.sh builds (dockop/postgres:local, dockop/mariadb:local, dockop/redis:local),
// and a pipe from `restic dump` into a preset's restore script in another container.
import { spawn } from 'node:child_process';
import { presetArgv, type DumpSettings } from '@backrest-sidecar/api';
import { exec } from './retention-fixture.js';

export const POSTGRES_IMAGE = 'dockop/postgres:local';
export const MARIADB_IMAGE = 'dockop/mariadb:local';
export const REDIS_IMAGE = 'dockop/redis:local';

export interface DbContainer {
  name: string;
  image: string;
  env?: Record<string, string>;
  labels?: Record<string, string>;
  /** `volume:/path` items. */
  volumes?: string[];
}

/** `docker run -d` (the run label on it), then waits until `ready` (argv run with exec) passes. */
export async function startDb(
  c: DbContainer,
  runLabel: string,
  ready: string[],
  timeoutMs = 60_000,
): Promise<void> {
  const args = ['run', '-d', '--name', c.name, '--label', runLabel];
  for (const [k, v] of Object.entries(c.labels ?? {})) args.push('--label', `${k}=${v}`);
  for (const [k, v] of Object.entries(c.env ?? {})) args.push('-e', `${k}=${v}`);
  for (const v of c.volumes ?? []) args.push('-v', v);
  args.push(c.image);
  await exec('docker', args);
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      await exec('docker', ['exec', c.name, ...ready]);
      return;
    } catch (err) {
      last = String((err as { stderr?: string }).stderr ?? err);
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  const logs = await exec('docker', ['logs', '--tail', '20', c.name]).catch(() => ({
    stdout: '',
    stderr: '',
  }));
  throw new Error(
    `${c.name} not ready after ${timeoutMs} ms: ${last}\n${logs.stdout}${logs.stderr}`,
  );
}

/** Runs argv in a container; resolves stdout. */
export async function dockerExec(container: string, argv: string[]): Promise<string> {
  const { stdout } = await exec('docker', ['exec', container, ...argv], { maxBuffer: 64 << 20 });
  return stdout;
}

export async function psql(container: string, sql: string, db = 'app'): Promise<string> {
  return (
    await dockerExec(container, [
      'psql',
      '-U',
      'postgres',
      '-d',
      db,
      '-tA',
      '-v',
      'ON_ERROR_STOP=1',
      '-c',
      sql,
    ])
  ).trim();
}

export async function mariadb(container: string, sql: string): Promise<string> {
  return (
    await dockerExec(container, [
      'sh',
      '-c',
      'MYSQL_PWD="$MARIADB_ROOT_PASSWORD" exec mariadb -uroot -N -B -e "$1"',
      'sql',
      sql,
    ])
  ).trim();
}

/**
 * `restic dump <snapshot> /<file>` piped into `docker exec -i <container> <argv>` (host restic,
 * the repository env given): a restore as an operator would run it.
 */
export function pipeDump(
  env: NodeJS.ProcessEnv,
  snapshot: string,
  file: string,
  dockerArgs: string[],
): Promise<{ restic: number; docker: number; stderr: string }> {
  return new Promise((resolve, reject) => {
    const restic = spawn('restic', ['dump', snapshot, `/${file}`], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const docker = spawn('docker', dockerArgs, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    restic.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    docker.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    docker.stdout.resume();
    restic.stdout.pipe(docker.stdin);
    let resticCode: number | undefined;
    let dockerCode: number | undefined;
    const done = (): void => {
      if (resticCode !== undefined && dockerCode !== undefined)
        resolve({ restic: resticCode, docker: dockerCode, stderr });
    };
    restic.on('error', reject);
    docker.on('error', reject);
    restic.on('close', (code) => {
      resticCode = code ?? -1;
      done();
    });
    docker.on('close', (code) => {
      dockerCode = code ?? -1;
      done();
    });
  });
}

/** `docker exec -i <container> sh -c <restore script> …`: the preset's own restore. */
export function restoreExec(container: string, settings: Omit<DumpSettings, 'only'>): string[] {
  return ['exec', '-i', container, ...presetArgv('restore', settings)];
}

/** Starts a loop of writes inside the container (docker exec -d): the database keeps serving. */
export async function startWriter(container: string, script: string): Promise<void> {
  await exec('docker', ['exec', '-d', container, 'sh', '-c', script]);
}
