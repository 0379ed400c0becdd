// Hostile labels on the real engine: prototype keys, image-label aliases and compose names that
// try to leave /volumes. Each hostile container runs next to a valid one that must still get its
// plan, and nothing may leak onto Object.prototype.
import type Docker from 'dockerode';
import { expect } from 'chai';
import { exec } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { promisify } from 'node:util';
import { AjvSchemaRegistry, InMemoryEventRecorder } from '@dockop/runtime';
import { DockerodeClient, DockerSource, createContainer } from '@dockop/docker';
import {
  backupWorkloadDefinition,
  backupWorkloadFormats,
  backupWorkloadSchema,
  planIdFor,
  type BackupWorkloadSpec,
} from '@backrest-sidecar/api';
import { buildPlans, defaultPlanDefaults } from '@backrest-sidecar/controller-plan';
import { WORKLOAD_IMAGE, removeLabeled, requireEngine, runId } from './support/engine.js';
import { WatchingSink } from './support/docker-sink.js';
import { isolate, prefixOf, runCli, tempConfig } from './support/plan-cli.js';

const sh = promisify(exec);
const protoNames = (): string[] => Object.getOwnPropertyNames(Object.prototype).sort();

interface WrittenPlan {
  id: string;
  sources: string[];
  hooks?: { pre?: string[]; post?: string[] };
  retention?: { spec?: string };
}

describe('hostile labels (real engine)', function () {
  this.timeout(120_000);
  let docker: Docker;
  const run = runId();
  const short = run.replace(/-/g, '');
  const runLabel = `dockop.test.run=${run}`;
  const prefix = prefixOf(run);
  const dirs: string[] = [];
  const controllers: AbortController[] = [];

  before(async function () {
    docker = await requireEngine(this);
  });

  after(async function () {
    controllers.forEach((c) => c.abort());
    if (docker) await removeLabeled(docker, runLabel);
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  /** `reconcile` for real (logs no longer carry hook text): the plans written to a temp config. */
  async function reconcileWritten(extra: string[] = []) {
    const c = await tempConfig();
    dirs.push(c.dir);
    const r = await runCli(['reconcile', ...extra, '--config', c.path, ...isolate(run)]);
    expect([0, 3], r.stderr + r.stdout).to.include(r.code);
    const doc = JSON.parse(await readFile(c.path, 'utf8')) as { plans?: WrittenPlan[] };
    const plan = (container: string): WrittenPlan | undefined =>
      doc.plans?.find((p) => p.id === planIdFor({ name: container }, { prefix }));
    const hooks = (container: string) => {
      const h = plan(container)?.hooks;
      return { pre: h?.pre ?? [], post: h?.post ?? [] };
    };
    return { r, plan, hooks };
  }

  async function make(name: string, labels: Record<string, string>, binds: string[] = []) {
    const c = await createContainer(docker, {
      name,
      Image: WORKLOAD_IMAGE,
      Cmd: ['sleep', '600'],
      Labels: { 'dockop.test.run': run, 'backrest.enable': 'true', ...labels },
      HostConfig: { NetworkMode: 'none', Binds: binds },
    });
    await c.start();
  }

  describe('prototype keys', () => {
    const hostile: Record<string, Record<string, string>> = {
      [`proto${short}-ctor`]: { 'backrest.constructor.prototype.keep': 'last=1' },
      [`proto${short}-tostr`]: { 'backrest.toString.constructor.prototype.x': 'y' },
      [`proto${short}-rcb`]: { 'restic-compose-backup.constructor.prototype.post': 'touch /pwn' },
      [`proto${short}-dunder`]: { 'backrest.__proto__.pre': 'touch /pwn' },
    };
    const sibling = `proto${short}-ok`;
    const odd = `proto${short}-len`;

    before(async () => {
      for (const [name, labels] of Object.entries(hostile)) await make(name, labels);
      // Keys named after inherited members that are not reserved: decoded, then dropped as unknown.
      await make(odd, { 'backrest.toString.length.x': 'z' }, ['/srv/odd-data:/data:ro']);
      await make(sibling, {}, ['/srv/ok-data:/data:ro']);
    });

    it('reconcile: each hostile container is refused by name, label and value; the valid ones get plans', async () => {
      const c = await tempConfig();
      dirs.push(c.dir);
      const r = await runCli(['reconcile', '--dry-run', '--config', c.path, ...isolate(run)]);
      // 2: plans would change (refused-at-decode containers carry no labels a --selector sees).
      expect(r.code, r.stderr + r.stdout).to.equal(2);
      for (const [name, labels] of Object.entries(hostile)) {
        const [key, value] = Object.entries(labels)[0]!;
        const warning = r.logs.find(
          (l) => l.action === 'event' && l.key === `BackupWorkload/${name}`,
        );
        expect(warning, `${name}: ${r.stdout}`).to.include({ type: 'Warning' });
        expect(String(warning?.msg))
          .to.include(`container "${name}"`)
          .and.include(`label "${key}"`)
          .and.include(JSON.stringify(value))
          .and.match(/reserved segment "(__proto__|constructor)"/);
      }
      const rendered = r.logs.filter((l) => l.action === 'plan.rendered').map((l) => l.container);
      expect(rendered).to.have.members([sibling, odd]);
      expect(r.stderr).to.include(planIdFor({ name: sibling }, { prefix }));
    });

    it('in process: source → schema → plan builder leave Object.prototype untouched', async () => {
      const before = protoNames();
      const recorder = new InMemoryEventRecorder();
      const source = new DockerSource(
        new DockerodeClient(),
        [backupWorkloadDefinition],
        undefined,
        undefined,
        recorder,
        undefined,
        {},
      );
      const sink = new WatchingSink();
      const ac = new AbortController();
      controllers.push(ac);
      await source.start(sink, ac.signal);
      const mine = (name: string): boolean => name.startsWith(`proto${short}-`);
      await sink.waitFor(
        'every test container delivered or refused',
        () =>
          sink.records.filter((x) => x.op === 'reject' && mine(x.key.split('/')[1]!)).length ===
            4 && sink.get(`BackupWorkload/${sibling}`) !== undefined,
      );
      const schemas = new AjvSchemaRegistry();
      for (const f of backupWorkloadFormats()) schemas.addFormat(f);
      schemas.add(backupWorkloadSchema);
      const workloads = source
        .resources()
        .filter((res) => mine(res.metadata.name))
        .map((res) => {
          const v = schemas.validate<BackupWorkloadSpec>(backupWorkloadSchema.$id, res.spec);
          expect(v.valid, JSON.stringify(v.errors)).to.equal(true);
          return { name: res.metadata.name, spec: v.value, status: res.status! };
        });
      expect(workloads.map((w) => w.name)).to.have.members([sibling, odd]);
      const built = buildPlans(workloads, defaultPlanDefaults({ prefix }), {
        repoIds: ['default'],
      });
      expect(built.plans.map((p) => p.container)).to.have.members([sibling, odd]);
      expect(protoNames()).to.deep.equal(before);
      expect(({} as Record<string, unknown>)['keep']).to.equal(undefined);
    });
  });

  describe('image labels under the restic-compose-backup alias', () => {
    const image = `dockop-it/rcb-evil-${short}:local`;
    const inherits = `img${short}-inherits`;
    const own = `img${short}-own`;

    before(async function () {
      this.timeout(60_000);
      // A "third-party" image: busybox's filesystem re-imported with hostile LABELs.
      const base = `img${short}-base`;
      await sh(`docker create --name ${base} --label ${runLabel} ${WORKLOAD_IMAGE} true`);
      await sh(
        `docker export ${base} | docker import ` +
          `--change 'LABEL restic-compose-backup.post="touch /pwn-post"' ` +
          `--change 'LABEL restic-compose-backup.pre="touch /pwn-pre"' ` +
          `--change 'LABEL restic-compose-backup.paths.include="/etc,/root/.ssh"' ` +
          // An image's retention would shrink every plan started from it (Backrest forgets by it).
          `--change 'LABEL backrest.keep="last=1"' ` +
          `--change 'ENV PATH=/bin' - ${image}`,
      );
      await sh(`docker rm -f ${base}`);
      const start = async (name: string, labels: Record<string, string>): Promise<void> => {
        const c = await createContainer(docker, {
          name,
          Image: image,
          Cmd: ['sleep', '600'],
          Labels: { 'dockop.test.run': run, 'backrest.enable': 'true', ...labels },
          HostConfig: { NetworkMode: 'none', Binds: ['/srv/img-data:/data:ro'] },
        });
        await c.start();
      };
      await start(inherits, {});
      // The operator overrides one hook with its own value: that one is trusted.
      await start(own, { 'restic-compose-backup.pre': 'echo mine' });
    });

    after(async function () {
      this.timeout(60_000);
      if (docker) await removeLabeled(docker, runLabel);
      await sh(`docker rmi -f ${image}`).catch(() => undefined);
    });

    it('drops hooks and include paths the image sets, with a Warning naming the image', async () => {
      const { r, plan, hooks } = await reconcileWritten();
      expect(plan(inherits), r.stdout).to.not.equal(undefined);
      expect(hooks(inherits)).to.deep.equal({ pre: [], post: [] });
      expect(plan(inherits)?.sources).to.deep.equal(['/srv/img-data']);
      const warnings = r.logs.filter(
        (l) =>
          l.action === 'event' &&
          l.key === `BackupWorkload/${inherits}` &&
          l.reason === 'UntrustedImageLabel',
      );
      expect(warnings.map((w) => String(w.msg).match(/label "([^"]+)"/)?.[1])).to.have.members([
        'restic-compose-backup.post',
        'restic-compose-backup.pre',
        'restic-compose-backup.paths.include',
        'backrest.keep',
      ]);
      expect(plan(inherits)?.retention?.spec).to.not.equal('last=1');
      for (const w of warnings) expect(String(w.msg)).to.include(image).and.include(inherits);
      expect(hooks(own)).to.deep.equal({ pre: ['echo mine'], post: [] });
      expect(plan(own)?.sources).to.deep.equal(['/srv/img-data']);
    });

    it('keeps them with --trust-image-labels', async () => {
      const { plan, hooks } = await reconcileWritten(['--trust-image-labels']);
      expect(hooks(inherits)).to.deep.equal({ pre: ['touch /pwn-pre'], post: ['touch /pwn-post'] });
      expect(plan(inherits)?.sources).to.deep.equal(['/etc', '/root/.ssh']);
      expect(plan(inherits)?.retention?.spec).to.equal('last=1');
    });
  });

  describe('list labels: quoted commas, JSON arrays, invisible characters', () => {
    const quoted = `list${short}-quoted`;
    const json = `list${short}-json`;
    const bidi = `list${short}-bidi`;

    before(async () => {
      await make(quoted, { 'backrest.pre': 'sh -c "pg_dump -t users,orders", echo done' }, [
        '/srv/list-data:/data:ro',
      ]);
      await make(json, { 'restic-compose-backup.post': '["cmd one", "cmd, two"]' }, [
        '/srv/list-data:/data:ro',
      ]);
      await make(bidi, { 'backrest.paths.include': '/data/\u202eevil' });
    });

    it('one hook per quoted command, JSON arrays kept whole, bidi refused by label and value', async () => {
      const { r, hooks } = await reconcileWritten();
      expect(hooks(quoted), r.stdout).to.deep.equal({
        pre: ['sh -c "pg_dump -t users,orders"', 'echo done'],
        post: [],
      });
      expect(hooks(json)).to.deep.equal({ pre: [], post: ['cmd one', 'cmd, two'] });
      const warning = r.logs.find(
        (l) => l.action === 'event' && l.key === `BackupWorkload/${bidi}` && l.type === 'Warning',
      );
      expect(String(warning?.msg), r.stdout)
        .to.include(bidi)
        .and.include('backrest.paths.include')
        .and.include('U+202E');
    });
  });
});
