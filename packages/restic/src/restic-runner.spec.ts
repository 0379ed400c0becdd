import { expect } from 'chai';
import type { ContainerActions, OneShotSpec } from '@dockop/docker';
import { ContainerResticRunner, RESTIC_STOP_GRACE_MS } from './restic-runner.js';

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
