import { expect } from 'chai';
import { ConfigSink, type LoadedConfig } from '@backrest-sidecar/config-sink';
import { PlanStore } from '@backrest-sidecar/controller-plan';
import type { Manager } from '@dockop/runtime';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setUpWhileListing } from './app.js';
import { EARLY_CONTAINER_LIST } from '@dockop/docker';

/** A sink that records its loads and what each returned. */
class RecordingSink extends ConfigSink {
  readonly loads: LoadedConfig[] = [];
  override async load(): Promise<LoadedConfig> {
    const loaded = await super.load();
    this.loads.push(loaded);
    return loaded;
  }
}

/** What setUpWhileListing uses of a Manager: prefetch, get(PlanStore), stop. */
function managerWith(store: unknown, log: string[], prefetch = (): unknown => undefined): Manager {
  return {
    prefetch: () => {
      log.push('prefetch');
      prefetch();
    },
    get: (token: unknown) => {
      if (token !== PlanStore) throw new Error(`unexpected token ${String(token)}`);
      return store;
    },
    stop: async () => {
      log.push('stop');
    },
  } as unknown as Manager;
}

describe('setUpWhileListing (app.ts): the config is read while the engine lists', () => {
  let dir = '';
  let file = '';
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'set-up-while-listing-'));
    file = path.join(dir, 'config.json');
    await writeFile(file, '{"repos":[{"id":"default","type":"local","url":"/repo"}],"plans":[]}\n');
  });
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('loads the config beside the set-up; the render then gets the same parsed document', async () => {
    const sink = new RecordingSink({ path: file });
    const log: string[] = [];
    await setUpWhileListing(managerWith(sink, log), true, async () => {
      log.push('set-up');
    });
    expect(log).to.deep.equal(['prefetch', 'set-up']);
    expect(sink.loads, 'read once during the set-up').to.have.length(1);
    const early = sink.loads[0]!;
    expect(early.repoIds).to.deep.equal(['default']);
    // The render's load: same bytes, so the sink hands out the document it already parsed.
    const later = await sink.load();
    expect(later.raw, 'not parsed again').to.equal(early.raw);
  });

  it('does not read early when the list waits for a repair, nor from a store that keeps nothing', async () => {
    const sink = new RecordingSink({ path: file });
    await setUpWhileListing(managerWith(sink, []), false, async () => {});
    expect(sink.loads).to.have.length(0);
    const api = {
      load: () => {
        throw new Error('Backrest API asked twice');
      },
    };
    await setUpWhileListing(managerWith(api, []), true, async () => {});
  });

  it("abandons the launcher's early list that prefetch did not take (a repair first, another engine)", async () => {
    for (const listEarly of [false, true]) {
      const closed: string[] = [];
      const slot = globalThis as Record<symbol, unknown>;
      slot[EARLY_CONTAINER_LIST] = {
        socketPath: '/var/run/docker.sock',
        filters: '{"label":["backrest.enable"]}',
        list: new Promise(() => undefined),
        ref: () => void closed.push('ref'),
        abandon: () => void closed.push('abandon'),
      };
      const log: string[] = [];
      await setUpWhileListing(
        managerWith(new RecordingSink({ path: file }), log),
        listEarly,
        async () => {
          // The set-up (ping, repair) runs with the early list already closed.
          log.push(`set-up after ${closed.join(',')}`);
        },
      );
      expect(log).to.deep.equal([...(listEarly ? ['prefetch'] : []), 'set-up after abandon']);
      expect(slot[EARLY_CONTAINER_LIST]).to.equal(undefined);
    }
  });

  it('leaves a bad config to the render: the set-up succeeds, the render meets the error', async () => {
    await writeFile(file, '{"plans": [');
    const sink = new RecordingSink({ path: file });
    const log: string[] = [];
    await setUpWhileListing(managerWith(sink, log), true, async () => {});
    expect(log).to.deep.equal(['prefetch']);
    let error: unknown;
    await sink.load().catch((err: unknown) => (error = err));
    expect(String(error)).to.include('InvalidJson: the config file is not valid JSON');
  });

  it('a failed set-up stops the manager and throws its error', async () => {
    const log: string[] = [];
    const failed = await setUpWhileListing(
      managerWith(new RecordingSink({ path: file }), log),
      true,
      () => Promise.reject(new Error('Docker is unreachable')),
    ).catch((err: unknown) => err);
    expect(String(failed)).to.include('Docker is unreachable');
    expect(log).to.deep.equal(['prefetch', 'stop']);
  });

  it('lets the list request reach its socket before the set-up runs', async () => {
    const server = createServer((_req, res) => res.end('[]'));
    const socketPath = path.join(dir, 'engine.sock');
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
    try {
      let connected = false;
      let answered: Promise<unknown> | undefined;
      // As docker-modem does: the request is built in a microtask after the call that begins it.
      const prefetch = (): void => {
        answered = Promise.resolve().then(
          () =>
            new Promise((resolve, reject) => {
              const list = request({ socketPath, path: '/containers/json', agent: false });
              list.on('socket', (s) => s.once('connect', () => (connected = true)));
              list.on('response', (res) => res.resume().on('end', resolve));
              list.on('error', reject);
              list.end();
            }),
        );
      };
      let atSetUp: boolean | undefined;
      const sink = new RecordingSink({ path: file });
      await setUpWhileListing(managerWith(sink, [], prefetch), true, async () => {
        atSetUp = connected;
      });
      // Without waiting, the set-up's synchronous work (resolving the store, the ping) came first.
      expect(atSetUp, 'connected (and written) before the set-up began').to.equal(true);
      await answered;
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
