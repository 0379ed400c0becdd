import { expect } from 'chai';
import type { ContainerActions } from '@dockop/docker';
import type Dockerode from 'dockerode';
import { WorkloadRefError, resolveWorkload, workloadRef } from './workload-ref.js';

const info = (name: string, labels: Record<string, string> = {}): Dockerode.ContainerInfo =>
  ({
    Id: `id-${name}`,
    Names: [`/${name}`],
    Image: 'busybox',
    ImageID: 'sha256:aa',
    Command: 'sh',
    Created: 1_700_000_000,
    Ports: [],
    Labels: { 'backrest.enable': 'true', ...labels },
    State: 'running',
    Status: 'Up',
    HostConfig: { NetworkMode: 'none' },
    NetworkSettings: { Networks: {} },
    Mounts: [],
  }) as Dockerode.ContainerInfo;

/** `list` as Docker answers it: the name filter is a regular expression on `/name`. */
function actions(containers: Dockerode.ContainerInfo[]): Pick<ContainerActions, 'list'> {
  return {
    list: (filters?: Record<string, string[]>) =>
      Promise.resolve(
        containers.filter((c) =>
          (filters?.['name'] ?? []).every((re) => c.Names.some((n) => new RegExp(re).test(n))),
        ),
      ),
  } as Pick<ContainerActions, 'list'>;
}

describe('workloadRef / resolveWorkload', () => {
  const compose = (service: string, n: number) => ({
    'com.docker.compose.project': 'shop',
    'com.docker.compose.service': service,
    'com.docker.compose.container-number': String(n),
  });

  it("selects a container's own snapshots, its service's as one of its replicas, and its plan's", async () => {
    const host = [info('shop-app-1', compose('app', 1)), info('shop-app-2', compose('app', 2))];
    const ref = await resolveWorkload(actions(host), 'shop-app-2');
    expect(ref.target?.name).to.equal('shop-app-2');
    // The service's snapshot is tagged container:shop-app-1, replica:shop-app-1, replica:shop-app-2.
    expect(ref.tags).to.deep.equal([
      'container:shop-app-2',
      'replica:shop-app-2',
      'plan:backrest_sidecar_shop_app',
    ]);
  });

  it('resolves a plan id to its container, and keeps a gone container as a bare name', async () => {
    const host = [info('shop-db-1', compose('db', 1))];
    const byPlan = await resolveWorkload(actions(host), 'backrest_sidecar_shop_db');
    expect(byPlan.name).to.equal('shop-db-1');
    const gone = await resolveWorkload(actions(host), 'old-db');
    expect(gone.target).to.equal(undefined);
    expect(gone.tags).to.deep.equal(['container:old-db', 'replica:old-db', 'plan:old-db']);
  });

  it('refuses a ref that is not a name (it would reach a restic tag and a Docker filter)', async () => {
    for (const bad of ['a,b', '', '-x', 'a b', 'x/../y']) {
      await resolveWorkload(actions([]), bad).then(
        () => expect.fail(`accepted ${JSON.stringify(bad)}`),
        (err: unknown) => expect(err).to.be.instanceOf(WorkloadRefError),
      );
    }
  });

  it('a bare name stands for a container, a replica and a plan id alike', () => {
    expect(workloadRef('x', undefined).tags).to.deep.equal(['container:x', 'replica:x', 'plan:x']);
  });
});
