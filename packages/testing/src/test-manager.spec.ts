import { expect } from 'chai';
import { TerminalError, VirtualClock } from '@dockop/runtime';
import { createTestManager, type TestManager } from './test-manager.js';
import { RecordingReconciler, widgetModule } from './widget-kind.spec-support.js';

describe('createTestManager', () => {
  let tm: TestManager | undefined;
  afterEach(async () => {
    await tm?.stop();
    tm = undefined;
  });

  it('reconcileAll reconciles every known key once, at virtual time', async () => {
    const rec = new RecordingReconciler();
    const clock = new VirtualClock(Date.UTC(2030, 0, 1));
    tm = createTestManager({ modules: [widgetModule(rec)], clock });
    await tm.docker.run({ name: 'a', labels: { 'widget.enable': 'true' } });
    await tm.docker.run({ name: 'b', labels: { 'widget.enable': 'true' } });
    await tm.reconcileAll();
    const keys = rec.seen.map((s) => s.key).sort();
    expect(keys).to.deep.equal(['Widget/a', 'Widget/b']);
    expect(rec.seen.every((s) => s.at === Date.UTC(2030, 0, 1))).to.equal(true);
    await tm.reconcileAll();
    expect(rec.seen).to.have.length(4);
  });

  it('reconciles a removed container once the grace period passed, when the key is gone', async () => {
    const rec = new RecordingReconciler();
    tm = createTestManager({ modules: [widgetModule(rec)] });
    await tm.docker.run({ name: 'a', labels: { 'widget.enable': 'true' } });
    await tm.reconcileAll();
    await tm.docker.remove('a');
    await tm.settle();
    expect(rec.seen).to.have.length(1);
    await tm.advance(2_000);
    expect(rec.seen.map((s) => [s.key, s.exists])).to.deep.equal([
      ['Widget/a', true],
      ['Widget/a', false],
    ]);
  });

  it('runs requeueAfter only when the virtual clock reaches it', async () => {
    const rec = new RecordingReconciler();
    rec.behaviour = async () => ({ requeueAfter: 60_000 });
    tm = createTestManager({ modules: [widgetModule(rec)] });
    await tm.docker.run({ name: 'a', labels: { 'widget.enable': 'true' } });
    await tm.reconcileAll();
    const start = tm.clock.now();
    await tm.advance(59_999);
    expect(rec.seen).to.have.length(1);
    await tm.advance(1);
    expect(rec.seen.map((s) => s.at - start)).to.deep.equal([0, 60_000]);
  });

  it('retries a failing reconcile with the default backoff (5 ms, 10 ms, ...)', async () => {
    const rec = new RecordingReconciler();
    let calls = 0;
    rec.behaviour = async () => {
      if (++calls <= 3) throw new Error(`boom ${calls}`);
    };
    tm = createTestManager({ modules: [widgetModule(rec)] });
    await tm.docker.run({ name: 'a', labels: { 'widget.enable': 'true' } });
    const start = tm.clock.now();
    await tm.reconcileAll();
    await tm.advance(1_000);
    expect(rec.seen.map((s) => s.at - start)).to.deep.equal([0, 5, 15, 35]);
    const errors = tm.logs().filter((l) => l['action'] === 'reconcile.error');
    expect(errors.map((l) => [l['controller'], l['key']])).to.deep.equal([
      ['widgets', 'Widget/a'],
      ['widgets', 'Widget/a'],
      ['widgets', 'Widget/a'],
    ]);
  });

  it('exposes the InvalidSpec condition and Warning event of a bad label', async () => {
    const rec = new RecordingReconciler();
    tm = createTestManager({ modules: [widgetModule(rec)] });
    await tm.docker.run({
      name: 'bad',
      labels: { 'widget.enable': 'true', 'widget.size': 'huge' },
    });
    await tm.reconcileAll();
    expect(rec.seen).to.deep.equal([]);
    expect(tm.condition('Widget/bad', 'InvalidSpec')?.status).to.equal('True');
    const warning = tm.events('Widget/bad').find((e) => e.type === 'Warning');
    expect(warning?.reason).to.equal('InvalidSpec');
    expect(warning?.message).to.include('spec.size').and.include('"huge"');
    expect(tm.conditions('Widget/bad').map((c) => c.type)).to.deep.equal(['InvalidSpec', 'Ready']);
  });

  it('records a TerminalError as a Warning event and does not retry it', async () => {
    const rec = new RecordingReconciler();
    rec.behaviour = async () => {
      throw new TerminalError('cannot work with this', 'BadWidget');
    };
    tm = createTestManager({ modules: [widgetModule(rec)] });
    await tm.docker.run({ name: 'a', labels: { 'widget.enable': 'true' } });
    await tm.reconcileAll();
    await tm.advance(3_600_000);
    expect(rec.seen).to.have.length(1);
    expect(tm.events('Widget/a').map((e) => [e.type, e.reason])).to.deep.equal([
      ['Warning', 'BadWidget'],
    ]);
  });

  it('merges a debounced burst into one reconcile when settling', async () => {
    const rec = new RecordingReconciler();
    tm = createTestManager({
      modules: [widgetModule(rec, { debounce: { quietMs: 1_000, maxWaitMs: 5_000 } })],
    });
    await tm.start();
    for (let i = 1; i <= 3; i++) {
      await tm.docker.run({ name: `w${i}`, labels: { 'widget.enable': 'true' } });
    }
    await tm.docker.relabel('w1', { 'widget.enable': 'true', 'widget.size': '2' });
    await tm.settle();
    expect(rec.seen.map((s) => s.key).sort()).to.deep.equal([
      'Widget/w1',
      'Widget/w2',
      'Widget/w3',
    ]);
  });

  it('fails settle, naming the controller, when a reconcile waits on the virtual clock', async () => {
    const rec = new RecordingReconciler();
    rec.behaviour = async (_req, ctx) => {
      await ctx.clock.sleep(10_000, ctx.signal);
    };
    tm = createTestManager({ modules: [widgetModule(rec)], settleTimeoutMs: 50 });
    await tm.docker.run({ name: 'a', labels: { 'widget.enable': 'true' } });
    let message = '';
    await tm.reconcileAll().catch((err: Error) => (message = err.message));
    expect(message).to.include('widgets (queued 0, in flight 1)').and.include('advance()');
    await tm.advance(10_000);
    expect(tm.controllers[0]?.queue.processingCount()).to.equal(0);
  });
});
