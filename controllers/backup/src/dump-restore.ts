/**
 * Getting a database dump back: the dump snapshot (`restic backup --stdin --stdin-filename
 * <workload>.<ext>`) is restored into a scratch volume first, then loaded with the preset's
 * restore script through `docker exec`, so credentials never leave the database container.
 *
 * - into the live workload (`restore --in-place`, presets whose restore runs in the server):
 *   the file is copied into the container's /tmp with `docker cp` (from a created, never started
 *   helper that mounts the scratch volume: tar in, tar out, byte-exact), loaded, removed;
 * - into a throwaway container for a drill (`verify`): the workload's image, its environment
 *   (the credential conventions the preset reads), `--network none`, no volume of the workload,
 *   the scratch volume mounted read-only; the server starts on empty storage, the dump is loaded,
 *   the probe query runs. The container and its anonymous volumes are removed afterwards.
 */
import type Dockerode from 'dockerode';
import {
  createContainer,
  execInContainer,
  type ContainerActions,
  type DockerClient,
  type ExecResult,
  type OneShotMount,
} from '@dockop/docker';
import {
  dumpFileName,
  dumpPreset,
  presetArgv,
  type DumpPresetName,
  type DumpSettings,
  type WorkloadTarget,
} from '@backrest-sidecar/api';
import { checkSnapshotPath } from './restore-steps.js';
import type { WorkloadSnapshot } from './workload-snapshots.js';

/** Where a scratch volume holding a restored snapshot is mounted in helper containers. */
export const DUMP_MOUNT = '/dockop-restore';

/** The path a workload's dump has in its dump snapshots: `/<workload>.<ext>`. */
export function dumpSnapshotPath(workload: string, preset: DumpPresetName): string {
  return `/${dumpFileName(workload, preset)}`;
}

/** Whether `snap` is the workload's dump snapshot (its one path is the dump file). */
export function isDumpSnapshot(
  snap: Pick<WorkloadSnapshot, 'paths'>,
  workload: string,
  preset: DumpPresetName,
): boolean {
  return snap.paths.length === 1 && snap.paths[0] === dumpSnapshotPath(workload, preset);
}

/**
 * Where `snap` holds the workload's dump, or undefined: the whole of a dump snapshot
 * (`/<workload>.<ext>`, backup-once's restic engine), or `<dump dir>/<plan id>/<workload>.<ext>`
 * in a snapshot Backrest made from the workload's plan (tag `plan:<id>`), whose pre hook wrote
 * the dump into that directory (the plan's path ending in `/<plan id>`). The second is a
 * candidate only: the caller checks the file is in the snapshot (`snapshotPathIsFile`).
 */
export function dumpPathIn(
  snap: Pick<WorkloadSnapshot, 'paths' | 'tags'>,
  workload: string,
  planId: string,
  preset: DumpPresetName,
): string | undefined {
  if (isDumpSnapshot(snap, workload, preset)) return snap.paths[0];
  if (!snap.tags.includes(`plan:${planId}`)) return undefined;
  const dir = snap.paths.find((p) => p.length > planId.length + 1 && p.endsWith(`/${planId}`));
  return dir ? `${dir}/${dumpFileName(workload, preset)}` : undefined;
}

/** argv running the preset's `script` with the staged dump file as stdin. */
function withFileAsStdin(file: string, argv: string[], removeAfter: boolean): string[] {
  const script = removeAfter
    ? 'f=$1; shift; "$@" < "$f"; rc=$?; rm -f "$f"; exit $rc'
    : 'f=$1; shift; exec "$@" < "$f"';
  return ['sh', '-c', script, 'dockop-load', file, ...argv];
}

function tail(r: ExecResult): string {
  return r.stderr.trim().split('\n').slice(-3).join(' | ') || `exit ${r.exitCode}`;
}

/**
 * Copies `path` (a file in the scratch volume, mounted at DUMP_MOUNT of a created helper from
 * `image`) into `container`'s /tmp with Docker's archive API. Returns the file's path there.
 */
export async function copyIntoContainer(
  client: DockerClient,
  options: {
    image: string;
    scratch: string;
    snapshotPath: string;
    container: string;
    labels: Record<string, string>;
  },
): Promise<string> {
  const p = checkSnapshotPath(options.snapshotPath);
  const helper = await client.request('containers.create', (d) =>
    createContainer(d, {
      Image: options.image,
      Entrypoint: ['true'],
      Labels: options.labels,
      HostConfig: {
        Mounts: [{ Type: 'volume', Source: options.scratch, Target: DUMP_MOUNT, ReadOnly: true }],
        NetworkMode: 'none',
      },
    }),
  );
  try {
    const tar = (await client.streamRequest('containers.archive', () =>
      helper.getArchive({ path: `${DUMP_MOUNT}${p}` }),
    )) as NodeJS.ReadableStream;
    await client.streamRequest('containers.putArchive', (d) =>
      d.getContainer(options.container).putArchive(tar, { path: '/tmp' }),
    );
  } finally {
    await client
      .request('containers.remove', () => helper.remove({ force: true, v: true }))
      .catch(() => undefined);
  }
  return `/tmp/${p.split('/').pop()!}`;
}

/** Loads the staged dump into the running `container` with the preset's restore script. */
export async function loadDumpLive(
  client: DockerClient,
  options: {
    image: string;
    scratch: string;
    snapshotPath: string;
    container: string;
    settings: DumpSettings;
    labels: Record<string, string>;
    timeoutMs?: number;
  },
): Promise<void> {
  const file = await copyIntoContainer(client, options);
  const r = await execInContainer(
    client,
    options.container,
    withFileAsStdin(file, presetArgv('restore', options.settings), true),
    options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {},
  );
  if (r.exitCode !== 0) {
    throw new Error(
      `container ${options.container}: backrest.dump=${options.settings.preset}: loading the dump exited with ${r.exitCode}: ${tail(r)}`,
    );
  }
}

export interface DumpProbeResult {
  /** The probe's integer (user tables, keys, databases). */
  count: number;
  meaning: string;
  /** From the throwaway's start until the server answered the probe. */
  readyMs: number;
  loadMs: number;
}

/**
 * Entrypoint of a throwaway whose preset loads with the server stopped (redis, sqlite): the
 * preset's restore script reads the dump (`$1`), then the workload's own entrypoint and command
 * start the server on the loaded file. argv: file, the 7 items of `presetArgv('restore')`, then
 * the server's argv.
 */
const LOAD_THEN_EXEC = [
  'f=$1; shift',
  '"$1" "$2" "$3" "$4" "$5" "$6" "$7" < "$f" || { rc=$?; echo "dockop-load: loading the dump exited with $rc" >&2; exit $rc; }',
  'shift 7',
  'exec "$@"',
].join('\n');

/** The last lines a stopped throwaway wrote (Docker's multiplexed log frames), for the error. */
async function logsTail(client: DockerClient, id: string): Promise<string> {
  try {
    const raw = (await client.request('containers.logs', (d) =>
      d.getContainer(id).logs({ stdout: true, stderr: true, tail: 5, follow: false }),
    )) as unknown as Buffer;
    let buf = Buffer.isBuffer(raw) ? raw : Buffer.from(String(raw));
    const out: string[] = [];
    while (buf.length >= 8 && buf[1] === 0 && buf[2] === 0 && buf[3] === 0) {
      const len = buf.readUInt32BE(4);
      out.push(buf.subarray(8, 8 + len).toString('utf8'));
      buf = buf.subarray(8 + len);
    }
    if (buf.length > 0) out.push(buf.toString('utf8'));
    return out.join('').trim().split('\n').slice(-3).join(' | ') || 'no output';
  } catch {
    return 'its logs could not be read';
  }
}

/**
 * The drill of a dump: a throwaway container from the workload's image, environment, user,
 * entrypoint and command with no network and none of the workload's volumes, the dump loaded from
 * the scratch volume, the probe run. A preset that loads into a running server (postgres, mysql,
 * mariadb, mongo) loads through `docker exec` once the server answers; one that replaces a data
 * file with the server stopped (redis, sqlite) loads before the server starts, in the same
 * container (`LOAD_THEN_EXEC`). Removed (with its anonymous volumes) afterwards, also on failure
 * or abort. Fails when the load fails, the server never answers, or the probe finds nothing (0):
 * an empty restored database is not a restore.
 */
export async function probeDumpInThrowaway(
  client: DockerClient,
  options: {
    workload: string;
    image: string;
    env: string[];
    scratch: string;
    snapshotPath: string;
    settings: DumpSettings;
    labels: Record<string, string>;
    probeTimeoutMs: number;
    /** The workload's (`docker inspect` Config): the server starts as it does. Default: the image's. */
    entrypoint?: string[];
    cmd?: string[];
    user?: string;
    signal?: AbortSignal;
  },
): Promise<DumpProbeResult> {
  const preset = dumpPreset(options.settings.preset);
  const file = `${DUMP_MOUNT}${checkSnapshotPath(options.snapshotPath)}`;
  const started = performance.now();
  let container: Dockerode.Container | undefined;
  let command: { Entrypoint?: string[]; Cmd?: string[] } = {
    ...(options.entrypoint?.length ? { Entrypoint: options.entrypoint } : {}),
    ...(options.cmd?.length ? { Cmd: options.cmd } : {}),
  };
  if (preset.restoreNeedsStopped) {
    const restore = presetArgv('restore', options.settings);
    const server = [...(options.entrypoint ?? []), ...(options.cmd ?? [])];
    if (restore.length !== 7 || server.length === 0) {
      throw new Error(
        `backrest.dump=${preset.name}: cannot load before the server starts (no entrypoint or command known)`,
      );
    }
    command = {
      Entrypoint: ['sh', '-c', LOAD_THEN_EXEC, 'dockop-load', file, ...restore],
      Cmd: server,
    };
  }
  let loadMs = 0;
  try {
    container = await client.request('containers.create', (d) =>
      createContainer(d, {
        Image: options.image,
        Env: options.env,
        ...command,
        ...(options.user ? { User: options.user } : {}),
        Labels: options.labels,
        HostConfig: {
          NetworkMode: 'none',
          Mounts: [{ Type: 'volume', Source: options.scratch, Target: DUMP_MOUNT, ReadOnly: true }],
        },
      }),
    );
    const id = container.id;
    await client.request('containers.start', () => container!.start());
    const probe = presetArgv('probe', options.settings);
    // Ready = the probe answered twice in a row, a second apart: an image whose entrypoint runs
    // a temporary server during initialisation answers once and then restarts.
    let answered = 0;
    let last = '';
    const deadline = performance.now() + options.probeTimeoutMs;
    while (answered < 2) {
      if (options.signal?.aborted) throw new Error('aborted');
      if (performance.now() > deadline) {
        throw new Error(
          `the throwaway ${preset.name} server did not answer its probe within ${Math.round(options.probeTimeoutMs / 1000)} s: ${last}`,
        );
      }
      const info = await client.request('containers.inspect', (d) => d.getContainer(id).inspect());
      if (!info.State.Running) {
        throw new Error(
          `the throwaway container from ${options.image} exited with ${info.State.ExitCode} before answering: ${await logsTail(client, id)}`,
        );
      }
      const r = await execInContainer(client, id, probe, { timeoutMs: 30_000 }).catch(
        (err: unknown) =>
          ({ exitCode: -1, stdout: '', stderr: (err as Error).message }) as ExecResult,
      );
      if (r.exitCode === 0) answered++;
      else {
        answered = 0;
        last = tail(r);
      }
      await new Promise((res) => setTimeout(res, 1000));
    }
    const readyMs = performance.now() - started;
    if (!preset.restoreNeedsStopped) {
      const loadStarted = performance.now();
      const load = await execInContainer(
        client,
        id,
        withFileAsStdin(file, presetArgv('restore', options.settings), false),
        options.signal ? { signal: options.signal } : {},
      );
      if (load.exitCode !== 0) {
        throw new Error(`loading the dump exited with ${load.exitCode}: ${tail(load)}`);
      }
      loadMs = performance.now() - loadStarted;
    }
    const r = await execInContainer(client, id, probe, { timeoutMs: 60_000 });
    const count = Number(r.stdout.trim().split('\n').pop());
    if (r.exitCode !== 0 || !Number.isInteger(count)) {
      throw new Error(
        `the probe exited with ${r.exitCode}: ${tail(r)}${r.stdout ? ` (printed ${JSON.stringify(r.stdout.slice(0, 80))})` : ''}`,
      );
    }
    if (count === 0) {
      throw new Error(
        `the restored database holds 0 ${preset.probeMeaning}: the dump restored nothing`,
      );
    }
    return { count, meaning: preset.probeMeaning, readyMs, loadMs };
  } finally {
    if (container) {
      await client
        .request('containers.remove', () => container!.remove({ force: true, v: true }))
        .catch(() => undefined);
    }
  }
}

/**
 * Loads the staged dump for a preset whose restore replaces the data file with the server
 * stopped (redis, sqlite): a one-shot from the workload's image and environment with the
 * workload's volumes and bind mounts at their paths and the scratch volume read-only. The caller
 * has stopped the workload (quiesce) and starts it again, which loads the new file.
 */
export async function loadDumpStopped(
  actions: Pick<ContainerActions, 'runOneShot' | 'inspect'>,
  options: {
    target: WorkloadTarget;
    scratch: string;
    snapshotPath: string;
    settings: DumpSettings;
    labels: Record<string, string>;
    timeoutMs?: number;
  },
): Promise<void> {
  const info = await actions.inspect(options.target.id);
  const file = `${DUMP_MOUNT}${checkSnapshotPath(options.snapshotPath)}`;
  const [, ...cmd] = withFileAsStdin(file, presetArgv('restore', options.settings), false);
  const env = Object.fromEntries(
    (info.Config.Env ?? []).map((kv) => [
      kv.slice(0, kv.indexOf('=')),
      kv.slice(kv.indexOf('=') + 1),
    ]),
  );
  const mounts: OneShotMount[] = options.target.mounts
    .filter((m) => m.type === 'volume' || m.type === 'bind')
    .map((m) => ({
      type: m.type === 'volume' ? ('volume' as const) : ('bind' as const),
      source: m.type === 'volume' ? (m.name ?? m.source) : m.source,
      target: m.destination,
      readOnly: false,
    }));
  mounts.push({ type: 'volume', source: options.scratch, target: DUMP_MOUNT, readOnly: true });
  const err: string[] = [];
  const res = await actions.runOneShot(
    {
      image: info.Image,
      entrypoint: ['sh'],
      cmd,
      env,
      mounts,
      labels: options.labels,
      ...(info.Config.User ? { user: info.Config.User } : {}),
    },
    {
      ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
      onLog: (line, stream) => {
        if (stream === 'stderr') err.push(line);
      },
    },
  );
  if (res.exitCode !== 0) {
    throw new Error(
      `container ${options.target.name}: backrest.dump=${options.settings.preset}: loading the dump exited with ${res.exitCode}: ${err.slice(-3).join(' | ')}`,
    );
  }
}
