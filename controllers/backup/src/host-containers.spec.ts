import type { ContainerActions, HostContainerChanges } from '@dockop/docker';
import { expect } from 'chai';
import type Dockerode from 'dockerode';
import { HostContainers } from './host-containers.js';

function container(name: string, mounts: object[]): Dockerode.ContainerInfo {
  return {
    Id: `${name}-id`,
    Names: [`/${name}`],
    Image: 'busybox',
    ImageID: 'sha256:1',
    State: 'running',
    Labels: {},
    Mounts: mounts,
  } as unknown as Dockerode.ContainerInfo;
}

const volume = {
  Type: 'volume',
  Name: 'v',
  Source: '/var/lib/docker/volumes/v/_data',
  Destination: '/d',
  RW: true,
};
const tmpfs = { Type: 'tmpfs', Source: '', Destination: '/run', RW: true };

describe('HostContainers', () => {
  it('a change of containers without a volume or bind mount leaves the coverage as it was', async () => {
    const host = new Map<string, Dockerode.ContainerInfo>([['db-id', container('db', [volume])]]);
    const lists: unknown[] = [];
    const actions = {
      list: async (filters: { id?: string[] }) => {
        lists.push(filters);
        return [...host.values()].filter((c) => !filters.id || filters.id.includes(c.Id));
      },
    } as unknown as ContainerActions;
    const log: string[] = [];
    const changes: HostContainerChanges = {
      hostChanges: () => ({ revision: log.length + 1, lastChangeAt: -Infinity }),
      changedSince: (r) => [...new Set(log.slice(r - 1))],
    };
    const containers = new HostContainers(actions, changes);
    expect((await containers.current(0)).changed).to.equal(true); // the first count
    expect((await containers.current(0)).changed).to.equal(false);

    // Churn of mount-less containers (created and destroyed, a tmpfs one kept): listed, not counted.
    host.set('a-id', container('a', []));
    host.set('t-id', container('t', [tmpfs]));
    log.push('a-id', 't-id', 'b-id');
    let now = await containers.current(0);
    expect(now.changed).to.equal(false);
    expect(now.targets.map((t) => t.name).sort()).to.deep.equal(['a', 'db', 't']);
    expect(lists).to.have.length(2); // the host, then the three ids

    // One with a volume appears: counted; and again when it goes.
    host.set('w-id', container('w', [volume]));
    log.push('w-id');
    expect((await containers.current(0)).changed).to.equal(true);
    host.delete('w-id');
    log.push('w-id');
    now = await containers.current(0);
    expect(now.changed).to.equal(true);
    expect(now.targets.map((t) => t.name).sort()).to.deep.equal(['a', 'db', 't']);
  });
});
