import { expect } from 'chai';
import { createTestManager, type TestManager } from '@dockop/testing';
import { stopNoticePlugin } from './stop-notice.js';

describe('stop-notice', () => {
  let tm: TestManager;
  beforeEach(() => (tm = createTestManager({ modules: [stopNoticePlugin()] })));
  afterEach(() => tm.stop());

  it('records one Stopped event per stop of a labeled container', async () => {
    await tm.docker.run({
      name: 'api',
      labels: { 'myplugin.enable': 'true', 'myplugin.team': 'pay' },
    });
    await tm.docker.run({ name: 'other', labels: {} });
    await tm.reconcileAll();
    await tm.docker.stop('api');
    await tm.docker.stop('other');
    await tm.settle();
    await tm.reconcileAll(); // reconciled again, still stopped: no second event
    expect(tm.events('StopNotice/api').map((e) => e.message)).to.deep.equal(['stopped (team pay)']);
    await tm.docker.startContainer('api');
    await tm.docker.stop('api');
    await tm.settle();
    expect(tm.events('StopNotice/api')).to.have.length(1); // aggregated: same reason and message
    expect(tm.events('StopNotice/api')[0]?.count).to.equal(2);
  });

  it('refuses a bad label value, naming container, label and value', async () => {
    await tm.docker.run({
      name: 'bad',
      labels: { 'myplugin.enable': 'true', 'myplugin.team': 'A B' },
    });
    await tm.reconcileAll();
    expect(tm.condition('StopNotice/bad', 'InvalidSpec')?.status).to.equal('True');
    expect(tm.events('StopNotice/bad').at(-1)?.message)
      .to.include('myplugin.team')
      .and.include('"A B"');
  });
});
