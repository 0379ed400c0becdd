// Secrets never travel in Docker API request lines (real engine, through a recording proxy).
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import Docker from 'dockerode';
import { createContainer, DockerContainerActions, DockerodeClient } from '@dockop/docker';
import { removeLabeled, requireEngine, runId, WORKLOAD_IMAGE } from './support/engine.js';
import {
  startLoggingSocketProxy,
  type LoggingSocketProxy,
} from './support/logging-socket-proxy.js';

/** Random and URL-safe, so it reads the same raw and percent-encoded. */
const secret = (prefix: string): string => `${prefix}${randomBytes(12).toString('hex')}`;

function requestLines(proxy: LoggingSocketProxy): string[] {
  return proxy.requests.map((r) => `${r.method} ${r.url}`);
}

/** Request lines (raw and decoded) and header values that contain `value`. */
function leaks(proxy: LoggingSocketProxy, value: string): string[] {
  const found: string[] = [];
  for (const r of proxy.requests) {
    const line = `${r.method} ${r.url}`;
    let decoded = line;
    try {
      decoded = decodeURIComponent(line.replace(/\+/g, ' '));
    } catch {
      // keep the raw line
    }
    if (line.includes(value) || decoded.includes(value)) found.push(line);
    for (const [k, v] of Object.entries(r.headers)) {
      if (String(v).includes(value)) found.push(`header ${k} of ${line}`);
    }
  }
  return found;
}

describe('secrets in Docker API requests (real engine, recording socket proxy)', function () {
  this.timeout(60_000);
  const id = runId();
  const runLabel = 'itsecreturl.run';
  let engine: Docker;
  let proxy: LoggingSocketProxy;

  before(async function () {
    engine = await requireEngine(this);
    proxy = await startLoggingSocketProxy();
  });

  after(async function () {
    if (engine) await removeLabeled(engine, `${runLabel}=${id}`);
    await proxy?.close();
  });

  it('a one-shot run sends its env in the body only, and the container still gets it', async () => {
    const password = secret('rp');
    const awsSecret = secret('aws');
    const b2Key = secret('b2');
    const actions = new DockerContainerActions(
      new DockerodeClient({ socketPath: proxy.socketPath }),
    );
    const before = proxy.requests.length;
    const out: string[] = [];
    const result = await actions.runOneShot(
      {
        image: WORKLOAD_IMAGE,
        name: `itsecreturl-oneshot-${id}`,
        cmd: [
          'sh',
          '-c',
          'echo "pw=$RESTIC_PASSWORD aws=$AWS_SECRET_ACCESS_KEY b2=$B2_ACCOUNT_KEY"',
        ],
        env: {
          RESTIC_PASSWORD: password,
          AWS_SECRET_ACCESS_KEY: awsSecret,
          B2_ACCOUNT_KEY: b2Key,
          RESTIC_REPOSITORY: `s3:https://AKIA:${awsSecret}@s3.example.com/bucket`,
        },
        labels: { [runLabel]: id },
      },
      { timeoutMs: 30_000, onLog: (line) => out.push(line) },
    );
    expect(result.exitCode).to.equal(0);
    // The container got its environment...
    expect(out).to.deep.equal([`pw=${password} aws=${awsSecret} b2=${b2Key}`]);
    // ...through the proxy (create, start, wait, logs were all seen)...
    const lines = requestLines(proxy).slice(before);
    const create = lines.find((l) => /^POST \/(v[\d.]+\/)?containers\/create\?/.test(l));
    expect(create, lines.join('\n')).to.match(/\?name=itsecreturl-oneshot-/);
    expect(lines.some((l) => /\/containers\/[0-9a-f]+\/start/.test(l))).to.equal(true);
    // ...and no request line or header carries a secret.
    for (const s of [password, awsSecret, b2Key]) expect(leaks(proxy, s)).to.deep.equal([]);
    // Only the name travels in the create query string.
    expect(new URL(create!.split(' ')[1]!, 'http://x').searchParams.size).to.equal(1);
  });

  it('the shared createContainer helper keeps the spec out of the URL; raw dockerode does not (control)', async () => {
    const docker = new Docker({ socketPath: proxy.socketPath });
    const kept = secret('kept');
    const c = await createContainer(docker, {
      name: `itsecreturl-helper-${id}`,
      Image: WORKLOAD_IMAGE,
      Cmd: ['true'],
      Env: [`RESTIC_PASSWORD=${kept}`],
      Labels: { [runLabel]: id },
    });
    const info = await engine.getContainer(c.id).inspect();
    expect(info.Config.Env).to.include(`RESTIC_PASSWORD=${kept}`);
    expect(info.Config.Labels[runLabel]).to.equal(id);
    expect(leaks(proxy, kept)).to.deep.equal([]);

    // The control proves the proxy sees what we claim to avoid: dockerode's own call leaks.
    const leaked = secret('leak');
    // eslint-disable-next-line no-restricted-syntax -- the control case of this test
    await docker.createContainer({
      name: `itsecreturl-control-${id}`,
      Image: WORKLOAD_IMAGE,
      Cmd: ['true'],
      Env: [`RESTIC_PASSWORD=${leaked}`],
      Labels: { [runLabel]: id },
    });
    expect(leaks(proxy, leaked)).to.have.length.greaterThan(0);
  });
});
