// Child processes and one-shot containers get explicit environments: a key planted on
// Object.prototype (prototype pollution) never reaches them, and our own env passes only by
// allow-list. Real processes, real restic-runner code, real engine for the one-shot.
import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type Docker from 'dockerode';
import { DockerContainerActions, DockerodeClient } from '@dockop/docker';
import { createNullLogger, InMemoryEventRecorder, makeKey } from '@dockop/runtime';
import { CommandApplier } from '@backrest-sidecar/controller-plan';
import { createResticRunner, LocalResticRunner, parseEnvFile } from '@backrest-sidecar/restic';
import { removeLabeled, requireEngine, runId, WORKLOAD_IMAGE } from './support/engine.js';

const PLANTED = 'RESTIC_PASSWORD_COMMAND';

async function withPlanted<T>(fn: () => Promise<T>): Promise<T> {
  const proto = Object.prototype as Record<string, unknown>;
  proto[PLANTED] = 'echo pwned';
  try {
    return await fn();
  } finally {
    delete proto[PLANTED];
  }
}

describe('explicit child environments under prototype pollution', function () {
  this.timeout(60_000);
  let dir: string;

  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'dockop-childenv-'));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
    expect(Object.prototype).to.not.have.property(PLANTED);
  });

  it('the local restic runner: no planted key, no unlisted parent variable, env-file values set', async () => {
    const result = await withPlanted(() =>
      new LocalResticRunner({
        binary: 'sh',
        baseEnv: { PATH: process.env.PATH, SIDECAR_ONLY: 'x', XDG_CACHE_HOME: '/cache' },
        env: { RESTIC_PASSWORD: 'from-file' },
      }).run([
        '-c',
        'echo "cmd=${RESTIC_PASSWORD_COMMAND-unset} only=${SIDECAR_ONLY-unset} cache=$XDG_CACHE_HOME pw-set=${RESTIC_PASSWORD:+yes}"',
      ]),
    );
    expect(result.exitCode).to.equal(0);
    expect(result.stdout).to.equal('cmd=unset only=unset cache=/cache pw-set=yes');
  });

  it('the reload command of CommandApplier: no planted key, no unlisted parent variable', async () => {
    const out = path.join(dir, 'reload.out');
    const applier = new CommandApplier({
      command: `echo "cmd=\${RESTIC_PASSWORD_COMMAND-unset} only=\${SIDECAR_ONLY-unset} docker=$DOCKER_HOST" > ${out}`,
      parentEnv: { PATH: process.env.PATH, SIDECAR_ONLY: 'x', DOCKER_HOST: 'unix:///x.sock' },
    });
    const outcome = await withPlanted(() =>
      applier.apply({
        logger: createNullLogger(),
        recorder: new InMemoryEventRecorder(),
        key: makeKey('BackrestConfig', 'config'),
      }),
    );
    expect(outcome.status).to.equal('applied');
    expect(readFileSync(out, 'utf8').trim()).to.equal('cmd=unset only=unset docker=unix:///x.sock');
  });

  it('an env file bare KEY takes only an own process variable, never a planted one', async () => {
    const env = await withPlanted(async () =>
      parseEnvFile(`${PLANTED}\nRESTIC_REPOSITORY=/r\n`, 'rcb.env', { PATH: '/bin' }),
    );
    expect({ ...env }).to.deep.equal({ RESTIC_REPOSITORY: '/r' });
  });

  describe('one-shot containers (real engine)', function () {
    const id = runId();
    const runLabel = 'itchildenv.run';
    let engine: Docker;

    before(async function () {
      engine = await requireEngine(this);
    });
    after(async function () {
      if (engine) await removeLabeled(engine, `${runLabel}=${id}`);
    });

    // Planting on Object.prototype itself breaks dockerode's own requests (docker-modem walks
    // inherited keys), so these inherit from a planted prototype of their own instead.
    const planted = (own: Record<string, string>): Record<string, string> =>
      Object.assign(Object.create({ [PLANTED]: 'echo pwned' }) as Record<string, string>, own);
    const script =
      'echo "cmd=${RESTIC_PASSWORD_COMMAND-unset} only=${SIDECAR_ONLY-unset} repo=${RESTIC_REPOSITORY:+set}"';

    it('a one-shot gets exactly its spec env, own properties only', async () => {
      const out: string[] = [];
      const result = await new DockerContainerActions(new DockerodeClient()).runOneShot(
        {
          image: WORKLOAD_IMAGE,
          cmd: ['sh', '-c', script],
          env: planted({ RESTIC_REPOSITORY: '/repo' }),
          labels: { [runLabel]: id },
        },
        { timeoutMs: 30_000, onLog: (l) => out.push(l) },
      );
      expect(result.exitCode).to.equal(0);
      expect(out).to.deep.equal(['cmd=unset only=unset repo=set']);
    });

    it('a container restic runner without env file takes restic variables from our env only', async () => {
      const runner = await createResticRunner(
        { kind: 'container', image: WORKLOAD_IMAGE, labels: { [runLabel]: id } },
        new DockerContainerActions(new DockerodeClient()),
        planted({ PATH: '/usr/bin', SIDECAR_ONLY: 'x', RESTIC_REPOSITORY: '/repo' }),
      );
      // busybox's image has no restic entrypoint: the args are the command.
      const result = await runner.run(['sh', '-c', script]);
      expect(result.exitCode).to.equal(0);
      expect(result.stdout).to.equal('cmd=unset only=unset repo=set');
    });
  });
});
