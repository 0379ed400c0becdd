import { expect } from 'chai';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { inspect } from 'node:util';
import { DockerodeClient } from './docker-client.js';

describe('DockerodeClient', () => {
  let dir: string;
  let server: Server;
  let socketPath: string;
  const seen: string[] = [];

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'docker-client-'));
    socketPath = path.join(dir, 'docker.sock');
    server = createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      res.setHeader('Content-Type', 'text/plain');
      res.end('OK');
    });
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  });

  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  it('talks to a unix socket without deriving a TLS server name (no net.isIP per request)', async () => {
    const client = new DockerodeClient({ socketPath });
    const isIP = net.isIP;
    let calls = 0;
    net.isIP = (input: string) => {
      calls++;
      return isIP(input);
    };
    try {
      await client.request('ping', (d) => d.ping());
      await client.streamRequest('ping', (d) => d.ping());
    } finally {
      net.isIP = isIP;
    }
    expect(seen.filter((s) => s === 'GET /_ping')).to.have.length(2);
    expect(calls).to.equal(0);
  });

  it('prints its agent as a name: docker-modem inspects every request’s options whole, debug or not', async () => {
    const client = new DockerodeClient({ socketPath });
    await client.request('ping', (d) => d.ping()); // a keep-alive socket in the agent now
    const agent = (client.api as unknown as { modem: { agent?: unknown } }).modem.agent;
    expect(inspect({ agent }, { showHidden: true, depth: null })).to.equal(
      '{ agent: UnixSocketAgent }',
    );
  });

  it('keeps connections alive on the socket, as Node’s global agent does', () => {
    const client = new DockerodeClient({ socketPath });
    const agent = (client.api as unknown as { modem: { agent?: { keepAlive?: boolean } } }).modem
      .agent;
    expect(agent?.keepAlive).to.equal(true);
  });

  it('leaves TCP and TLS hosts on Node’s default agent (their server name matters)', () => {
    const client = new DockerodeClient({}, undefined, { DOCKER_HOST: 'tcp://docker.example:2376' });
    const modem = (client.api as unknown as { modem: { agent?: unknown } }).modem;
    expect(modem.agent).to.equal(undefined);
  });
});
