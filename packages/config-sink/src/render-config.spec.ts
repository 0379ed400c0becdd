import { expect } from 'chai';
import fc from 'fast-check';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { applyChanges } from './apply-changes.js';
import { ConfigSink } from './config-sink.js';
import type { ConfigFormat, PlanSpec } from './plan-spec.js';
import { freezeJson, type JsonObject } from './json-util.js';
import {
  canonicalize,
  canonicalizeCached,
  newPlanRenderCache,
  renderCanonical,
  renderCanonicalConfig,
  renderConfig,
  withModno,
} from './render-config.js';
import { renderConfig as referenceRenderConfig } from './reference/render-config.js';
import { validateConfig } from './validate-config.js';
import { toSidecarPlan } from './sidecar-plan.js';
import { tempDir } from './spec-support.js';

const idArb = fc.stringMatching(/^[a-z0-9][a-z0-9_.-]{0,15}$/);
const pathArb = fc.stringMatching(/^\/[a-zA-Z0-9_./-]{1,20}$/);
const count = fc.integer({ min: 1, max: 400 });
const specArb = fc.oneof(
  fc.constant(''),
  fc.constantFrom(
    'daily=7,weekly=4',
    'last=3',
    'within=90d',
    'within=1y6m,last=2',
    'hourly=24,yearly=3',
  ),
  fc.tuple(count, count).map(([d, w]) => `weekly=${w},daily=${d}`),
);
const planArb = (repos: string[]): fc.Arbitrary<PlanSpec> =>
  fc.record({
    id: idArb,
    repo: fc.constantFrom(...repos),
    schedule: fc.constantFrom('0 2 * * *', '@daily', '*/10 6-22 * * MON-FRI', '0 0 1 * 5-7'),
    sources: fc.array(pathArb, { minLength: 1, maxLength: 4 }),
    exclude: fc.array(pathArb, { maxLength: 3 }),
    hooks: fc.record({
      pre: fc.array(fc.string({ maxLength: 30 }), { maxLength: 2 }),
      post: fc.array(fc.string({ maxLength: 30 }), { maxLength: 2 }),
    }),
    retention: fc.record({ spec: specArb }),
  });
const plansArb = fc.uniqueArray(planArb(['default', 'offsite']), {
  selector: (p) => p.id,
  maxLength: 6,
});

function base(format: ConfigFormat): unknown {
  return format === 'backrest'
    ? {
        modno: 3,
        version: 6,
        instance: 'host',
        repos: [
          { id: 'offsite', uri: 'sftp:x:/r', autoInitialize: true },
          {
            id: 'default',
            uri: '/srv/restic',
            guid: '37a8eec1ce19687d132fe29051dca629d164e2c4958ba141d5f4133a33f0688f',
          },
        ],
        plans: [],
      }
    : {
        repos: [
          { id: 'offsite', url: 'sftp:x:/r' },
          { id: 'default', url: '/srv/restic' },
        ],
        plans: [],
      };
}

/** An array whose JSON is not its elements. */
class ToJsonArray extends Array<unknown> {
  toJSON(): unknown {
    return 'not the elements';
  }
}

describe('renderConfig', () => {
  it('is canonical: key order of the input does not matter', () => {
    const a = {
      plans: [
        { id: 'b', repo: 'r' },
        { repo: 'r', id: 'a' },
      ],
      version: 6,
      modno: 1,
      zeta: 1,
      alpha: { y: 1, x: 2 },
    };
    const b = {
      alpha: { x: 2, y: 1 },
      modno: 1,
      zeta: 1,
      version: 6,
      plans: [
        { repo: 'r', id: 'a' },
        { id: 'b', repo: 'r' },
      ],
    };
    expect(renderConfig(a, 'backrest')).to.equal(renderConfig(b, 'backrest'));
    expect(renderConfig(a, 'backrest')).to.match(
      /^\{\n {2}"modno": 1,\n {2}"version": 6,\n {2}"plans"/,
    );
    expect(renderConfig(a, 'backrest').endsWith('}\n')).to.equal(true);
  });

  it('sorts what Backrest sorts on load (paths, repo env) and keeps excludes in order', () => {
    const doc = {
      repos: [{ id: 'r', env: ['B=2', 'A=1'] }],
      plans: [
        {
          id: 'a',
          repo: 'r',
          paths: ['/b', '/a'],
          excludes: ['/a/*.log', '!/a/keep.log'],
          iexcludes: ['*.TMP', '!X.TMP'],
        },
      ],
    };
    const out = JSON.parse(renderConfig(doc, 'backrest'));
    expect(out.repos[0].env).to.deep.equal(['A=1', 'B=2']);
    expect(out.plans[0].paths).to.deep.equal(['/a', '/b']);
    expect(out.plans[0].excludes).to.deep.equal(['/a/*.log', '!/a/keep.log']);
    expect(out.plans[0].iexcludes).to.deep.equal(['*.TMP', '!X.TMP']);
    const sidecar = { plans: [{ id: 'a', sources: ['/b', '/a'], exclude: ['/x', '!/x/y'] }] };
    const sc = JSON.parse(renderConfig(sidecar, 'sidecar'));
    expect(sc.plans[0].sources).to.deep.equal(['/a', '/b']);
    expect(sc.plans[0].exclude).to.deep.equal(['/x', '!/x/y']);
  });

  it('sorts paths in code-point (Go byte) order, not UTF-16 order', () => {
    const doc = { plans: [{ id: 'a', repo: 'r', paths: ['/\u{1F600}', '/\uFF5E'] }] };
    const out = JSON.parse(renderConfig(doc, 'backrest'));
    expect(out.plans[0].paths).to.deep.equal(['/\uFF5E', '/\u{1F600}']);
  });

  it('takes a sidecar plan toSidecarPlan wrote as its own canonical form; copies one out of order', () => {
    const plan = (sources: string[]): PlanSpec => ({
      id: 'p',
      repo: 'r',
      schedule: '0 2 * * *',
      sources,
      exclude: [],
      hooks: { pre: [], post: [] },
      retention: { spec: 'last=3' },
    });
    const written = toSidecarPlan(plan(['/a', '/b']));
    const unsorted = toSidecarPlan(plan(['/b', '/a']));
    const canonical = canonicalize({ repos: [], plans: [written, unsorted] }, 'sidecar');
    const [first, second] = (canonical as { plans: JsonObject[] }).plans;
    expect(first).to.equal(written);
    expect(second).to.not.equal(unsorted);
    expect(second?.['sources']).to.deep.equal(['/a', '/b']);
    expect(unsorted['sources']).to.deep.equal(['/b', '/a']);
  });

  for (const format of ['sidecar', 'backrest'] as const) {
    it(`fast-check (${format}): render → parse → render is a fixed point, and the result is valid`, () => {
      fc.assert(
        fc.property(plansArb, (plans) => {
          const doc = applyChanges(base(format), format, { upsert: plans, remove: [] });
          expect(validateConfig(doc, format)).to.deep.equal([]);
          const once = renderConfig(doc, format);
          expect(renderConfig(JSON.parse(once), format)).to.equal(once);
        }),
        { numRuns: 200 },
      );
    });

    it(`fast-check (${format}): committing the same changes twice writes once`, async () => {
      await fc.assert(
        fc.asyncProperty(plansArb, async (plans) => {
          const { dir, cleanup } = tempDir();
          try {
            const file = path.join(dir, 'config.json');
            writeFileSync(file, JSON.stringify(base(format)));
            const sink = new ConfigSink({ path: file });
            const first = await sink.commit({ upsert: plans, remove: [] });
            const bytes = readFileSync(file, 'utf8');
            const ino = statSync(file).ino;
            const second = await sink.commit({ upsert: plans, remove: [] });
            // No plans: the file already holds that content (in other bytes), so nothing is written.
            expect(first.written).to.equal(plans.length > 0);
            expect(second.written).to.equal(false);
            expect(readFileSync(file, 'utf8')).to.equal(bytes);
            expect(statSync(file).ino).to.equal(ino);
            expect((await sink.load()).plans.map((p) => p.id)).to.have.members(
              plans.map((p) => p.id),
            );
          } finally {
            cleanup();
          }
        }),
        { numRuns: 25 },
      );
    });
  }

  describe('the same bytes as before its fast paths (reference/render-config.ts)', () => {
    // Known keys of every level, keys JS treats specially, and any string (lone surrogates too).
    const key = fc.oneof(
      fc.constantFrom(
        'modno',
        'version',
        'instance',
        'repos',
        'plans',
        'auth',
        'sync',
        'id',
        'uri',
        'url',
        'env',
        'hooks',
        'paths',
        'sources',
        'excludes',
        'exclude',
        'schedule',
        'retention',
        'cron',
        'clock',
        'policyTimeBucketed',
        'daily',
        'keepLastN',
        'conditions',
        'pre',
        'post',
        'spec',
        '__proto__',
        'constructor',
        'toString',
        '0',
        '10',
        '2',
        'Z',
        'a',
        '\u{1F600}',
        '\uFF5E',
      ),
      fc.string({ unit: 'binary', maxLength: 4 }),
    );
    const text = fc.oneof(
      fc.constantFrom('a', 'b', '/x', '/\u{1F600}', '/\uFF5E', '\uD800', 'B=2', 'A=1'),
      fc.string({ unit: 'binary', maxLength: 4 }),
    );
    const { value } = fc.letrec<{ value: unknown; object: unknown }>((tie) => ({
      value: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        text,
        fc.integer(),
        fc.boolean(),
        fc.constant(null),
        fc.array(tie('value'), { maxLength: 4 }),
        tie('object'),
      ),
      // fromEntries defines keys: an own "__proto__" like JSON.parse makes.
      object: fc
        .array(fc.tuple(key, tie('value')), { maxLength: 6 })
        .map((entries) => Object.fromEntries(entries)),
    }));
    const withId = fc
      .tuple(fc.option(text, { nil: undefined }), value)
      .map(([id, v]) =>
        id !== undefined && typeof v === 'object' && v !== null && !Array.isArray(v)
          ? Object.fromEntries([...Object.entries(v), ['id', id]])
          : v,
      );
    const doc = fc
      .tuple(value, fc.array(withId, { maxLength: 5 }), fc.array(withId, { maxLength: 5 }))
      .map(([top, repos, plans]) => {
        const rest = typeof top === 'object' && top !== null && !Array.isArray(top) ? top : {};
        return Object.fromEntries([...Object.entries(rest), ['repos', repos], ['plans', plans]]);
      });

    for (const format of ['sidecar', 'backrest'] as const) {
      it(`fast-check (${format}): any document renders as it did`, () => {
        fc.assert(
          fc.property(fc.oneof(doc, value), (d) => {
            expect(renderConfig(d, format)).to.equal(referenceRenderConfig(d, format));
          }),
          { numRuns: 1500 },
        );
      });
    }

    for (const format of ['sidecar', 'backrest'] as const) {
      it(`fast-check (${format}): the cached rendering gives the same bytes, cold, warm and re-read`, () => {
        // One cache for every run, as a sink keeps it: entries of earlier documents must not leak.
        const cache = newPlanRenderCache();
        fc.assert(
          fc.property(doc, fc.boolean(), (d, frozen) => {
            const expected = referenceRenderConfig(d, format);
            // As the sink holds a parsed file: the document and each plan frozen.
            const read = JSON.parse(JSON.stringify(d)) as Record<string, unknown>;
            if (frozen) {
              expect(freezeJson(read)).to.equal(true);
              for (const p of read['plans'] as unknown[]) freezeJson(p);
            }
            const cold = canonicalizeCached(read, format, cache);
            expect(renderCanonicalConfig(cold)).to.equal(expected);
            expect(renderCanonicalConfig(canonicalizeCached(read, format, cache))).to.equal(
              expected,
            );
            // The canonical document stands for the file just written: its next read.
            expect(
              renderCanonicalConfig(canonicalizeCached(cold.canonical, format, cache)),
            ).to.equal(expected);
            if (format === 'sidecar') return;
            cold.canonical = withModno(cold.canonical, 7);
            expect(renderCanonicalConfig(cold)).to.equal(
              referenceRenderConfig(
                Object.fromEntries([...Object.entries(d), ['modno', 7]]),
                format,
              ),
            );
          }),
          { numRuns: 1000 },
        );
      });
    }

    it('fast-check: plans from applyChanges render as they did (both formats)', () => {
      fc.assert(
        fc.property(plansArb, fc.constantFrom('sidecar', 'backrest' as const), (plans, format) => {
          const d = applyChanges(base(format), format, { upsert: plans, remove: [] });
          expect(renderConfig(d, format)).to.equal(referenceRenderConfig(d, format));
        }),
        { numRuns: 200 },
      );
    });

    it('fast-check: the plans applyChanges built, taken as they are, render as they did', () => {
      fc.assert(
        fc.property(
          plansArb,
          plansArb,
          fc.constantFrom('sidecar', 'backrest' as const),
          (first, next, format) => {
            // A document with plans from a file (frozen), then upserts onto it, some unchanged.
            const d0 = applyChanges(base(format), format, { upsert: first, remove: [] });
            freezeJson(d0);
            const built = new Set<object>();
            const upsert = [
              ...next.filter((p) => !first.some((q) => q.id === p.id)),
              ...first.slice(1),
            ];
            const d = applyChanges(d0, format, { upsert, remove: [] }, { copy: 'shallow', built });
            const canonical = canonicalize(d, format, built);
            expect(renderCanonical(canonical)).to.equal(referenceRenderConfig(d, format));
            const cached = canonicalizeCached(d, format, newPlanRenderCache(), built);
            expect(renderCanonicalConfig(cached)).to.equal(referenceRenderConfig(d, format));
            // Shared, not copied.
            const plans = (canonical as { plans: unknown[] }).plans;
            for (const p of built) expect(plans).to.include(p);
          },
        ),
        { numRuns: 300 },
      );
    });

    it('fast-check: plans shaped as toSidecarPlan writes them, or nearly, render as they did', () => {
      // The written shape (the literal fast path) and one change away from it (the general path).
      const strings = fc.array(text, { maxLength: 3 });
      const written = fc.record({
        id: text,
        repo: text,
        schedule: text,
        sources: strings,
        exclude: strings,
        hooks: fc.record({ pre: strings, post: strings }),
        retention: fc.record({ spec: text }),
      });
      const change = fc.constantFrom(
        'none',
        'extra',
        'missing',
        'number',
        'hole',
        'dump',
        'undefined',
        'proto',
        'hidden',
        'hooks',
        'order',
        'inherited',
        'subclass',
      );
      const plan = fc.tuple(written, change, value).map(([p, c, v]) => {
        const q: Record<string, unknown> = { ...p, hooks: { ...p.hooks } };
        const hooks = q['hooks'] as Record<string, unknown>;
        if (c === 'extra') q['zz'] = v;
        if (c === 'missing') delete q['repo'];
        if (c === 'number') q['schedule'] = 5;
        // eslint-disable-next-line no-sparse-arrays
        if (c === 'hole') q['sources'] = ['/a', , '/b'];
        if (c === 'dump') hooks['dump'] = ['x'];
        if (c === 'undefined') hooks['pre'] = undefined;
        if (c === 'proto') Object.defineProperty(q, '__proto__', { value: v, enumerable: true });
        if (c === 'hidden') Object.defineProperty(q, 'repo', { value: 'r', enumerable: false });
        if (c === 'hooks') q['hooks'] = v;
        // Canonical but for its key order, or its prototypes: a `toJSON` there is not written.
        if (c === 'order') return { repo: q['repo'], ...q };
        if (c === 'inherited') return Object.assign(Object.create({ toJSON: () => v }), q);
        if (c === 'subclass') q['sources'] = Object.assign(new ToJsonArray(), p.sources);
        return q;
      });
      fc.assert(
        fc.property(fc.array(plan, { maxLength: 4 }), (plans) => {
          const d = { repos: [], plans };
          expect(renderConfig(d, 'sidecar')).to.equal(referenceRenderConfig(d, 'sidecar'));
        }),
        { numRuns: 1500 },
      );
    });

    it('fast-check: withModno on the canonical form renders the document with that modno', () => {
      fc.assert(
        fc.property(doc, fc.integer({ min: 0, max: 1e6 }), (d, modno) => {
          const bumped = Object.fromEntries([...Object.entries(d), ['modno', modno]]);
          expect(renderCanonical(withModno(canonicalize(d, 'backrest'), modno))).to.equal(
            referenceRenderConfig(bumped, 'backrest'),
          );
        }),
        { numRuns: 1000 },
      );
    });
  });
});
