// Fixtures for the retention tests: a real restic repository in a temp dir whose snapshots are
// made inside dockop/restic:local, so restic records the literal paths /volumes/<project>/<service>.
import { execFile } from 'node:child_process';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { EventRecorder, EventType, LogFields, Logger, RecordedEvent } from '@dockop/runtime';
import { RESTIC_IMAGE } from './support/engine.js';

export const exec = promisify(execFile);

export const PASSWORD = 'retention-test-secret-pw';

export interface Repo {
  dir: string;
  /** Host path of the repository. */
  repo: string;
  /** Env file for the host restic binary (RESTIC_REPOSITORY = host path). */
  hostEnvFile: string;
  /** Env file for a container with the repository mounted at /repo. */
  containerEnvFile: string;
  env: NodeJS.ProcessEnv;
}

export async function makeRepo(prefix: string): Promise<Repo> {
  const dir = await mkdtemp(path.join(tmpdir(), `${prefix}-`));
  const repo = path.join(dir, 'repo');
  const hostEnvFile = path.join(dir, 'host.env');
  const containerEnvFile = path.join(dir, 'container.env');
  await writeFile(
    hostEnvFile,
    `# test repo\nRESTIC_REPOSITORY=${repo}\nRESTIC_PASSWORD=${PASSWORD}\n`,
  );
  await writeFile(containerEnvFile, `RESTIC_REPOSITORY=/repo\nRESTIC_PASSWORD=${PASSWORD}\n`);
  const env = { ...process.env, RESTIC_REPOSITORY: repo, RESTIC_PASSWORD: PASSWORD };
  await exec('restic', ['init'], { env });
  return { dir, repo, hostEnvFile, containerEnvFile, env };
}

/**
 * The flags that point a CLI run (backup-once, daemon, get, forget) at `repo` through the restic
 * image, the repository mounted at /repo, with its status under `stateDir`.
 */
export function resticRepoFlags(repo: Repo, stateDir: string, host: string): string[] {
  return [
    '--state-dir',
    stateDir,
    '--rcb-env-file',
    repo.containerEnvFile,
    '--restic-image',
    RESTIC_IMAGE,
    '--restic-volume',
    `${repo.repo}:/repo`,
    '--restic-host',
    host,
  ];
}

export interface SnapshotSpec {
  /** Paths as restic records them, e.g. ['/volumes/p/app'] (several = one multi-path snapshot). */
  paths: string[];
  /** `YYYY-MM-DD HH:MM:SS`, UTC. */
  time: string;
  /** restic `--host`. Default `fixture`. */
  host?: string;
}

/**
 * Makes every snapshot in one container run: each path is a small directory mounted at that
 * literal path, and `restic backup --time` dates it.
 */
export async function makeSnapshots(
  repo: Repo,
  specs: SnapshotSpec[],
  runLabel: string,
): Promise<void> {
  const all = [...new Set(specs.flatMap((s) => s.paths))];
  const mounts: string[] = [];
  for (const [i, p] of all.entries()) {
    const src = path.join(repo.dir, 'src', String(i));
    await mkdir(src, { recursive: true });
    await writeFile(path.join(src, 'data.txt'), `contents of ${p}\n`);
    mounts.push('-v', `${src}:${p}:ro`);
  }
  const script = specs
    .map(
      (s) =>
        `restic backup -q --host '${s.host ?? 'fixture'}' --time '${s.time}' ${s.paths.join(' ')} >/dev/null || exit 1`,
    )
    .join('\n');
  await exec('docker', [
    'run',
    '--rm',
    '--label',
    runLabel,
    '--entrypoint',
    'sh',
    '-e',
    'RESTIC_REPOSITORY=/repo',
    '-e',
    `RESTIC_PASSWORD=${PASSWORD}`,
    '-v',
    `${repo.repo}:/repo`,
    ...mounts,
    RESTIC_IMAGE,
    '-c',
    script,
  ]);
}

export interface Snap {
  id: string;
  hostname: string;
  short_id: string;
  time: string;
  paths: string[];
}

export async function listSnapshots(repo: Repo): Promise<Snap[]> {
  const { stdout } = await exec('restic', ['snapshots', '--json'], { env: repo.env });
  return JSON.parse(stdout) as Snap[];
}

/** Short id of the snapshot of `path` taken at `time` (`YYYY-MM-DD HH:MM:SS`). */
export function idAt(snaps: Snap[], paths: string[], time: string): string {
  const iso = `${time.replace(' ', 'T')}Z`;
  const s = snaps.find(
    (x) =>
      new Date(x.time).toISOString() === new Date(iso).toISOString() &&
      x.paths.join() === [...paths].sort().join(),
  );
  if (!s) throw new Error(`no snapshot of ${paths.join()} at ${time}`);
  return s.short_id;
}

export async function removeDir(dir: string | undefined): Promise<void> {
  if (dir) await rm(dir, { recursive: true, force: true });
}

/** A Logger that keeps every line (JSON-serialised) for assertions. */
export class CapturingLogger implements Logger {
  constructor(
    readonly lines: string[] = [],
    readonly fields: LogFields = {},
  ) {}
  #push(level: string, action: string, fields?: LogFields): void {
    this.lines.push(JSON.stringify({ level, action, ...this.fields, ...fields }));
  }
  error(action: string, fields?: LogFields): void {
    this.#push('error', action, fields);
  }
  warn(action: string, fields?: LogFields): void {
    this.#push('warn', action, fields);
  }
  info(action: string, fields?: LogFields): void {
    this.#push('info', action, fields);
  }
  debug(action: string, fields?: LogFields): void {
    this.#push('debug', action, fields);
  }
  child(fields: LogFields): Logger {
    return new CapturingLogger(this.lines, { ...this.fields, ...fields });
  }
}

/** In-memory EventRecorder for assertions. */
export class MemoryRecorder implements EventRecorder {
  readonly events: RecordedEvent[] = [];
  event(key: string, type: EventType, reason: string, message: string): void {
    const now = new Date().toISOString();
    const same = this.events.find(
      (e) => e.key === key && e.type === type && e.reason === reason && e.message === message,
    );
    if (same) {
      same.count++;
      same.lastTimestamp = now;
    } else {
      this.events.push({
        key,
        type,
        reason,
        message,
        count: 1,
        firstTimestamp: now,
        lastTimestamp: now,
      });
    }
  }
  list(key: string): RecordedEvent[] {
    return this.events.filter((e) => e.key === key);
  }
  all(): RecordedEvent[] {
    return [...this.events];
  }
}
