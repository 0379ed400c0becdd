// Unit tests on virtual time with the testing kit: fake Docker, setHealth, a recording `fetch`.
import { expect } from 'chai';
import { createTestManager, type TestManager } from '@dockop/testing';
import { healthHookPlugin } from './health-hook.js';

const URL_ = 'http://hooks.test/unhealthy';

describe('health-webhook example', () => {
  let tm: TestManager;
  let posts: { url: string; body: unknown }[];
  let answer: number;

  beforeEach(() => {
    posts = [];
    answer = 200;
    const post = (async (url: string, init: RequestInit) => {
      posts.push({ url, body: JSON.parse(String(init.body)) });
      return new Response(null, { status: answer });
    }) as typeof fetch;
    tm = createTestManager({ modules: [healthHookPlugin(URL_, post)] });
  });
  afterEach(() => tm.stop());

  it('POSTs once when a labeled container turns unhealthy, and again only after it recovered', async () => {
    await tm.docker.run({
      name: 'db',
      labels: { 'healthhook.enable': 'true', 'healthhook.severity': 'critical' },
      health: 'starting',
    });
    await tm.docker.run({ name: 'unlabeled', labels: {}, health: 'starting' });
    await tm.reconcileAll();
    expect(posts).to.deep.equal([]);

    await tm.docker.setHealth('db', 'unhealthy');
    await tm.docker.setHealth('unlabeled', 'unhealthy');
    await tm.settle();
    expect(posts).to.deep.equal([
      {
        url: URL_,
        body: { container: 'db', image: 'dockop/busybox:local', severity: 'critical' },
      },
    ]);
    expect(tm.events('HealthHook/db').map((e) => e.reason)).to.deep.equal(['WebhookSent']);

    // Still unhealthy, reconciled again (a relist, a resync): no second POST.
    await tm.docker.resync();
    await tm.reconcileAll();
    expect(posts).to.have.length(1);

    await tm.docker.setHealth('db', 'healthy');
    await tm.settle();
    await tm.docker.setHealth('db', 'unhealthy');
    await tm.settle();
    expect(posts).to.have.length(2);
  });

  it('retries a refused POST with backoff until the webhook takes it', async () => {
    await tm.docker.run({
      name: 'web',
      labels: { 'healthhook.enable': 'true' },
      health: 'healthy',
    });
    await tm.reconcileAll();
    answer = 503;
    await tm.docker.setHealth('web', 'unhealthy');
    await tm.settle();
    expect(posts).to.have.length(1);
    answer = 200;
    await tm.advance(1_000); // 5 ms, 10 ms, ... of backoff on the virtual clock
    expect(posts).to.have.length(2);
    expect(posts[1]?.body).to.deep.include({ container: 'web', severity: 'warning' });
    await tm.advance(60_000);
    expect(posts).to.have.length(2);
  });

  it('refuses a label value outside the schema, naming container, label and value', async () => {
    await tm.docker.run({
      name: 'bad',
      labels: { 'healthhook.enable': 'true', 'healthhook.severity': 'panic' },
      health: 'unhealthy',
    });
    await tm.reconcileAll();
    expect(posts).to.deep.equal([]);
    expect(tm.condition('HealthHook/bad', 'InvalidSpec')?.status).to.equal('True');
    expect(tm.events('HealthHook/bad').at(-1)?.message)
      .to.include('healthhook.severity')
      .and.include('"panic"');
  });

  it('refuses a webhook URL that is not http(s), without echoing it', () => {
    expect(() => healthHookPlugin(undefined)).to.throw('HEALTHHOOK_URL is not an http(s) URL');
    expect(() => healthHookPlugin('file:///etc/secret-token')).to.throw(/^HEALTHHOOK_URL[^/]*$/);
  });
});
