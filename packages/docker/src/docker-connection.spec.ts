import { expect } from 'chai';
import { parseDockerHost, resolveDockerConnection } from './docker-connection.js';

describe('docker-connection', () => {
  it('defaults to the standard unix socket', () => {
    expect(resolveDockerConnection({}, {})).to.deep.include({
      socketPath: '/var/run/docker.sock',
      host: undefined,
    });
  });

  it('reads DOCKER_HOST in unix, tcp and ssh forms', () => {
    expect(
      resolveDockerConnection({}, { DOCKER_HOST: 'unix:///run/user/1000/docker.sock' }).socketPath,
    ).to.equal('/run/user/1000/docker.sock');
    expect(resolveDockerConnection({}, { DOCKER_HOST: 'tcp://10.0.0.5:2375' })).to.deep.include({
      host: '10.0.0.5',
      port: '2375',
      protocol: 'http',
      socketPath: undefined,
    });
    expect(resolveDockerConnection({}, { DOCKER_HOST: 'tcp://h:2376' })).to.deep.include({
      protocol: 'https',
    });
    expect(
      resolveDockerConnection({}, { DOCKER_HOST: 'tcp://h:1234', DOCKER_TLS_VERIFY: '1' }),
    ).to.deep.include({ protocol: 'https' });
    expect(
      resolveDockerConnection(
        {},
        { DOCKER_HOST: 'ssh://ops@build.example:2222', SSH_AUTH_SOCK: '/a' },
      ),
    ).to.deep.include({
      host: 'build.example',
      port: '2222',
      protocol: 'ssh',
      username: 'ops',
    });
  });

  it('lets options win over DOCKER_HOST, socketPath over host', () => {
    const env = { DOCKER_HOST: 'tcp://remote:2375' };
    expect(resolveDockerConnection({ socketPath: '/tmp/d.sock' }, env)).to.deep.include({
      socketPath: '/tmp/d.sock',
      host: undefined,
    });
    expect(resolveDockerConnection({ host: 'unix:///x.sock' }, env).socketPath).to.equal('/x.sock');
    expect(
      resolveDockerConnection({ socketPath: '/a', host: 'tcp://b:1' }, {}).socketPath,
    ).to.equal('/a');
  });

  it('pins the API version from the option or DOCKER_API_VERSION', () => {
    expect(resolveDockerConnection({}, { DOCKER_API_VERSION: '1.41' }).version).to.equal('v1.41');
    expect(
      resolveDockerConnection({ apiVersion: '1.43' }, { DOCKER_API_VERSION: '1.41' }).version,
    ).to.equal('v1.43');
    expect(resolveDockerConnection({}, {}).version).to.equal(undefined);
  });

  it('refuses an unusable address with a clear message', () => {
    expect(() => parseDockerHost('ftp://x')).to.throw(/unsupported scheme ftp:/);
    expect(() => parseDockerHost('tcp://')).to.throw(/invalid Docker host "tcp:\/\/"/);
  });
});
