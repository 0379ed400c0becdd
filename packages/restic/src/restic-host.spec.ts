import { expect } from 'chai';
import type { DockerClient } from '@dockop/docker';
import { RESTIC_HOST_ENV, resolveResticHost } from './restic-host.js';

const engine = (name: unknown): Pick<DockerClient, 'request'> =>
  ({ request: async () => ({ Name: name }) }) as unknown as Pick<DockerClient, 'request'>;

describe('resolveResticHost', () => {
  it('prefers the flag, then the env, then the Docker engine name', async () => {
    expect(
      await resolveResticHost(engine('docker-1'), 'flag-host', { [RESTIC_HOST_ENV]: 'e' }),
    ).to.equal('flag-host');
    expect(
      await resolveResticHost(engine('docker-1'), undefined, { [RESTIC_HOST_ENV]: 'env-host' }),
    ).to.equal('env-host');
    expect(await resolveResticHost(engine('docker-1'), undefined, {})).to.equal('docker-1');
  });

  it('refuses a name restic or a shell would misread, naming where it came from', async () => {
    await resolveResticHost(engine('x'), '--all', {}).then(
      () => expect.fail('accepted'),
      (err: Error) => expect(err.message).to.include('"--all"').and.include('--restic-host'),
    );
    await resolveResticHost(engine(''), undefined, {}).then(
      () => expect.fail('accepted'),
      (err: Error) => expect(err.message).to.include(RESTIC_HOST_ENV),
    );
    await resolveResticHost(engine('a b'), undefined, {}).then(
      () => expect.fail('accepted'),
      (err: Error) => expect(err.message).to.include('docker info Name'),
    );
  });
});
