import { expect } from 'chai';
import fc from 'fast-check';
import {
  RESERVED_KEYS,
  ownLabel,
  quoteLabelValue,
  showLabelValue,
  type LabelSelector,
} from '@dockop/runtime';
import {
  decodeLabels,
  ownedKeys,
  ownedLabelsSignature,
  ownedPath,
  selects,
  showValue,
  type DecodeResult,
} from './label-decoder.js';

const selector: LabelSelector = {
  prefixes: ['backrest.'],
  enableLabel: 'backrest.enable',
  paths: { 'backrest.hooks': 'hooks.command' },
};
const opts = { containerName: 'web-1' };

describe('label-decoder', () => {
  describe('selects', () => {
    it('needs the enable label to be true, case-insensitively', () => {
      expect(selects(selector, { 'backrest.enable': 'TRUE' })).to.equal(true);
      expect(selects(selector, { 'backrest.enable': ' true ' })).to.equal(true);
      expect(selects(selector, { 'backrest.enable': 'false', 'backrest.paths': '/x' })).to.equal(
        false,
      );
      expect(selects(selector, { 'backrest.paths': '/x' })).to.equal(false);
    });
    it('without an enable label, selects on any owned key', () => {
      const s: LabelSelector = { prefixes: ['ofelia.'] };
      expect(selects(s, { 'ofelia.job': 'x' })).to.equal(true);
      expect(selects(s, { 'other.job': 'x' })).to.equal(false);
    });
  });

  it('strips the prefix and nests on dots', () => {
    const r = decodeLabels(
      selector,
      {
        'backrest.enable': 'true',
        'backrest.paths.include': '/data',
        'backrest.retention.daily': '7',
        'com.docker.compose.project': 'p',
      },
      opts,
    );
    expect(r).to.deep.equal({
      ok: true,
      spec: { enable: 'true', paths: { include: '/data' }, retention: { daily: '7' } },
      labels: ['backrest.enable', 'backrest.paths.include', 'backrest.retention.daily'],
    });
  });

  it('lets an explicit paths mapping win, so a key can be a value and have children', () => {
    const r = decodeLabels(
      selector,
      { 'backrest.hooks': 'echo hi', 'backrest.hooks.onError': 'ignore' },
      opts,
    );
    expect(r.ok && r.spec).to.deep.equal({ hooks: { command: 'echo hi', onError: 'ignore' } });
  });

  it('uses the longest matching prefix', () => {
    const s: LabelSelector = { prefixes: ['a.', 'a.b.'] };
    expect(ownedPath(s, 'a.b.c')).to.equal('c');
    expect(ownedPath(s, 'a.x')).to.equal('x');
    expect(ownedPath(s, 'b.x')).to.equal(undefined);
  });

  it('rejects a key that is both a value and a parent, naming both labels', () => {
    for (const labels of [
      { 'backrest.schedule': 'daily', 'backrest.schedule.cron': '0 1 * * *' },
      { 'backrest.schedule.cron': '0 1 * * *', 'backrest.schedule': 'daily' },
    ]) {
      const r = decodeLabels(selector, labels, opts);
      expect(r.ok).to.equal(false);
      if (r.ok) return;
      expect(r.reason).to.equal('LabelConflict');
      expect(r.message)
        .to.contain('"web-1"')
        .and.contain('backrest.schedule"')
        .and.contain('backrest.schedule.cron');
    }
  });

  it('refuses a value over the limit, naming container, label and a truncated value', () => {
    const long = 'A'.repeat(5000);
    const r = decodeLabels(
      selector,
      { 'backrest.enable': 'true', 'backrest.paths.include': long },
      opts,
    );
    expect(r.ok).to.equal(false);
    if (r.ok) return;
    expect(r.reason).to.equal('LabelTooLong');
    expect(r.message).to.contain('container "web-1"').and.contain('label "backrest.paths.include"');
    expect(r.message).to.contain('5000 bytes').and.contain('4096');
    expect(r.message.length).to.be.lessThan(400);
  });

  it('never quotes the value of a label whose name says secret', () => {
    const planted = 'Planted-S3cret\u0007';
    const r = decodeLabels(
      selector,
      { 'backrest.enable': 'true', 'backrest.dump.password-env': planted },
      opts,
    );
    expect(r.ok).to.equal(false);
    if (r.ok) return;
    expect(r.reason).to.equal('LabelControlCharacters');
    expect(r.message).to.contain(
      'label "backrest.dump.password-env" (value (15 characters, not shown))',
    );
    expect(r.message).to.not.contain('Planted');
  });

  it('counts bytes, not characters, against the limit', () => {
    const v = '€'.repeat(1366); // 4098 bytes, 1366 characters
    const r = decodeLabels(selector, { 'backrest.x': v }, opts);
    expect(r.ok).to.equal(false);
    expect(
      decodeLabels(selector, { 'backrest.x': v }, { ...opts, maxLabelBytes: 5000 }).ok,
    ).to.equal(true);
  });

  for (const [what, value] of [
    ['NUL', 'a\u0000b'],
    ['newline', 'a\nb'],
    ['tab', 'a\tb'],
    ['escape', '\u001b[31mred'],
    ['DEL', 'a\u007f'],
    ['C1 control', 'a\u0085'],
  ] as const) {
    it(`refuses a value with ${what}, with the value escaped in the message`, () => {
      const r = decodeLabels(selector, { 'backrest.paths.include': value }, opts);
      expect(r.ok).to.equal(false);
      if (r.ok) return;
      expect(r.reason).to.equal('LabelControlCharacters');
      expect(r.message).to.contain('backrest.paths.include');
      // eslint-disable-next-line no-control-regex
      expect(r.message).to.not.match(/[\u0000-\u001f\u007f-\u009f]/);
    });
  }

  it('ignores hostile labels the kind does not own', () => {
    const r = decodeLabels(
      selector,
      { 'other.x': 'a\u0000b'.repeat(3000), 'backrest.a': 'ok' },
      opts,
    );
    expect(r.ok && r.spec).to.deep.equal({ a: 'ok' });
  });

  it('refuses empty and __proto__ path segments', () => {
    for (const key of ['backrest.a..b', 'backrest.', 'backrest.__proto__.polluted']) {
      const r = decodeLabels(selector, { [key]: 'x' }, opts);
      expect(r.ok, key).to.equal(false);
      expect(!r.ok && r.reason).to.equal('InvalidLabelKey');
    }
    expect(({} as Record<string, unknown>).polluted).to.equal(undefined);
  });

  describe('prototype keys (hostile labels)', () => {
    const protoNames = (): string[] => Object.getOwnPropertyNames(Object.prototype).sort();
    const before = protoNames();
    afterEach(() => {
      expect(protoNames()).to.deep.equal(before);
      expect(({} as Record<string, unknown>)['keep']).to.equal(undefined);
      expect(({} as Record<string, unknown>)['x']).to.equal(undefined);
    });
    const rcb: LabelSelector = {
      prefixes: ['backrest.', 'restic-compose-backup.'],
      enableLabel: 'backrest.enable',
      paths: { 'restic-compose-backup.volumes': 'rcb.volumes.enabled' },
    };

    for (const key of [
      'backrest.constructor.prototype.keep',
      'backrest.toString.constructor.prototype.x',
      'restic-compose-backup.constructor.prototype.x',
      'backrest.__proto__.x',
      'backrest.a.prototype',
      'backrest.constructor',
    ]) {
      it(`refuses ${key}, naming container, label and value, and pollutes nothing`, () => {
        const r = decodeLabels(rcb, { 'backrest.enable': 'true', [key]: 'last=1' }, opts);
        expect(r.ok).to.equal(false);
        if (r.ok) return;
        expect(r.reason).to.equal('InvalidLabelKey');
        expect(r.message)
          .to.contain('container "web-1"')
          .and.contain(`label "${key}"`)
          .and.contain('"last=1"')
          .and.match(/__proto__|constructor|prototype/);
      });
    }

    it('decodes keys named after inherited members (toString.length, valueOf) without throwing', () => {
      const r = decodeLabels(
        rcb,
        {
          'backrest.enable': 'true',
          'backrest.toString.length.x': 'a',
          'backrest.hasOwnProperty': 'b',
          'backrest.valueOf.y': 'c',
        },
        opts,
      );
      expect(r.ok).to.equal(true);
      if (!r.ok) return;
      expect(Object.getPrototypeOf(r.spec)).to.equal(null);
      expect(JSON.parse(JSON.stringify(r.spec))).to.deep.equal({
        enable: 'true',
        toString: { length: { x: 'a' } },
        hasOwnProperty: 'b',
        valueOf: { y: 'c' },
      });
    });

    it('ignores label keys that collide with inherited members of the paths map', () => {
      const labels = { 'backrest.enable': 'true', constructor: 'x', toString: 'y' };
      expect(ownedPath(rcb, 'constructor')).to.equal(undefined);
      expect(ownedPath(rcb, 'toString')).to.equal(undefined);
      const r = decodeLabels(rcb, labels, opts);
      expect(r.ok && JSON.parse(JSON.stringify(r.spec))).to.deep.equal({ enable: 'true' });
      expect(selects({ prefixes: ['ofelia.'] }, { constructor: 'x', toString: 'y' })).to.equal(
        false,
      );
    });

    it('reads only own labels (an inherited enable label selects nothing)', () => {
      const labels = Object.create({ 'backrest.enable': 'true', 'backrest.pre': 'evil' }) as Record<
        string,
        string
      >;
      expect(selects(rcb, labels)).to.equal(false);
      const r = decodeLabels(rcb, labels, opts);
      expect(r.ok && Object.keys(r.spec)).to.deep.equal([]);
    });
  });

  it('showValue truncates and escapes', () => {
    expect(showValue('x'.repeat(100))).to.match(/^"x{64}…" \(100 characters\)$/);
    expect(showValue('a\u0000')).to.equal('"a\\u0000"');
    // Bidi and zero-width characters can't reorder or hide what a log reader sees.
    expect(showValue('rm\u202e-rf\u200b')).to.equal('"rm\\u202e-rf\\u200b"');
  });

  it('round-trips any set of non-conflicting labels (property)', () => {
    // eslint-disable-next-line no-control-regex
    const control = /[\u0000-\u001f\u007f-\u009f]/;
    const segment = fc.stringMatching(/^[a-z][a-z0-9]{0,5}$/);
    fc.assert(
      fc.property(
        fc.dictionary(
          fc.array(segment, { minLength: 1, maxLength: 3 }).map((s) => s.join('.')),
          fc.string({ maxLength: 20 }).filter((v) => !control.test(v)),
        ),
        (dict) => {
          const labels = Object.fromEntries(
            Object.entries(dict).map(([k, v]) => [`backrest.${k}`, v]),
          );
          const r = decodeLabels({ prefixes: ['backrest.'] }, labels, opts);
          const paths = Object.keys(dict);
          const conflicting = paths.some((p) => paths.some((q) => q.startsWith(`${p}.`)));
          expect(r.ok).to.equal(!conflicting);
          if (!r.ok) return;
          for (const [p, v] of Object.entries(dict)) {
            let node: unknown = r.spec;
            for (const s of p.split('.')) node = (node as Record<string, unknown>)[s];
            expect(node).to.equal(v);
          }
        },
      ),
    );
  });
  it('gives what the previous decoder gave, for any labels, hostile ones included (property)', () => {
    const rcb: LabelSelector = {
      prefixes: ['backrest.', 'restic-compose-backup.'],
      enableLabel: 'backrest.enable',
      paths: { 'restic-compose-backup.volumes': 'rcb.volumes', 'backrest.dump': 'dump.preset' },
    };
    const segment = fc.oneof(
      fc.constantFrom('a', 'b', 'volumes', 'dump', 'preset', '', '__proto__', 'constructor'),
      fc.constantFrom('prototype', 'toString', 'x\u0000', 'r\u202e', 'rcb', 'é'),
    );
    const key = fc
      .tuple(
        fc.constantFrom('backrest.', 'restic-compose-backup.', 'other.', '', 'backrest'),
        fc.array(segment, { minLength: 1, maxLength: 3 }),
      )
      .map(([p, segs]) => p + segs.join('.'));
    const value = fc.oneof(
      fc.string({ maxLength: 12 }),
      fc.constantFrom('€€€€', 'a\tb', 'x'.repeat(40), '\u0085', 'true'),
    );
    fc.assert(
      fc.property(
        fc.dictionary(
          fc.oneof(key, fc.constantFrom('restic-compose-backup.volumes', 'backrest.dump')),
          value,
          { maxKeys: 6 },
        ),
        fc.integer({ min: 0, max: 20 }),
        (labels, maxLabelBytes) => {
          const options = { containerName: 'c-1', maxLabelBytes };
          const now = decodeLabels(rcb, labels, options);
          const before = previousDecodeLabels(rcb, labels, options);
          expect(plain(now)).to.deep.equal(plain(before));
        },
      ),
      { numRuns: 2000 },
    );
  });

  describe('ownedLabelsSignature (equal signatures decode alike)', () => {
    const rcb: LabelSelector = {
      prefixes: ['backrest.', 'restic-compose-backup.'],
      enableLabel: 'backrest.enable',
      paths: { 'restic-compose-backup.volumes': 'rcb.volumes' },
    };
    // A small alphabet with digits, colons and controls: signatures of different maps collide
    // only if the encoding can be forged.
    const part = fc.constantFrom('a', '1', ':', '1:', 'a1:', '\u0000', '.', '');
    const key = fc
      .tuple(
        fc.constantFrom('backrest.', 'restic-compose-backup.', 'other.', ''),
        fc.array(part, { maxLength: 3 }),
      )
      .map(([p, parts]) => p + parts.join(''));
    const value = fc.array(part, { maxLength: 4 }).map((parts) => parts.join(''));
    const labels = fc.dictionary(key, value, { maxKeys: 4 });
    const signature = (l: Record<string, string>): string =>
      ownedLabelsSignature(l, ownedKeys(rcb, l));
    const owned = (l: Record<string, string>): [string, string][] =>
      ownedKeys(rcb, l).map((k) => [k, l[k]!]);

    it('is equal exactly when the owned labels are (property)', () => {
      fc.assert(
        fc.property(labels, labels, (a, b) => {
          expect(signature(a) === signature(b)).to.equal(
            JSON.stringify(owned(a)) === JSON.stringify(owned(b)),
          );
        }),
        { numRuns: 5000 },
      );
    });

    it('ignores labels the selector does not own, so equal signatures decode alike (property)', () => {
      fc.assert(
        fc.property(
          labels,
          fc.dictionary(fc.constantFrom('x', 'com.a', 'other.b'), value),
          (a, extra) => {
            const b = { ...extra, ...a };
            expect(signature(b)).to.equal(signature(a));
            const options = { containerName: 'c', maxLabelBytes: 6 };
            expect(plain(decodeLabels(rcb, b, options, ownedKeys(rcb, b)))).to.deep.equal(
              plain(decodeLabels(rcb, a, options)),
            );
          },
        ),
        { numRuns: 2000 },
      );
    });
  });
});

/** Null-prototype specs compared as JSON (chai sees prototypes). */
function plain(r: DecodeResult): unknown {
  return JSON.parse(JSON.stringify(r)) as unknown;
}

// The decoder before issue #13's rewrite (a Map of who set each path, every label key sorted),
// kept as the oracle of the property above.
function previousDecodeLabels(
  selector: LabelSelector,
  labels: Record<string, string>,
  options: { containerName: string; maxLabelBytes: number },
): DecodeResult {
  // eslint-disable-next-line no-control-regex
  const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
  const printable = (key: string): string =>
    quoteLabelValue(key, 200)
      .replace(/ \(\d+ characters\)$/, '')
      .slice(1, -1);
  const conflict = (key: string, other: string, path: string): DecodeResult => ({
    ok: false,
    reason: 'LabelConflict',
    message:
      `container "${options.containerName}" label "${printable(key)}" conflicts with label "${printable(other)}": ` +
      `spec path "${path}" would be both a value and a parent of other keys; ` +
      `map one of them explicitly with selector.paths`,
  });
  const max = options.maxLabelBytes;
  const where = (key: string, value: string): string =>
    `container "${options.containerName}" label "${printable(key)}" (value ${showLabelValue(key, value, 64)})`;
  const entries: { key: string; value: string; path: string[] }[] = [];
  for (const key of Object.keys(labels).sort()) {
    const path = ownedPath(selector, key);
    if (path === undefined) continue;
    const value = ownLabel(labels, key) ?? '';
    if (CONTROL.test(key) || CONTROL.test(value)) {
      return {
        ok: false,
        reason: 'LabelControlCharacters',
        message: `${where(key, value)}: control characters are not accepted in label keys or values`,
      };
    }
    const bytes = Buffer.byteLength(value, 'utf8');
    if (bytes > max) {
      return {
        ok: false,
        reason: 'LabelTooLong',
        message: `${where(key, value)}: value is ${bytes} bytes, more than the limit of ${max}`,
      };
    }
    const segments = path.split('.');
    if (segments.some((s) => s === '')) {
      return {
        ok: false,
        reason: 'InvalidLabelKey',
        message: `${where(key, value)}: spec path "${printable(path)}" has an empty segment`,
      };
    }
    const reserved = segments.find((s) => RESERVED_KEYS.has(s));
    if (reserved !== undefined) {
      return {
        ok: false,
        reason: 'InvalidLabelKey',
        message:
          `${where(key, value)}: spec path "${printable(path)}" has the reserved segment ` +
          `"${reserved}" (__proto__, constructor and prototype are refused: they could reach Object.prototype)`,
      };
    }
    entries.push({ key, value, path: segments });
  }
  const spec = Object.create(null) as Record<string, unknown>;
  const setBy = new Map<string, string>();
  for (const { key, value, path } of entries) {
    let node = spec;
    for (let i = 0; i < path.length - 1; i++) {
      const seg = path[i]!;
      const prefixPath = path.slice(0, i + 1).join('.');
      const existing = Object.hasOwn(node, seg) ? node[seg] : undefined;
      if (typeof existing === 'string')
        return conflict(key, setBy.get(prefixPath) ?? prefixPath, prefixPath);
      if (existing === undefined) {
        const child = Object.create(null) as Record<string, unknown>;
        node[seg] = child;
        setBy.set(prefixPath, key);
        node = child;
      } else {
        node = existing as Record<string, unknown>;
      }
    }
    const leaf = path[path.length - 1]!;
    const full = path.join('.');
    if (Object.hasOwn(node, leaf)) return conflict(key, setBy.get(full) ?? full, full);
    node[leaf] = value;
    setBy.set(full, key);
  }
  return { ok: true, spec: spec as never, labels: entries.map((e) => e.key) };
}
