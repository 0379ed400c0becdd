// runOneShot log delivery against the real engine: dockerd's follow stream may close before it
// sends a final line that has no newline (flushed as the container exits); runOneShot re-reads
// the end of the log, so every line arrives exactly once.
import { expect } from 'chai';
import type Docker from 'dockerode';
import { DockerContainerActions, DockerodeClient } from '@dockop/docker';
import { removeLabeled, requireEngine, runId, WORKLOAD_IMAGE } from './support/engine.js';

describe('docker actions: one-shot logs (real engine)', function () {
  const id = runId();
  const runLabel = 'itactlogs.run';
  let engine: Docker;
  let actions: DockerContainerActions;

  before(async function () {
    engine = await requireEngine(this);
    actions = new DockerContainerActions(new DockerodeClient());
  });

  after(async function () {
    this.timeout(60_000);
    if (engine) await removeLabeled(engine, `${runLabel}=${id}`);
  });

  async function run(script: string): Promise<{ stdout: string[]; stderr: string[] }> {
    const got = { stdout: [] as string[], stderr: [] as string[] };
    await actions.runOneShot(
      { image: WORKLOAD_IMAGE, cmd: ['sh', '-c', script], labels: { [runLabel]: id } },
      { onLog: (line, stream) => got[stream].push(line) },
    );
    return got;
  }

  // The race loses the last line about one run in four on Docker 20.10: repeat to catch it.
  it('delivers unterminated last lines of both streams, once, run after run', async function () {
    this.timeout(60_000);
    for (let i = 0; i < 12; i++) {
      expect(
        await run('echo one; echo two >&2; printf "three\\nfour"; printf "five" >&2'),
      ).to.deep.equal({ stdout: ['one', 'three', 'four'], stderr: ['two', 'five'] }, `run ${i}`);
    }
  });

  it('delivers every line of an interleaved burst once, in order per stream', async function () {
    this.timeout(60_000);
    const n = 300;
    const expected = {
      stdout: [...Array.from({ length: n }, (_, i) => `out${i + 1}`), 'tail'],
      stderr: Array.from({ length: n }, (_, i) => `err${i + 1}`),
    };
    for (let i = 0; i < 4; i++) {
      const got = await run(
        `i=1; while [ $i -le ${n} ]; do echo out$i; echo err$i >&2; i=$((i+1)); done; printf tail`,
      );
      expect(got).to.deep.equal(expected, `run ${i}`);
    }
  });
});
