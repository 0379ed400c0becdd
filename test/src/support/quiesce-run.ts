import type Docker from 'dockerode';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createContainer } from '@dockop/docker';
import { WORKLOAD_IMAGE, removeLabeled, runId } from './engine.js';
import { CLI_BIN } from './plan-cli.js';

/**
 * One container that `backup-once --quiesce-label` stops and starts again, for the specs that
 * interrupt that window. The backup between is `--engine rcb` with an image that is never pulled:
 * it fails at once (exit 1, `backup.fatal`), after the stop and before the start.
 */
export class QuiesceRun {
  readonly run = runId();
  /** `dockop.test.run=<tag>-<run>`: the container's label and the run's `--selector`. */
  readonly runLabel: string;
  readonly #tag: string;
  readonly #quiesceKey: string;
  #stateDir: string | undefined;

  constructor(tag: string) {
    this.#tag = `${tag}-${this.run}`;
    this.runLabel = `dockop.test.run=${this.#tag}`;
    this.#quiesceKey = `dockop.test.${this.#tag}`;
  }

  /** The run's `--state-dir` (its quiesce journal), made by `prepare`. */
  get stateDir(): string {
    if (!this.#stateDir) throw new Error('QuiesceRun.prepare() first');
    return this.#stateDir;
  }

  async prepare(): Promise<void> {
    this.#stateDir = await mkdtemp(path.join(tmpdir(), `${this.#tag}-`));
  }

  /** A running container that takes `stopSeconds` to stop (its TERM trap sleeps first). */
  async container(docker: Docker, stopSeconds: number): Promise<Docker.Container> {
    const c = await createContainer(docker, {
      name: this.#tag,
      Image: WORKLOAD_IMAGE,
      Cmd: ['sh', '-c', `trap "sleep ${stopSeconds}; exit 0" TERM; while true; do sleep 1; done`],
      Labels: { 'dockop.test.run': this.#tag, [this.#quiesceKey]: 'true' },
      HostConfig: { NetworkMode: 'none' },
    });
    await c.start();
    return c;
  }

  /** `backup-once` over the container, its stdout and stderr as `stdio` says. */
  spawnBackup(extra: string[], stdio: ('ignore' | 'pipe')[]): ChildProcess {
    return spawn(
      process.execPath,
      [
        CLI_BIN,
        'backup-once',
        '--engine',
        'rcb',
        '--rcb-image',
        'dockop-test/never-pulled:none',
        '--no-forget',
        '--quiesce-label',
        `${this.#quiesceKey}=true`,
        '--state-dir',
        this.stateDir,
        '--selector',
        this.runLabel,
        ...extra,
      ],
      { stdio: ['ignore', stdio[0] ?? 'pipe', stdio[1] ?? 'pipe'] },
    );
  }

  async cleanUp(docker: Docker | undefined): Promise<void> {
    if (docker) await removeLabeled(docker, this.runLabel);
    if (this.#stateDir) await rm(this.#stateDir, { recursive: true, force: true });
  }
}
