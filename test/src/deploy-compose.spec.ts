// The compose and stack files in deploy/, checked through Docker's own compose loader:
// `docker stack config` (built into the docker CLI; the compose plugin is not installed here)
// validates each file against the compose schema, interpolates variables and prints the
// normalised result, which these tests read back and hold to what docs/deploy.md promises.
// The socket proxy's allowlists are also matched against the API paths each mode needs.
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { requireEngine } from './support/engine.js';

const DEPLOY = path.resolve(import.meta.dirname, '..', '..', 'deploy');

type Yaml = string | null | Yaml[] | { [key: string]: Yaml };

function scalar(raw: string): Yaml {
  const s = raw.trim();
  if (s === '{}') return {};
  if (s === '[]') return [];
  if (s === 'null' || s === '') return null;
  if (s.startsWith('"')) return JSON.parse(s) as string;
  if (s.startsWith("'")) return s.slice(1, -1).replace(/''/g, "'");
  return s;
}

/**
 * A reader for the block-style YAML that `docker stack config` prints (2-space indents, maps,
 * sequences, quoted or plain scalars). Not a general YAML parser: anything else throws.
 */
function parseNormalised(text: string): Yaml {
  const lines = text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => ({ indent: l.length - l.trimStart().length, body: l.trim() }));
  let i = 0;
  function block(indent: number): Yaml {
    const first = lines[i];
    if (first === undefined || first.indent < indent) return null;
    if (first.body.startsWith('- ')) {
      const list: Yaml[] = [];
      for (
        let l = lines[i];
        l !== undefined && l.indent === indent && l.body.startsWith('- ');
        l = lines[i]
      ) {
        const item = l.body.slice(2);
        if (/^[^'"][^:]*:( |$)/.test(item)) {
          // A map inside a sequence: its first key sits on the dash line.
          l.indent += 2;
          l.body = item;
          list.push(block(indent + 2));
        } else {
          i++;
          list.push(scalar(item));
        }
      }
      return list;
    }
    const map: { [key: string]: Yaml } = {};
    for (
      let l = lines[i];
      l !== undefined && l.indent === indent && !l.body.startsWith('- ');
      l = lines[i]
    ) {
      const m = /^("[^"]*"|[^:]+):(?: (.*))?$/.exec(l.body);
      if (!m?.[1]) throw new Error(`unexpected line ${i + 1}: ${l.body}`);
      const key = m[1].startsWith('"') ? (JSON.parse(m[1]) as string) : m[1];
      i++;
      map[key] = m[2] !== undefined ? scalar(m[2]) : block(indent + 2);
      // A sequence under a key may sit at the key's own indent.
      if (
        m[2] === undefined &&
        map[key] === null &&
        lines[i]?.indent === indent &&
        lines[i]?.body.startsWith('- ')
      ) {
        map[key] = block(indent);
      }
    }
    return map;
  }
  const result = block(0);
  if (i !== lines.length) throw new Error(`unparsed from line ${i + 1}: ${lines[i]?.body}`);
  return result;
}

function stackConfig(file: string, env: NodeJS.ProcessEnv = {}): Promise<Yaml> {
  return new Promise((resolve, reject) => {
    execFile(
      'docker',
      ['stack', 'config', '--compose-file', path.join(DEPLOY, file)],
      { env: { ...process.env, ...env }, timeout: 30_000 },
      (err, stdout, stderr) => {
        if (err)
          reject(
            new Error(`docker stack config -c deploy/${file}: ${String(stderr) || err.message}`),
          );
        else resolve(parseNormalised(String(stdout)));
      },
    );
  });
}

interface Mount {
  type?: string;
  source?: string;
  target?: string;
  read_only?: string;
}
interface Service {
  image?: string;
  command?: string[];
  environment?: Record<string, string>;
  labels?: Record<string, string>;
  volumes?: Mount[];
  network_mode?: string;
  networks?: Record<string, unknown>;
  container_name?: string;
  deploy?: { mode?: string };
  init?: string;
  healthcheck?: { test?: string[] };
}

/** The sidecar's own healthcheck subcommand against its --http-addr port (no curl in the image). */
function expectSidecarHealthcheck(s: Service): void {
  const test = s.healthcheck?.test ?? [];
  expect(test.slice(0, 3)).to.deep.equal(['CMD', 'backrest-sidecar', 'healthcheck']);
  const checked = flagValue(test, '--http-addr') ?? '';
  const served = flagValue(s.command, '--http-addr') ?? '';
  expect(served, 'the daemon serves /healthz').to.not.equal('');
  expect(checked.split(':').pop(), 'same port').to.equal(served.split(':').pop());
}

function service(cfg: Yaml, name: string): Service {
  const s = (cfg as { services?: Record<string, Service> }).services?.[name];
  if (!s) throw new Error(`no service "${name}"`);
  return s;
}

function mountAt(s: Service, target: string): Mount | undefined {
  return (s.volumes ?? []).find((v) => v.target === target);
}

/** The value after `flag` in a command line. */
function flagValue(cmd: string[] | undefined, flag: string): string | undefined {
  const at = (cmd ?? []).indexOf(flag);
  return at >= 0 ? cmd?.[at + 1] : undefined;
}

describe('deploy: compose and stack files (docker stack config)', function () {
  before(async function () {
    await requireEngine(this); // the docker CLI is what's needed; the guard skips without it
  });

  it('reads the normalised YAML it is given (the reader can fail)', () => {
    expect(
      parseNormalised("a:\n  b: \"x\"\n  c:\n    - d: 1\n      e: 'it''s'\n    - f\n"),
    ).to.deep.equal({
      a: { b: 'x', c: [{ d: '1', e: "it's" }, 'f'] },
    });
    expect(() => parseNormalised('a: 1\n    b: 2\n')).to.throw(/unparsed/);
  });

  it('compose.yaml: Backrest and the sidecar share the config dir; socket and docker root read-only', async () => {
    const cfg = await stackConfig('compose.yaml');
    const backrest = service(cfg, 'backrest');
    const sidecar = service(cfg, 'sidecar');
    const config = flagValue(sidecar.command, '--config');
    expect(config).to.equal('/etc/backrest/config.json');
    expect(sidecar.environment?.BACKREST_CONFIG).to.equal(config);
    expect(backrest.environment?.BACKREST_CONFIG, "Backrest's own config path").to.equal(config);
    const shared = mountAt(sidecar, '/etc/backrest');
    expect(shared?.type).to.equal('volume');
    expect(mountAt(backrest, '/etc/backrest')?.source).to.equal(shared?.source);
    expect(shared?.read_only).to.equal(undefined);
    expect(mountAt(sidecar, '/var/run/docker.sock')).to.include({
      source: '/var/run/docker.sock',
      read_only: 'true',
    });
    expect(mountAt(sidecar, '/var/lib/docker')).to.include({
      source: '/var/lib/docker',
      read_only: 'true',
    });
    expect(sidecar.command?.slice(0, 1)).to.deep.equal(['daemon']);
    expect(sidecar.command).to.include.members(['--with-events', '--apply']);
    expect(flagValue(sidecar.command, '--backrest-container')).to.equal(backrest.container_name);
    // Plans point at host volume paths: Backrest must see them at the same place.
    expect(mountAt(backrest, '/var/lib/docker/volumes')).to.include({
      source: '/var/lib/docker/volumes',
      read_only: 'true',
    }); // init as PID 1, the journal on a volume (survives a recreate), the host's zone, a healthcheck.
    expect(sidecar.init).to.equal('true');
    expect(mountAt(sidecar, '/var/lib/backrest-sidecar')?.type).to.equal('volume');
    expect(sidecar.environment).to.have.property('TZ');
    expectSidecarHealthcheck(sidecar);
  });

  it('compose.quickstart.yaml: Backrest, the sidecar and one labeled service whose plan id is documented', async () => {
    const cfg = await stackConfig('compose.quickstart.yaml');
    const backrest = service(cfg, 'backrest');
    const sidecar = service(cfg, 'sidecar');
    const app = service(cfg, 'app');
    expect(app.labels?.['backrest.enable']).to.equal('true');
    expect(app.labels?.['backrest.repo']).to.equal('default');
    expect(flagValue(sidecar.command, '--backrest-container')).to.equal(backrest.container_name);
    expect(mountAt(sidecar, '/etc/backrest')?.source).to.equal(
      mountAt(backrest, '/etc/backrest')?.source,
    );
    expect(sidecar.init).to.equal('true');
    expect(mountAt(sidecar, '/var/lib/backrest-sidecar')?.type).to.equal('volume');
    expectSidecarHealthcheck(sidecar);
    // README promises this id for `docker compose -p quickstart`.
    const readme = readFileSync(path.join(DEPLOY, '..', 'README.md'), 'utf8');
    expect(readme).to.include('-p quickstart -f deploy/compose.quickstart.yaml');
    expect(readme).to.include('backrest_sidecar_quickstart_app');
  });

  it('compose.dry-run.yaml: labeled demo workloads, a read-only config dir and reconcile --dry-run', async () => {
    const cfg = await stackConfig('compose.dry-run.yaml', {
      CONFIG_DIR: '/abs/configs',
      CONFIG_FILE: 'my-config.json',
    });
    const echo = service(cfg, 'demo-echo');
    const lite = service(cfg, 'demo-echo-lite');
    const sidecar = service(cfg, 'sidecar');
    expect(echo.labels?.['backrest.enable']).to.equal('true');
    for (const key of [
      'backrest.repo',
      'backrest.schedule',
      'backrest.keep',
      'backrest.paths.exclude',
      'backrest.pre',
      'backrest.post',
    ]) {
      expect(echo.labels, key).to.have.property(key);
    }
    expect(echo.labels?.['backrest.pre'], '$$ escape resolved to a literal $SELF').to.equal(
      "sh -c 'docker stop $SELF'",
    );
    expect(Object.keys(lite.labels ?? {})).to.deep.equal(['backrest.enable']);
    expect(sidecar.command?.slice(0, 2)).to.deep.equal(['reconcile', '--dry-run']);
    expect(flagValue(sidecar.command, '--config')).to.equal('/etc/backrest/my-config.json');
    expect(sidecar.environment?.BACKREST_CONFIG).to.equal('/etc/backrest/my-config.json');
    expect(mountAt(sidecar, '/etc/backrest')).to.include({
      source: '/abs/configs',
      read_only: 'true',
    });
    expect(mountAt(sidecar, '/var/run/docker.sock')?.read_only).to.equal('true');

    const defaults = await stackConfig('compose.dry-run.yaml', { CONFIG_DIR: '', CONFIG_FILE: '' });
    const d = service(defaults, 'sidecar');
    expect(mountAt(d, '/etc/backrest')?.source).to.equal(path.resolve(DEPLOY, '..', 'testdata'));
    expect(flagValue(d.command, '--config')).to.equal('/etc/backrest/example-sidecar.config.json');
  });

  it('swarm-stack.yaml: a global service on the host network with bind-mounted socket and config dir', async () => {
    const cfg = await stackConfig('swarm-stack.yaml', {
      CONFIG_DIR: '/srv/cfg',
      BACKREST_CONTAINER: 'br',
    });
    const sidecar = service(cfg, 'sidecar');
    expect(sidecar.deploy?.mode).to.equal('global');
    expect(mountAt(sidecar, '/etc/backrest')).to.include({ type: 'bind', source: '/srv/cfg' });
    expect(mountAt(sidecar, '/var/run/docker.sock')).to.include({
      type: 'bind',
      read_only: 'true',
    });
    expect(flagValue(sidecar.command, '--backrest-container')).to.equal('br');
    const nets =
      (cfg as { networks?: Record<string, { name?: string; external?: string }> }).networks ?? {};
    const attached = Object.keys(sidecar.networks ?? {});
    expect(attached.map((n) => nets[n]?.name)).to.deep.equal(['host']);
    expect(mountAt(sidecar, '/var/lib/backrest-sidecar')?.type).to.equal('volume');
    expect(sidecar.init).to.equal('true');
    expectSidecarHealthcheck(sidecar);
  });

  describe('compose.socket-proxy.yaml', () => {
    let proxy: Service;
    let sidecar: Service;
    const allow: Record<string, RegExp> = {};
    before(async () => {
      const cfg = await stackConfig('compose.socket-proxy.yaml');
      proxy = service(cfg, 'docker-proxy');
      sidecar = service(cfg, 'sidecar');
      for (const arg of proxy.command ?? []) {
        const m = /^-allow([A-Z]+)=(.*)$/.exec(arg);
        // socket-proxy anchors every pattern with ^...$ (Go regexp; this subset reads the same in JS).
        if (m?.[1] && m[2] !== undefined) allow[m[1]] = new RegExp(`^${m[2]}$`);
      }
    });
    const allowed = (method: string, p: string): boolean => allow[method]?.test(p) ?? false;

    it('gives the sidecar the proxy socket and no Docker socket', () => {
      expect(sidecar.environment?.DOCKER_HOST).to.equal('unix:///run/docker-proxy/docker.sock');
      expect((sidecar.volumes ?? []).map((v) => v.source)).to.not.include('/var/run/docker.sock');
      const shared = mountAt(sidecar, '/run/docker-proxy')?.source;
      expect(shared).to.be.a('string');
      expect(mountAt(proxy, '/run/docker-proxy')?.source).to.equal(shared);
      expect(proxy.command).to.include('-proxysocketendpoint=/run/docker-proxy/docker.sock');
    });

    it('allows what daemon --with-events --apply needs', () => {
      for (const v of ['', '/v1.41']) {
        expect(allowed('GET', `${v}/containers/json`), `${v}/containers/json`).to.equal(true);
        expect(allowed('GET', `${v}/containers/0123abcd/json`)).to.equal(true);
        expect(allowed('GET', `${v}/containers/backrest/json`)).to.equal(true);
        expect(allowed('GET', `${v}/events`)).to.equal(true);
        expect(allowed('GET', `${v}/_ping`)).to.equal(true);
        expect(allowed('POST', `${v}/containers/backrest/restart`)).to.equal(true);
        // The busy check before a restart (a restic process in Backrest defers it).
        expect(allowed('GET', `${v}/containers/backrest/top`)).to.equal(true);
        // Image labels by content id (untrusted sensitive labels), nothing else under /images.
        expect(allowed('GET', `${v}/images/sha256:${'ab12'.repeat(16)}/json`)).to.equal(true);
      }
    });

    it('refuses everything else: create, exec, kill, delete, images, volumes', () => {
      const refused: [string, string][] = [
        ['POST', '/v1.41/containers/create'],
        ['POST', '/v1.41/containers/backrest/exec'],
        ['POST', '/v1.41/exec/abc/start'],
        ['POST', '/v1.41/containers/backrest/kill'],
        ['POST', '/v1.41/containers/backrest/stop'],
        ['POST', '/v1.41/containers/a/restart/../../create'],
        ['DELETE', '/v1.41/containers/backrest'],
        ['POST', '/v1.41/images/create'],
        ['GET', '/v1.41/images/json'],
        ['GET', '/v1.41/images/evil/image/json'],
        ['DELETE', `/v1.41/images/sha256:${'ab12'.repeat(16)}`],
        ['GET', '/v1.41/containers/backrest/archive'],
        ['GET', '/v1.41/secrets'],
        ['POST', '/v1.41/volumes/create'],
        ['PUT', '/v1.41/containers/backrest/archive'],
      ];
      expect(refused.filter(([m, p]) => allowed(m, p)).map(([m, p]) => `${m} ${p}`)).to.deep.equal(
        [],
      );
    });
  });
});
