import { expect } from 'chai';
import { abandonEarlyContainerList, takeEarlyContainerList } from './early-container-list.js';
import { clearEarlyList, placeEarlyList } from './test-support/early-list.js';

describe('takeEarlyContainerList (a list the launcher began before the program loaded)', () => {
  const filters = { label: ['backrest.enable', 'stack=a'] };
  afterEach(clearEarlyList);

  it('hands out the list asked of the same socket with the same filters, once, and keeps the process waiting for it', async () => {
    const calls = placeEarlyList('/run/docker.sock', filters, Promise.resolve([{ Id: 'a' }]));
    const early = takeEarlyContainerList('/run/docker.sock', {
      label: ['backrest.enable', 'stack=a'],
    });
    expect(early).to.not.equal(undefined);
    expect(await early).to.deep.equal([{ Id: 'a' }]);
    expect(calls).to.deep.equal(['ref']);
    expect(takeEarlyContainerList('/run/docker.sock', filters), 'taken once').to.equal(undefined);
  });

  it('abandons a list of another socket or other filters (order counts: it is the query sent)', () => {
    for (const [socket, other] of [
      ['/other.sock', filters],
      ['/run/docker.sock', { label: ['backrest.enable'] }],
      ['/run/docker.sock', { label: ['stack=a', 'backrest.enable'] }],
      ['/run/docker.sock', { label: ['backrest.enable', 'stack=a'], status: ['running'] }],
    ] as [string, Record<string, string[]>][]) {
      const calls = placeEarlyList('/run/docker.sock', filters, Promise.resolve([]));
      expect(takeEarlyContainerList(socket, other), `${socket} ${JSON.stringify(other)}`).to.equal(
        undefined,
      );
      expect(calls).to.deep.equal(['abandon']);
      expect(takeEarlyContainerList('/run/docker.sock', filters), 'the slot is emptied').to.equal(
        undefined,
      );
    }
  });

  it("passes the launcher's failure on, and refuses an answer that is not a list", async () => {
    placeEarlyList('/s', filters, Promise.reject(new Error('the engine answered 500')));
    let error: unknown;
    await takeEarlyContainerList('/s', filters)!.catch((err: unknown) => (error = err));
    expect(String(error)).to.include('answered 500');
    placeEarlyList('/s', filters, Promise.resolve({ message: 'not a list' }));
    error = undefined;
    await takeEarlyContainerList('/s', filters)!.catch((err: unknown) => (error = err));
    expect(String(error)).to.include('not an array');
  });

  it('closes a taken list when the taker gives up (its signal aborts), and refuses one for an aborted signal', () => {
    const calls = placeEarlyList('/s', filters, new Promise(() => undefined));
    const controller = new AbortController();
    expect(takeEarlyContainerList('/s', filters, controller.signal)).to.not.equal(undefined);
    expect(calls).to.deep.equal(['ref']);
    controller.abort();
    expect(calls).to.deep.equal(['ref', 'abandon']);
    const later = placeEarlyList('/s', filters, Promise.resolve([]));
    expect(takeEarlyContainerList('/s', filters, controller.signal)).to.equal(undefined);
    expect(later).to.deep.equal(['abandon']);
  });

  it('abandonEarlyContainerList closes an untaken list, and does nothing without one', () => {
    abandonEarlyContainerList();
    const calls = placeEarlyList('/s', filters, Promise.resolve([]));
    abandonEarlyContainerList();
    abandonEarlyContainerList();
    expect(calls).to.deep.equal(['abandon']);
    expect(takeEarlyContainerList('/s', filters)).to.equal(undefined);
  });
});
