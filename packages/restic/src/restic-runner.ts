import { spawn } from 'node:child_process';
import type { ContainerActions, OneShotMount } from '@dockop/docker';
import {
  BASE_ENV_ALLOW_LIST,
  childEnv,
  SecretRedactor,
  type ChildEnv,
  type Redactor,
} from '@dockop/runtime';

/**
 * Strategy that runs one restic invocation: the host's `restic` binary, or a one-shot container
 * from a restic image. Both take the repository and password from environment variables
 * (`RESTIC_REPOSITORY`, `RESTIC_PASSWORD`, ...), never from argv, so nothing secret is visible in
 * `ps` or `docker inspect` of the command.
 */
export const ResticRunner = Symbol.for('backrest-sidecar.ResticRunner');

export interface ResticRunOptions {
  signal?: AbortSignal;
  /** Every stdout line as it arrives (already redacted), e.g. `backup --json` status lines. */
  onStdoutLine?: (line: string) => void;
  /** Every stderr line as it arrives (already redacted). */
  onStderrLine?: (line: string) => void;
  /** Extra mounts for this run (container runner only; the local runner refuses them). */
  mounts?: OneShotMount[];
  /** Extra labels on the one-shot container (container runner only). */
  labels?: Record<string, string>;
  /**
   * restic's stdin (`backup --stdin`). restic reads EOF only when it ends; on abort restic is
   * killed first, so a cut-off input never becomes a snapshot.
   */
  stdin?: NodeJS.ReadableStream;
}

export interface ResticRunResult {
  exitCode: number;
  /** Redacted. */
  stdout: string;
  /** Redacted. */
  stderr: string;
  durationMs: number;
}

export interface ResticRunner {
  /** For logs: what runs restic (`restic binary` / `container restic/restic:0.14.0`), no secrets. */
  readonly description: string;
  run(args: string[], opts?: ResticRunOptions): Promise<ResticRunResult>;
}

/** A restic run that exited non-zero; `stderr` is redacted. */
export class ResticError extends Error {
  override readonly name = 'ResticError';
  constructor(
    readonly command: string,
    readonly exitCode: number,
    readonly stderr: string,
  ) {
    const tail = stderr.trim().split('\n').slice(-3).join(' | ');
    super(`restic ${command} exited with ${exitCode}${tail ? `: ${tail}` : ''}`);
  }
}

/** Runs `args` and throws ResticError on a non-zero exit. */
export async function runResticChecked(
  runner: ResticRunner,
  args: string[],
  opts?: ResticRunOptions,
): Promise<ResticRunResult> {
  const result = await runner.run(args, opts);
  if (result.exitCode !== 0) throw new ResticError(args[0] ?? '', result.exitCode, result.stderr);
  return result;
}

class LineSplitter {
  #rest = '';
  constructor(readonly onLine: (line: string) => void) {}
  push(chunk: string): void {
    const parts = (this.#rest + chunk).split('\n');
    this.#rest = parts.pop() ?? '';
    for (const p of parts) this.onLine(p.replace(/\r$/, ''));
  }
  end(): void {
    if (this.#rest !== '') this.onLine(this.#rest);
    this.#rest = '';
  }
}

/**
 * Parent variables restic may need besides the base list: its own settings and the storage
 * backends' credentials (S3, B2, Azure, GCS, Swift, rclone) and its cache location.
 */
export const RESTIC_ENV_ALLOW_LIST: ReadonlyArray<string | RegExp> = Object.freeze([
  ...BASE_ENV_ALLOW_LIST,
  'XDG_CACHE_HOME',
  /^(RESTIC|AWS|B2|AZURE|GOOGLE|OS|ST|RCLONE)_/,
]);

/**
 * Variable names whose values are secrets for restic: every RESTIC_* and storage backend
 * variable (a repository location may embed credentials), and anything named like a password,
 * secret, token or key.
 */
export const RESTIC_SECRET_ENV_NAMES =
  /^(RESTIC_|AWS_|B2_|AZURE_|GOOGLE_|OS_|ST_|RCLONE_)|PASS|PWD|SECRET|TOKEN|KEY/i;

/**
 * The project's redactor (`redactor`, or a new one) taught the secret values of `env`; restic
 * output, errors and logs go through it.
 */
export function resticRedactor(
  env: Readonly<Record<string, string | undefined>>,
  redactor: Redactor = new SecretRedactor(),
): Redactor {
  redactor.addSecretEnv(env, RESTIC_SECRET_ENV_NAMES);
  return redactor;
}

export interface LocalResticRunnerOptions {
  /** Default `restic` (looked up on PATH). */
  binary?: string;
  /** Variables from `--rcb-env-file` / `--restic-env-file`; they override `baseEnv`. */
  env?: Record<string, string>;
  /** Default `process.env`; only `RESTIC_ENV_ALLOW_LIST` variables (own properties) pass. */
  baseEnv?: NodeJS.ProcessEnv;
  /** Shared redactor to teach the env's secret values (the logger's). Default: a new one. */
  redactor?: Redactor;
}

/** Runs the host's restic binary. */
export class LocalResticRunner implements ResticRunner {
  readonly description: string;
  readonly #binary: string;
  readonly #env: ChildEnv;
  readonly #redact: (t: string) => string;

  constructor(options: LocalResticRunnerOptions = {}) {
    this.#binary = options.binary ?? 'restic';
    this.#env = childEnv({
      parent: options.baseEnv ?? process.env,
      allow: RESTIC_ENV_ALLOW_LIST,
      ...(options.env ? { set: options.env } : {}),
    });
    const redactor = resticRedactor(this.#env, options.redactor);
    this.#redact = (t) => redactor.redactString(t);
    this.description = `restic binary ${this.#binary}`;
  }

  run(args: string[], opts: ResticRunOptions = {}): Promise<ResticRunResult> {
    if (opts.mounts?.length) {
      return Promise.reject(new Error('the local restic runner cannot add mounts'));
    }
    const started = performance.now();
    return new Promise((resolve, reject) => {
      // Aborted: SIGINT, restic's clean-up-and-exit, which removes its repository lock (restic
      // 0.14 not every time; SIGTERM and SIGKILL never do, and the lock blocks every run for
      // 30 min); SIGKILL if it has not exited after the grace.
      const child = spawn(this.#binary, args, {
        env: this.#env,
        stdio: [opts.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
        ...(opts.signal ? { signal: opts.signal, killSignal: 'SIGINT' } : {}),
      });
      let escalation: NodeJS.Timeout | undefined;
      const escalate = (): void => {
        escalation = setTimeout(() => child.kill('SIGKILL'), RESTIC_STOP_GRACE_MS).unref();
      };
      // Removed on close: a daemon's signal outlives many runs.
      opts.signal?.addEventListener('abort', escalate, { once: true });
      if (opts.stdin && child.stdin) {
        const input = opts.stdin;
        const sink = child.stdin;
        sink.on('error', () => {}); // EPIPE when restic exits early: its exit code says why
        opts.signal?.addEventListener('abort', () => input.unpipe(sink), { once: true });
        input.pipe(sink);
      }
      const out: string[] = [];
      const err: string[] = [];
      const outLines = new LineSplitter((l) => {
        const r = this.#redact(l);
        out.push(r);
        opts.onStdoutLine?.(r);
      });
      const errLines = new LineSplitter((l) => {
        const r = this.#redact(l);
        err.push(r);
        opts.onStderrLine?.(r);
      });
      child.stdout!.setEncoding('utf8').on('data', (c: string) => outLines.push(c));
      child.stderr!.setEncoding('utf8').on('data', (c: string) => errLines.push(c));
      child.on('error', (e) => {
        // The abort itself: restic is still unlocking; 'close' reports it once it has exited.
        if (opts.signal?.aborted && e.name === 'AbortError') return;
        reject(new Error(`cannot run ${this.#binary}: ${e.message}`, { cause: e }));
      });
      child.on('close', (code, sig) => {
        clearTimeout(escalation);
        opts.signal?.removeEventListener('abort', escalate);
        outLines.end();
        errLines.end();
        if (opts.signal?.aborted) {
          reject(new Error(`restic ${args[0] ?? ''} aborted`, { cause: opts.signal.reason }));
          return;
        }
        resolve({
          exitCode: code ?? (sig ? 128 : 1),
          stdout: out.join('\n'),
          stderr: err.join('\n'),
          durationMs: performance.now() - started,
        });
      });
    });
  }
}

export interface ContainerResticRunnerOptions {
  /** Image whose entrypoint is restic. Default `restic/restic:0.14.0`. */
  image?: string;
  /** Passed to the container as environment variables. */
  env?: Record<string, string>;
  /** Mounts on every run, e.g. a local repository directory or a cache volume. */
  mounts?: OneShotMount[];
  /** Labels on every one-shot container (so a crashed run's leftovers are findable). */
  labels?: Record<string, string>;
  /** Deadline of one run in ms. Default: ContainerActions' default (6 h). */
  timeoutMs?: number;
  /** Shared redactor to teach the env's secret values (the logger's). Default: a new one. */
  redactor?: Redactor;
}

/** How long an aborted restic gets to clean up (unlock its repository, on SIGINT) before SIGKILL. */
export const RESTIC_STOP_GRACE_MS = 10_000;

export const DEFAULT_RESTIC_IMAGE = 'restic/restic:0.14.0';

/** Runs restic in a one-shot container (`docker run --rm <image> <args>`). */
export class ContainerResticRunner implements ResticRunner {
  readonly description: string;
  readonly #actions: Pick<ContainerActions, 'runOneShot'>;
  readonly #opts: ContainerResticRunnerOptions;
  readonly #redact: (t: string) => string;

  constructor(
    actions: Pick<ContainerActions, 'runOneShot'>,
    options: ContainerResticRunnerOptions = {},
  ) {
    this.#actions = actions;
    this.#opts = options;
    const redactor = resticRedactor(options.env ?? {}, options.redactor);
    this.#redact = (t) => redactor.redactString(t);
    this.description = `container ${options.image ?? DEFAULT_RESTIC_IMAGE}`;
  }

  get image(): string {
    return this.#opts.image ?? DEFAULT_RESTIC_IMAGE;
  }

  async run(args: string[], opts: ResticRunOptions = {}): Promise<ResticRunResult> {
    const out: string[] = [];
    const err: string[] = [];
    const result = await this.#actions.runOneShot(
      {
        image: this.image,
        cmd: args,
        env: this.#opts.env ?? {},
        mounts: [...(this.#opts.mounts ?? []), ...(opts.mounts ?? [])],
        labels: { ...this.#opts.labels, ...opts.labels },
        // An aborted run (SIGINT/SIGTERM to us, a timeout) gets SIGINT first: restic's
        // clean-up-and-exit removes its lock (0.14 not every time); killed, it leaves one that
        // blocks every run for 30 min.
        stopSignal: 'SIGINT',
        stopGraceMs: RESTIC_STOP_GRACE_MS,
      },
      {
        ...(opts.signal ? { signal: opts.signal } : {}),
        ...(opts.stdin ? { stdin: opts.stdin } : {}),
        ...(this.#opts.timeoutMs !== undefined ? { timeoutMs: this.#opts.timeoutMs } : {}),
        onLog: (line, stream) => {
          const r = this.#redact(line);
          if (stream === 'stdout') {
            out.push(r);
            opts.onStdoutLine?.(r);
          } else {
            err.push(r);
            opts.onStderrLine?.(r);
          }
        },
      },
    );
    return {
      exitCode: result.exitCode,
      stdout: out.join('\n'),
      stderr: err.join('\n'),
      durationMs: result.durationMs,
    };
  }
}
