// Fuzz: random, hostile label maps through the whole label path (decoder → image-label trust →
// schema → plan builder → config writer, both file formats). No throw may escape, Object.prototype
// must stay untouched, and every config we render must pass the sink's own validator.
import { expect } from 'chai';
import fc from 'fast-check';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AjvSchemaRegistry } from '@dockop/runtime';
import { decodeLabels, untrustedLabels } from '@dockop/docker';
import {
  BACKUP_WORKLOAD_SCHEMA_ID,
  backupWorkloadDefinition,
  backupWorkloadFormats,
  backupWorkloadSchema,
  type BackupWorkloadSpec,
} from '@backrest-sidecar/api';
import { buildPlans, defaultPlanDefaults } from '@backrest-sidecar/controller-plan';
import {
  ConfigSink,
  applyChanges,
  renderConfig,
  validateConfig,
  type ConfigFormat,
  type PlanSpec,
} from '@backrest-sidecar/config-sink';

const RUNS = 10_000;
/** Every Nth case with a plan is also written to a real file through ConfigSink.commit. */
const WRITE_EVERY = 250;

const PROTO_KEYS = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  'valueOf',
  'isPrototypeOf',
  'propertyIsEnumerable',
  'toLocaleString',
  '__defineGetter__',
  '__lookupSetter__',
  'length',
  'name',
  'then',
];
const KNOWN_SEGMENTS = [
  'enable',
  'repo',
  'schedule',
  'paths',
  'include',
  'exclude',
  'pre',
  'post',
  'keep',
  'quiesce',
  'volumes',
  'rcb',
  'enabled',
];
const PREFIXES = ['backrest.', 'restic-compose-backup.', 'backrest', 'other.', ''];

const unicode = fc.string({ unit: 'binary', maxLength: 12 });
const segment = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...KNOWN_SEGMENTS) },
  { weight: 3, arbitrary: fc.constantFrom(...PROTO_KEYS) },
  { weight: 2, arbitrary: fc.stringMatching(/^[a-z]{1,6}$/) },
  { weight: 1, arbitrary: unicode },
);
const key = fc
  .tuple(
    fc.constantFrom(...PREFIXES),
    fc.array(segment, { minLength: 1, maxLength: 4 }),
    fc.array(segment, { maxLength: 12 }),
    fc.boolean(),
  )
  .map(([prefix, head, deep, deeper]) => prefix + [...head, ...(deeper ? deep : [])].join('.'));
const value = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('true', 'TRUE', 'false', '1', '') },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      '/data',
      '/data,/config',
      '["/data/a,b", "/x"]',
      '["a", 1]',
      '[]',
      '{"__proto__":{"polluted":1}}',
      '{"constructor":{"prototype":{"x":1}}}',
      'sh -c "pg_dump -t users,orders", echo done',
      "sh -c 'unterminated",
      '0 2 * * *',
      '*/0 * * * *',
      '@daily',
      'daily=7,weekly=4',
      'last=1,within=90d',
      'daily=x',
      '/data/../../etc',
      '/data/\u202eevil',
      'echo \u200bhidden',
      '$SELF ${SELF}',
      '../usr',
      'default',
    ),
  },
  { weight: 2, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.json({ maxDepth: 3 }) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom('x', '€', ',', '"'), fc.integer({ min: 1000, max: 6000 }))
      .map(([c, n]) => c.repeat(n)),
  },
);
const labelMap = fc
  .tuple(
    fc.dictionary(key, value, { maxKeys: 12 }),
    fc.boolean(),
    fc.option(fc.constantFrom('stack', '../..', '.', 'a b', 'p\u202e', '__proto__'), {
      nil: undefined,
    }),
    fc.option(fc.constantFrom('db', '../usr', '..', 'constructor', 'x/y', ''), { nil: undefined }),
  )
  .map(([labels, enable, project, service]) => {
    const out: Record<string, string> = { ...labels };
    if (enable) out['backrest.enable'] = 'true';
    if (project !== undefined) out['com.docker.compose.project'] = project;
    if (service !== undefined) out['com.docker.compose.service'] = service;
    return out;
  });

const protoNames = (): string[] => Object.getOwnPropertyNames(Object.prototype).sort();

function baseConfig(format: ConfigFormat): unknown {
  return format === 'sidecar'
    ? { repos: [{ id: 'default', type: 'local', url: '/repos/default' }], plans: [] }
    : {
        modno: 1,
        version: 6,
        instance: 'fuzz',
        repos: [{ id: 'default', uri: '/repos/default', password: 'x', autoInitialize: true }],
        plans: [],
      };
}

describe('fuzz: hostile label maps through decoder → schema → plan builder → config writer', function () {
  this.timeout(300_000);
  let dir: string;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'fuzz-labels-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it(`${RUNS} random label maps: no throw, Object.prototype untouched, every config valid`, async () => {
    const before = protoNames();
    const schemas = new AjvSchemaRegistry();
    for (const f of backupWorkloadFormats()) schemas.addFormat(f);
    schemas.add(backupWorkloadSchema);
    const selector = backupWorkloadDefinition.selector;
    const defaults = defaultPlanDefaults({ prefix: 'fuzz_' });
    const stats = { decoded: 0, valid: 0, planned: 0, written: 0 };
    let n = 0;

    await fc.assert(
      fc.asyncProperty(labelMap, fc.boolean(), async (labels, imageSetsAll) => {
        n++;
        // Trust: the image either set every label (all sensitive ones dropped) or none.
        const dropped = untrustedLabels(selector, labels, imageSetsAll ? labels : {});
        const trusted = { ...labels };
        for (const k of dropped) delete trusted[k];

        const decoded = decodeLabels(selector, trusted, { containerName: `c${n}` });
        if (!decoded.ok) {
          expect(decoded.message).to.include(`c${n}`);
          return;
        }
        stats.decoded++;
        const v = schemas.validate<BackupWorkloadSpec>(BACKUP_WORKLOAD_SCHEMA_ID, decoded.spec);
        if (!v.valid) return;
        stats.valid++;
        const project = labels['com.docker.compose.project'];
        const service = labels['com.docker.compose.service'];
        const status = {
          name: `c${n}`,
          compose: project && service ? { project, service } : undefined,
          mounts: [
            {
              type: 'volume',
              name: 'vol',
              source: '/var/lib/docker/volumes/vol/_data',
              destination: '/data',
            },
          ],
        };
        const built = buildPlans([{ name: `c${n}`, spec: v.value, status }], defaults, {
          repoIds: ['default'],
        });
        for (const s of built.skipped) expect(s.message).to.be.a('string').and.not.equal('');
        const plans: PlanSpec[] = built.plans.map((b) => b.plan);
        if (plans.length === 0) return;
        stats.planned++;
        for (const format of ['sidecar', 'backrest'] as const) {
          const doc = applyChanges(baseConfig(format), format, { upsert: plans, remove: [] });
          const rendered = renderConfig(doc, format);
          expect(validateConfig(JSON.parse(rendered), format), rendered).to.deep.equal([]);
        }
        if (stats.planned % WRITE_EVERY === 0) {
          for (const format of ['sidecar', 'backrest'] as const) {
            const file = path.join(dir, `${format}-${stats.planned}.json`);
            await writeFile(file, renderConfig(baseConfig(format), format));
            const sink = new ConfigSink({ path: file, format, keepBackup: false });
            await sink.commit({ upsert: plans, remove: [] });
            const written = JSON.parse(await readFile(file, 'utf8')) as unknown;
            expect(validateConfig(written, format)).to.deep.equal([]);
            stats.written++;
          }
        }
        expect(protoNames()).to.deep.equal(before);
      }),
      { numRuns: RUNS },
    );

    expect(protoNames()).to.deep.equal(before);
    expect(({} as Record<string, unknown>)['polluted']).to.equal(undefined);
    // The generator must reach every stage often enough to mean something.
    expect(stats.decoded, JSON.stringify(stats)).to.be.greaterThan(RUNS / 10);
    expect(stats.planned, JSON.stringify(stats)).to.be.greaterThan(RUNS / 50);
    expect(stats.written, JSON.stringify(stats)).to.be.greaterThan(0);
    console.log(`      fuzz stats: ${JSON.stringify(stats)}`);
  });
});
