// The README's quick start, actually run: `docker-compose` (Debian bookworm's v1.29, the only
// compose installable here; the v2 plugin is not packaged) brings up deploy/compose.quickstart.yaml
// on the local engine, with test/fixtures/compose.quickstart.local.yaml swapping Backrest for a
// stand-in and the sidecar image for the one scripts/build-image.sh builds from this tree. Once
// the repository `default` exists in Backrest's config (the README's step 1, done here by writing
// the config as Backrest would), the sidecar writes the app's plan, and `get plans` inside the
// sidecar container (the README's step 2) shows it.
import { expect } from 'chai';
import { requireEngine, runId, WORKLOAD_IMAGE } from './support/engine.js';
import { BUILD_TIMEOUT_MS, run, waitFor } from './support/deploy.js';

describe('deploy: compose quick start with docker-compose (e2e, real engine)', function () {
  const id = runId().replace(/[^a-z0-9]/g, '');
  const project = `qs${id}`;
  const tag = `dockop/backrest-sidecar:qs-${id}`;
  const env = {
    SIDECAR_IMAGE: tag,
    BACKREST_IMAGE: WORKLOAD_IMAGE,
    APP_IMAGE: WORKLOAD_IMAGE,
    COMPOSE_HTTP_TIMEOUT: '120',
  };
  const compose = (...args: string[]) =>
    run(
      'docker-compose',
      [
        '-p',
        project,
        '-f',
        'deploy/compose.quickstart.yaml',
        '-f',
        'test/fixtures/compose.quickstart.local.yaml',
        ...args,
      ],
      env,
      180_000,
    );
  let built = false;
  let up = false;

  before(async function () {
    this.timeout(BUILD_TIMEOUT_MS + 60_000);
    await requireEngine(this);
    const v = await run('docker-compose', ['version', '--short']);
    if (v.code !== 0) {
      console.log(
        '      docker-compose is not installed (apt-get install docker-compose): skipped',
      );
      this.skip();
    }
    const b = await run(
      'bash',
      ['scripts/build-image.sh', tag],
      { SKIP_TSC: '1' },
      BUILD_TIMEOUT_MS,
    );
    if (b.code !== 0) throw new Error(`build-image.sh: ${b.stderr.slice(-3000)}`);
    built = true;
  });

  after(async function () {
    this.timeout(120_000);
    if (up) await compose('down', '-v', '--timeout', '5');
    if (built) await run('docker', ['image', 'rm', '--no-prune', tag]);
  });

  it('brings up Backrest, the sidecar and the app; the app plan appears and get plans shows it', async function () {
    this.timeout(300_000);
    up = true;
    const backrest = await compose('up', '-d', '--no-build', 'backrest');
    expect(backrest.code, backrest.stderr).to.equal(0);
    // Step 1 of the README (a repository `default` added in Backrest's UI), as Backrest writes it.
    const config = JSON.stringify({
      modno: 1,
      version: 6,
      instance: 'quickstart',
      repos: [
        { id: 'default', uri: '/repos/default', password: 'quickstart', autoInitialize: true },
      ],
    });
    const write = await run('docker', [
      'exec',
      'backrest-quickstart',
      'sh',
      '-c',
      `mkdir -p /etc/backrest && printf '%s' '${config}' > /etc/backrest/config.json`,
    ]);
    expect(write.code, write.stderr).to.equal(0);

    const all = await compose('up', '-d', '--no-build');
    expect(all.code, all.stderr).to.equal(0);
    const sidecar = (await compose('ps', '-q', 'sidecar')).stdout.trim();
    const inspect = JSON.parse((await run('docker', ['inspect', sidecar])).stdout)[0];
    // What the compose file promises: init, TZ, the state volume, a healthcheck.
    expect(inspect.HostConfig.Init).to.equal(true);
    expect(inspect.Config.Env).to.include('TZ=UTC');
    expect(inspect.Mounts.map((m: { Destination: string }) => m.Destination)).to.include(
      '/var/lib/backrest-sidecar',
    );
    expect(inspect.Config.Healthcheck.Test).to.deep.equal([
      'CMD',
      'backrest-sidecar',
      'healthcheck',
      '--http-addr',
      '127.0.0.1:9464',
    ]);

    const planId = `backrest_sidecar_${project}_app`;
    const plans = await waitFor(`plan ${planId} in get plans`, 120_000, async () => {
      const r = await compose(
        'exec',
        '-T',
        'sidecar',
        'backrest-sidecar',
        'get',
        'plans',
        '--config',
        '/etc/backrest/config.json',
        '-o',
        'json',
      );
      if (r.code !== 0) return undefined;
      const rows = JSON.parse(r.stdout) as { planId?: string; id?: string; status: string }[];
      const row = rows.find((p) => (p.planId ?? p.id) === planId);
      return row?.status === 'InSync' ? rows : undefined;
    });
    expect(plans.length).to.be.at.least(1);
    const written = await run('docker', [
      'exec',
      'backrest-quickstart',
      'cat',
      '/etc/backrest/config.json',
    ]);
    const cfg = JSON.parse(written.stdout) as { plans: { id: string; paths: string[] }[] };
    const plan = cfg.plans.find((p) => p.id === planId);
    expect(plan?.paths).to.deep.equal([`/var/lib/docker/volumes/${project}_app-data/_data`]);
  });
});
