import { expect } from 'chai';
import { Registry } from 'prom-client';
import { HealthService, formatHealthReport } from './health.js';
import { RuntimeHttpServer } from './http-server.js';
import type { HealthCheck } from './lifecycle.js';
import { VirtualClock } from './virtual-clock.js';

describe('HealthService', () => {
  it('runs checks by kind: true, detail strings, false and throws', async () => {
    const checks: HealthCheck[] = [
      { name: 'ok', kind: 'liveness', check: () => true },
      { name: 'detail', kind: 'liveness', check: async () => 'fine, 3 streams' },
      { name: 'ready-bad', kind: 'readiness', check: () => false },
      {
        name: 'ready-throws',
        kind: 'readiness',
        check: () => {
          throw new Error('not synced');
        },
      },
    ];
    const h = new HealthService({ checks: () => checks });
    const live = await h.liveness();
    expect(live).to.deep.equal({
      ok: true,
      checks: [
        { name: 'ok', ok: true },
        { name: 'detail', ok: true, detail: 'fine, 3 streams' },
      ],
    });
    const ready = await h.readiness();
    expect(ready.ok).to.equal(false);
    expect(ready.checks).to.deep.equal([
      { name: 'ready-bad', ok: false, detail: 'check failed' },
      { name: 'ready-throws', ok: false, detail: 'not synced' },
    ]);
    expect(formatHealthReport(ready)).to.equal(
      '[-]ready-bad failed: check failed\n[-]ready-throws failed: not synced\nunhealthy\n',
    );
  });

  it('fails a check that does not answer within the timeout (virtual clock)', async () => {
    const clock = new VirtualClock(0);
    const h = new HealthService({
      checks: () => [
        { name: 'stuck', kind: 'liveness', check: () => new Promise<boolean>(() => undefined) },
      ],
      clock,
      checkTimeoutMs: 100,
    });
    const p = h.liveness();
    await clock.advanceAsync(100);
    expect(await p).to.deep.equal({
      ok: false,
      checks: [{ name: 'stuck', ok: false, detail: 'timed out after 100 ms' }],
    });
  });
});

describe('RuntimeHttpServer', () => {
  it('serves /healthz, /readyz, /metrics on 127.0.0.1 and refuses other paths and methods', async () => {
    let ready = false;
    const registry = new Registry();
    registry.setDefaultLabels({});
    const server = new RuntimeHttpServer(
      { host: '127.0.0.1', port: 0 },
      {
        health: new HealthService({
          checks: () => [
            { name: 'alive', kind: 'liveness', check: () => true },
            { name: 'synced', kind: 'readiness', check: () => ready },
          ],
        }),
        registry,
      },
    );
    const { port, host } = await server.start();
    expect(host).to.equal('127.0.0.1');
    const base = `http://127.0.0.1:${port}`;
    try {
      const healthz = await fetch(`${base}/healthz`);
      expect(healthz.status).to.equal(200);
      expect(await healthz.text()).to.equal('[+]alive ok\nhealthy\n');
      expect((await fetch(`${base}/readyz`)).status).to.equal(503);
      ready = true;
      expect((await fetch(`${base}/readyz`)).status).to.equal(200);
      const metrics = await fetch(`${base}/metrics`);
      expect(metrics.status).to.equal(200);
      expect(metrics.headers.get('content-type')).to.contain('text/plain');
      expect((await fetch(`${base}/nope`)).status).to.equal(404);
      expect((await fetch(`${base}/healthz`, { method: 'POST' })).status).to.equal(405);
      const head = await fetch(`${base}/healthz`, { method: 'HEAD' });
      expect(head.status).to.equal(200);
      await server.start().then(
        () => expect.fail('second start must fail'),
        (e: Error) => expect(e.message).to.match(/already started/),
      );
    } finally {
      await server.stop();
      await server.stop();
    }
    expect(server.address).to.equal(undefined);
  });
});
