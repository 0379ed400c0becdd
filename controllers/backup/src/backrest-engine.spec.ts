import { expect } from 'chai';
import type { LogFields, Logger } from '@dockop/runtime';
import type { WorkloadTarget } from '@backrest-sidecar/api';
import { runBackrestEngine } from './backrest-engine.js';

const quiet: Logger = { error() {}, warn() {}, info() {}, debug() {}, child: () => quiet };
const t = (name: string, service: string, labels: Record<string, string>): WorkloadTarget => ({
  name,
  id: name,
  imageId: '',
  state: 'running',
  labels,
  mounts: [],
  compose: { project: 'shop', service, dependsOn: [] },
});

describe('runBackrestEngine', () => {
  it('POSTs {value: <plan id>} to /v1.Backrest/Backup per backrest.enable workload, with the Authorization header', async () => {
    const calls: { url: string; body: string; auth: string | undefined }[] = [];
    const fakeFetch = (async (url: string, init: RequestInit): Promise<Response> => {
      const headers = init.headers as Record<string, string>;
      calls.push({ url, body: String(init.body), auth: headers.authorization });
      const known = (JSON.parse(String(init.body)) as { value: string }).value.endsWith('db');
      return new Response(known ? '{}' : 'plan not found', { status: known ? 200 : 404 });
    }) as unknown as typeof globalThis.fetch;
    const logs: LogFields[] = [];
    const logger: Logger = {
      ...quiet,
      error: (_a, f) => void logs.push(f ?? {}),
      child: () => logger,
    };
    const results = await runBackrestEngine(
      [
        t('shop-db-1', 'db', { 'backrest.enable': 'true' }),
        t('shop-web-1', 'web', { 'backrest.enable': 'True' }),
        t('shop-cache-1', 'cache', { 'restic-compose-backup.volumes': 'true' }),
      ],
      {
        url: 'http://backrest:9898/',
        includeProjectName: true,
        authorization: 'Basic dTpw',
        fetch: fakeFetch,
      },
      { logger },
    );
    expect(calls).to.deep.equal([
      {
        url: 'http://backrest:9898/v1.Backrest/Backup',
        body: '{"value":"backrest_sidecar_shop_db"}',
        auth: 'Basic dTpw',
      },
      {
        url: 'http://backrest:9898/v1.Backrest/Backup',
        body: '{"value":"backrest_sidecar_shop_web"}',
        auth: 'Basic dTpw',
      },
    ]);
    expect(results.map((r) => [r.container, r.path, r.status])).to.deep.equal([
      ['shop-db-1', 'backrest_sidecar_shop_db', 'ok'],
      ['shop-web-1', 'backrest_sidecar_shop_web', 'failed'],
    ]);
    expect(results[1]!.error).to.equal('Backrest answered HTTP 404: plan not found');
    expect(JSON.stringify(logs)).to.not.include('dTpw');
  });

  it('runs a plan shared by replicas of one service once, reporting each replica', async () => {
    const bodies: string[] = [];
    const fakeFetch = (async (_url: string, init: RequestInit): Promise<Response> => {
      bodies.push(String(init.body));
      return new Response('{}', { status: 200 });
    }) as unknown as typeof globalThis.fetch;
    const on = { 'backrest.enable': 'true' };
    const results = await runBackrestEngine(
      [t('shop-db-1', 'db', on), t('shop-db-2', 'db', on), t('shop-web-1', 'web', on)],
      { url: 'http://backrest:9898', includeProjectName: false, fetch: fakeFetch },
      { logger: quiet },
    );
    expect(bodies).to.deep.equal([
      '{"value":"backrest_sidecar_shop_db"}',
      '{"value":"backrest_sidecar_shop_web"}',
    ]);
    expect(results.map((r) => [r.container, r.path, r.status])).to.deep.equal([
      ['shop-db-1', 'backrest_sidecar_shop_db', 'ok'],
      ['shop-db-2', 'backrest_sidecar_shop_db', 'ok'],
      ['shop-web-1', 'backrest_sidecar_shop_web', 'ok'],
    ]);
    expect(results[1]?.warnings).to.deep.equal([
      'plan backrest_sidecar_shop_db already ran for shop-db-1 (replicas of one service)',
    ]);
  });
});
