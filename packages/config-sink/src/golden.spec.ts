import { expect } from 'chai';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { assertBackrestLoads } from './backrest-oracle.js';
import { ConfigSink } from './config-sink.js';
import type { ConfigFormat, PlanChanges } from './plan-spec.js';
import { renderConfig } from './render-config.js';
import { backrestConfigSchema, sidecarConfigSchema } from './schemas.js';
import { GOLDEN, REPO_ROOT, fixture, plan, tempDir } from './spec-support.js';

/** UPDATE_GOLDEN=1 rewrites the expected files instead of comparing (then review the git diff). */
const UPDATE = process.env['UPDATE_GOLDEN'] === '1';

function expectGolden(file: string, actual: string): void {
  if (UPDATE) {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, actual);
    return;
  }
  expect(existsSync(file), `${file} is missing (run with UPDATE_GOLDEN=1)`).to.equal(true);
  expect(actual).to.equal(readFileSync(file, 'utf8'));
}

interface Scenario {
  name: string;
  format: ConfigFormat;
  /** Fixture the file starts as; undefined: no file. */
  base?: string;
  steps: PlanChanges[];
}

const web = plan('backrest_sidecar_stack_web', {
  schedule: '30 1 * * *',
  sources: ['/var/lib/docker/volumes/stack_web/_data', '/srv/web/uploads'],
  exclude: ['/srv/web/uploads/cache', '/srv/web/uploads/tmp'],
  hooks: { pre: ["sh -c 'docker stop $SELF'"], post: ["sh -c 'docker start $SELF'"] },
  retention: { spec: 'last=7,daily=7,weekly=4,monthly=12' },
});
const cache = plan('backrest_sidecar_stack_cache', {
  retention: { spec: 'within=90d,last=3' },
});
const db = plan('backrest_sidecar_stack_db', {
  schedule: '45 4 * * 1-5',
  sources: ['/var/lib/docker/volumes/stack_pgdata/_data'],
  hooks: { pre: ['pg_dumpall -f /dump.sql'], post: [] },
  retention: { spec: 'last=14' },
});
const webChanged = {
  ...web,
  schedule: '@hourly',
  sources: ['/srv/web/uploads'],
  hooks: { pre: [], post: ['echo done'] },
};

const scenarios: Scenario[] = [];
for (const format of ['sidecar', 'backrest'] as const) {
  const base = `${format}-base.json`;
  scenarios.push(
    { name: `${format}-create-empty`, format, steps: [{ upsert: [], remove: [] }] },
    // Given out of order on purpose: the file must come out sorted.
    { name: `${format}-create-plans`, format, base, steps: [{ upsert: [web, cache], remove: [] }] },
    {
      name: `${format}-update`,
      format,
      base,
      steps: [
        { upsert: [web, cache], remove: [] },
        { upsert: [webChanged], remove: [] },
      ],
    },
    {
      name: `${format}-remove`,
      format,
      base,
      steps: [
        { upsert: [web, cache], remove: [] },
        { upsert: [], remove: ['backrest_sidecar_stack_cache'] },
      ],
    },
    // Updating a plan someone extended by hand: their fields and hooks survive (backrest).
    { name: `${format}-preserve`, format, base, steps: [{ upsert: [db], remove: [] }] },
  );
}

describe('golden files', () => {
  for (const s of scenarios) {
    it(`${s.name}: rendered bytes equal testdata/golden/${s.name}.json`, async () => {
      const { dir, cleanup } = tempDir();
      try {
        const file = path.join(dir, 'config.json');
        if (s.base) writeFileSync(file, fixture(s.base));
        const sink = new ConfigSink({
          path: file,
          defaultFormat: s.format,
          instance: 'golden-host',
        });
        for (const step of s.steps) await sink.commit(step);
        expectGolden(path.join(GOLDEN, `${s.name}.json`), readFileSync(file, 'utf8'));
        // Every Backrest file we write must load in Backrest (the oracle, from its Go source).
        if (s.format === 'backrest') assertBackrestLoads(readFileSync(file, 'utf8'), s.name);
        expect((await sink.load()).format).to.equal(s.format);
      } finally {
        cleanup();
      }
    });
  }

  for (const format of ['sidecar', 'backrest'] as const) {
    it(`${format}-sort: canonical order of an untouched, shuffled file`, () => {
      const raw = JSON.parse(fixture(`${format}-base.json`));
      expectGolden(path.join(GOLDEN, `${format}-sort.json`), renderConfig(raw, format));
      if (format === 'backrest') assertBackrestLoads(renderConfig(raw, format), 'backrest-sort');
    });
  }

  it('crd-like-schemas/*.json are the schemas the package validates with', () => {
    for (const [name, schema] of [
      ['sidecar-config.schema.json', sidecarConfigSchema],
      ['backrest-config.schema.json', backrestConfigSchema],
    ] as const) {
      // Compared as JSON, not bytes: the repo's prettier formats crd-like-schemas/ its own way.
      const file = path.join(REPO_ROOT, 'crd-like-schemas', name);
      if (UPDATE) writeFileSync(file, JSON.stringify(schema, null, 2) + '\n');
      expect(JSON.parse(readFileSync(file, 'utf8'))).to.deep.equal(schema);
    }
  });
});
