import { expect } from 'chai';
import type { ContainerActions, OneShotSpec } from '@dockop/docker';
import { getEventListeners } from 'node:events';
import { ContainerResticRunner, LocalResticRunner, RESTIC_STOP_GRACE_MS } from './restic-runner.js';

describe('ContainerResticRunner', () => {
  it('asks for SIGINT and a grace before SIGKILL on abort (restic unlocks on SIGINT)', async () => {
    const specs: OneShotSpec[] = [];
    const actions: Pick<ContainerActions, 'runOneShot'> = {
      runOneShot: (spec) => {
        specs.push(spec);
        return Promise.resolve({ exitCode: 0, containerId: 'c', durationMs: 1 });
      },
    };
    await new ContainerResticRunner(actions, { image: 'restic:test', env: {} }).run(['snapshots']);
    expect(specs).to.have.length(1);
    expect(specs[0]).to.include({ stopSignal: 'SIGINT', stopGraceMs: RESTIC_STOP_GRACE_MS });
  });
});

describe('LocalResticRunner', () => {
  it('leaves no abort listener on a signal that outlives the run (a daemon runs restic often)', async () => {
    const daemon = new AbortController();
    const runner = new LocalResticRunner({ binary: 'true' });
    for (let i = 0; i < 3; i++) {
      const r = await runner.run(['version'], { signal: daemon.signal });
      expect(r.exitCode).to.equal(0);
    }
    expect(getEventListeners(daemon.signal, 'abort')).to.have.length(0);
  });
});
