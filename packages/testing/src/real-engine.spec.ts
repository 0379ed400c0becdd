import { expect } from 'chai';
import { withRealEngine } from './real-engine.js';

/** A socket path nothing listens on: the engine is unreachable without waiting for a timeout. */
const nowhere = { socketPath: '/nonexistent/dockop-test.sock' };

describe('withRealEngine without an engine', () => {
  it('skips the test (and does not run the body) when CI is not true', async () => {
    let skipped = 0;
    let ran = false;
    const err = await withRealEngine(
      { skip: () => skipped++ },
      async () => {
        ran = true;
      },
      { docker: nowhere, env: {} },
    ).catch((e: Error) => e);
    expect(skipped).to.equal(1);
    expect(ran).to.equal(false);
    expect((err as Error).message)
      .to.include('no Docker engine answers')
      .and.include('skipped');
  });

  it('fails instead of skipping when CI=true', async () => {
    let skipped = 0;
    const err = await withRealEngine({ skip: () => skipped++ }, async () => undefined, {
      docker: nowhere,
      env: { CI: 'true' },
    }).catch((e: Error) => e);
    expect(skipped).to.equal(0);
    expect((err as Error).message)
      .to.include('CI=true')
      .and.include('no Docker engine answers');
  });
});
