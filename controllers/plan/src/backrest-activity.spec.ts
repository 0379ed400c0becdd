import { expect } from 'chai';
import {
  ApiActivity,
  isRestic,
  ProcessActivity,
  type BackrestActivity,
} from './backrest-activity.js';

function fakeFetch(status: number, body: unknown): { fetch: typeof fetch; bodies: unknown[] } {
  const bodies: unknown[] = [];
  const f = (async (_url: string | URL | Request, init?: RequestInit) => {
    bodies.push(JSON.parse(String(init?.body)));
    return new Response(JSON.stringify(body), { status });
  }) as typeof fetch;
  return { fetch: f, bodies };
}

const idleProcesses: BackrestActivity = { busy: () => Promise.resolve(undefined) };
const resticRunning: BackrestActivity = {
  busy: () => Promise.resolve('a restic process (restic backup)'),
};

describe('BackrestActivity', () => {
  it('the API names an in-progress operation, asking for the newest lastN with a selector', async () => {
    const { fetch, bodies } = fakeFetch(200, {
      operations: [
        { id: '1', status: 'STATUS_SUCCESS', operationBackup: {} },
        { id: '7', status: 'STATUS_INPROGRESS', planId: 'p1', operationBackup: {} },
      ],
    });
    const a = new ApiActivity({ url: 'http://backrest:9898/', fetch, lastN: 50 }, idleProcesses);
    expect(await a.busy()).to.equal('backup of plan p1 (operation 7)');
    expect(bodies).to.deep.equal([{ selector: {}, lastN: '50' }]);
  });

  it('an operation older than the newest lastN is still seen through its restic process', async () => {
    const { fetch } = fakeFetch(200, { operations: [{ id: '1', status: 'STATUS_SUCCESS' }] });
    expect(await new ApiActivity({ url: 'http://b', fetch }, resticRunning).busy()).to.equal(
      'a restic process (restic backup)',
    );
    expect(await new ApiActivity({ url: 'http://b', fetch }, idleProcesses).busy()).to.equal(
      undefined,
    );
  });

  it('an API that does not answer leaves the decision to the process check, or throws without one', async () => {
    const { fetch } = fakeFetch(503, {});
    expect(await new ApiActivity({ url: 'http://b', fetch }, resticRunning).busy()).to.match(
      /restic process/,
    );
    let err: unknown;
    await new ApiActivity({ url: 'http://b', fetch }).busy().catch((e: unknown) => (err = e));
    expect(String(err)).to.contain('HTTP 503');
  });

  it('the process check sees restic by its argv0 only', async () => {
    const p = new ProcessActivity(
      {
        processes: () =>
          Promise.resolve(['/bin/backrest', 'grep restic', '/usr/bin/restic backup /data']),
      },
      'backrest',
    );
    expect(await p.busy()).to.equal('a restic process (/usr/bin/restic backup /data)');
    expect(
      ['restic', 'restic-0.17 x', '/bin/restic_1 y', 'backrest', 'resticky'].map(isRestic),
    ).to.deep.equal([true, true, true, false, false]);
  });
});
