import { expect } from 'chai';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { PlanSpec } from '@backrest-sidecar/config-sink';
import { BackrestApiStore } from './backrest-api-store.js';

/**
 * A stand-in for Backrest's Connect API on 127.0.0.1 (port 0): GetConfig returns the config;
 * SetConfig refuses a stale modno exactly as Backrest does (HTTP 500, Connect code `unknown`,
 * "config modno mismatch, reload and try again"), else stores it with modno + 1.
 */
class FakeBackrest {
  config: Record<string, unknown> = {
    modno: 7,
    version: 6,
    instance: 'host-a',
    repos: [{ id: 'default', uri: '/repo', password: 'secret', autoInitialize: true }],
    plans: [
      {
        id: 'user_plan',
        repo: 'default',
        paths: ['/etc'],
        schedule: { cron: '0 1 * * *', clock: 'CLOCK_LOCAL' },
      },
    ],
  };
  sets: Record<string, unknown>[] = [];
  authSeen: (string | undefined)[] = [];
  /** Simulates someone saving in the UI between our GetConfig and SetConfig. */
  bumpBeforeNextSet = 0;
  server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      this.authSeen.push(req.headers.authorization);
      const reply = (status: number, payload: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(payload));
      };
      if (req.url === '/v1.Backrest/GetConfig') return reply(200, this.config);
      if (req.url === '/v1.Backrest/SetConfig') {
        if (this.bumpBeforeNextSet > 0) {
          this.bumpBeforeNextSet--;
          this.config = { ...this.config, modno: (this.config.modno as number) + 1 };
        }
        const next = JSON.parse(body) as Record<string, unknown>;
        if (next.modno !== this.config.modno) {
          return reply(500, {
            code: 'unknown',
            message: 'config modno mismatch, reload and try again',
          });
        }
        this.sets.push(next);
        this.config = { ...next, modno: (next.modno as number) + 1 };
        return reply(200, this.config);
      }
      reply(404, { code: 'not_found', message: req.url });
    });
  });

  async url(): Promise<string> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
}

const ours: PlanSpec = {
  id: 'backrest_sidecar_db',
  repo: 'default',
  schedule: '15 3 * * *',
  sources: ['/var/lib/docker/volumes/db/_data'],
  exclude: [],
  hooks: { pre: [], post: [] },
  retention: { spec: 'daily=7,weekly=4' },
};

describe('BackrestApiStore (apply mode api, against a fake Backrest)', () => {
  let fake: FakeBackrest;
  let url: string;
  beforeEach(async () => {
    fake = new FakeBackrest();
    url = await fake.url();
  });
  afterEach(() => fake.server.close());

  it('loads repo ids and plans through GetConfig', async () => {
    const loaded = await new BackrestApiStore({ url }).load();
    expect(loaded.format).to.equal('backrest');
    expect(loaded.repoIds).to.deep.equal(['default']);
    expect(loaded.planIds).to.deep.equal(['user_plan']);
    expect(loaded.modno).to.equal(7);
  });

  it('commits with the current modno, keeps everything else, and writes nothing when unchanged', async () => {
    const store = new BackrestApiStore({ url, authorization: 'Basic dTpw' });
    const r = await store.commit({ upsert: [ours], remove: [] });
    expect(r).to.include({ changed: true, written: true });
    expect(r.diff).to.include('backrest_sidecar_db');
    expect(fake.sets).to.have.length(1);
    expect(fake.sets[0]?.modno).to.equal(7);
    expect(fake.config.modno).to.equal(8);
    expect(fake.config.instance).to.equal('host-a');
    const ids = (fake.config.plans as { id: string }[]).map((p) => p.id);
    expect(ids).to.have.members(['user_plan', 'backrest_sidecar_db']);
    expect(fake.authSeen.every((a) => a === 'Basic dTpw')).to.equal(true);

    const again = await store.commit({ upsert: [ours], remove: [] });
    expect(again).to.include({ changed: false, written: false });
    expect(fake.sets).to.have.length(1);
  });

  it('re-reads and retries when someone else saved in between (stale modno)', async () => {
    fake.bumpBeforeNextSet = 1;
    const r = await new BackrestApiStore({ url }).commit({ upsert: [ours], remove: [] });
    expect(r).to.include({ written: true, merged: true });
    expect(fake.sets).to.have.length(1);
    expect(fake.sets[0]?.modno).to.equal(8);
  });

  it('gives up after the configured attempts with an error naming the method', async () => {
    fake.bumpBeforeNextSet = 5;
    let err: unknown;
    await new BackrestApiStore({ url, attempts: 2 })
      .commit({ upsert: [ours], remove: [] })
      .catch((e) => (err = e));
    expect(String(err)).to.include('SetConfig').and.include('modno');
  });

  it('preview never calls SetConfig; rollback restores the previous config with the current modno', async () => {
    const store = new BackrestApiStore({ url });
    const p = await store.preview({ upsert: [ours], remove: [] });
    expect(p).to.include({ changed: true, written: false });
    expect(fake.sets).to.have.length(0);
    expect(await store.rollback()).to.equal(false);
    await store.commit({ upsert: [ours], remove: [] });
    expect(await store.rollback()).to.equal(true);
    expect((fake.config.plans as { id: string }[]).map((p) => p.id)).to.deep.equal(['user_plan']);
    expect(fake.config.modno).to.equal(9);
  });

  it('validates before SetConfig: a plan Backrest would refuse is left out with a warning, the others go through', async () => {
    const bad: PlanSpec = { ...ours, id: 'backrest_sidecar_bad', repo: 'no_such_repo' };
    const r = await new BackrestApiStore({ url }).commit({ upsert: [bad, ours], remove: [] });
    expect(r.written).to.equal(true);
    expect(fake.sets).to.have.length(1);
    const ids = (fake.config.plans as { id: string }[]).map((p) => p.id);
    expect(ids).to.have.members(['user_plan', 'backrest_sidecar_db']);
    expect(r.warnings.join('\n')).to.include('backrest_sidecar_bad').and.include('no_such_repo');
  });

  it('sends a batch that passes as a whole without screening it plan by plan, and still finds the one bad plan in a big batch', async () => {
    const many = Array.from({ length: 50 }, (_, i) => ({ ...ours, id: `backrest_sidecar_s${i}` }));
    const ok = await new BackrestApiStore({ url }).commit({ upsert: many, remove: [] });
    expect(ok.warnings).to.deep.equal([]);
    expect((fake.config.plans as unknown[]).length).to.equal(51);
    const bad: PlanSpec = { ...ours, id: 'backrest_sidecar_bad', repo: 'no_such_repo' };
    const mixed = await new BackrestApiStore({ url }).commit({
      upsert: [...many.slice(0, 10), bad, ...many.slice(10)],
      remove: [],
    });
    expect(mixed.warnings).to.have.length(1);
    expect(mixed.warnings[0]).to.include('backrest_sidecar_bad');
    expect((fake.config.plans as { id: string }[]).map((p) => p.id)).to.not.include(
      'backrest_sidecar_bad',
    );
  });
});
