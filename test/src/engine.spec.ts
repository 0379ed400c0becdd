import type Docker from 'dockerode';
import { expect } from 'chai';
import {
  WORKLOAD_IMAGE,
  engineVersion,
  removeLabeled,
  requireEngine,
  runId,
} from './support/engine.js';
import { createContainer } from '@dockop/docker';

// The foundation's proof that integration tests talk to a real engine: create a labeled container
// with a bind mount and a named volume, read it back through a server-side label filter, check its
// mounts, remove it.
describe('local Docker engine (integration)', function () {
  let docker: Docker;
  const run = runId();
  const runLabel = `dockop.test.run=${run}`;
  const volumeName = `dockop-test-${run}`;

  before(async function () {
    docker = await requireEngine(this);
    console.log(`      engine: Docker ${await engineVersion()}`);
  });

  after(async function () {
    if (!docker) return;
    await removeLabeled(docker, runLabel);
    await docker
      .getVolume(volumeName)
      .remove()
      .catch(() => undefined);
  });

  it('creates a labeled container, finds it with a label filter and sees its mounts', async function () {
    const name = `dockop-engine-${run}`;
    await createContainer(docker, {
      name,
      Image: WORKLOAD_IMAGE,
      Cmd: ['sleep', '300'],
      Labels: { 'dockop.test.run': run, 'backrest.enable': 'true' },
      HostConfig: {
        NetworkMode: 'none',
        Binds: ['/tmp:/host-tmp:ro'],
        Mounts: [{ Type: 'volume', Source: volumeName, Target: '/data' }],
      },
    });
    await docker.getContainer(name).start();

    const found = await docker.listContainers({
      all: true,
      filters: { label: [runLabel, 'backrest.enable=true'] },
    });
    expect(found.map((c) => c.Names[0])).to.deep.equal([`/${name}`]);
    expect(found[0]?.State).to.equal('running');

    const info = await docker.getContainer(name).inspect();
    const mounts = info.Mounts.map((m) => ({
      type: m.Type,
      source: m.Source,
      destination: m.Destination,
      name: m.Name,
    })).sort((a, b) => a.destination.localeCompare(b.destination));
    expect(mounts).to.have.length(2);
    expect(mounts[0]).to.include({ type: 'volume', destination: '/data', name: volumeName });
    expect(mounts[0]?.source).to.match(new RegExp(`/volumes/${volumeName}/_data$`));
    expect(mounts[1]).to.include({ type: 'bind', source: '/tmp', destination: '/host-tmp' });

    await docker.getContainer(name).remove({ force: true });
    const after = await docker.listContainers({ all: true, filters: { label: [runLabel] } });
    expect(after).to.have.length(0);
  });
});
