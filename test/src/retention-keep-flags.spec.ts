import { expect } from 'chai';
import fc from 'fast-check';
import {
  KEEP_KINDS,
  checkResticDuration,
  keepSpecToResticFlags,
  parseKeepSpec,
} from '@backrest-sidecar/config-sink';
import { exec, makeRepo, removeDir, type Repo } from './retention-fixture.js';

// The keep grammar agrees with the real restic 0.14 binary: every flag set we produce is accepted
// by `restic forget`, and the durations we refuse are the ones restic refuses.
describe('retention: keep flags against the real restic binary (integration)', function () {
  this.timeout(120_000);
  let repo: Repo | undefined;

  before(async function () {
    try {
      await exec('restic', ['version']);
    } catch {
      if (process.env.CI === 'true') throw new Error('restic is not installed; cannot skip in CI');
      this.skip();
    }
    repo = await makeRepo('retention-keep-flags');
  });

  after(async () => removeDir(repo?.dir));

  async function forget(flags: string[]): Promise<{ ok: boolean; stderr: string }> {
    try {
      await exec(
        'restic',
        ['forget', '--no-lock', '--dry-run', '--path', '/volumes/none', ...flags],
        { env: repo!.env },
      );
      return { ok: true, stderr: '' };
    } catch (err) {
      return { ok: false, stderr: String((err as { stderr?: string }).stderr ?? err) };
    }
  }

  it('restic accepts the flags of every generated valid spec', async () => {
    const specs = fc.sample(
      fc.uniqueArray(
        fc
          .constantFrom(...KEEP_KINDS)
          .chain((k) =>
            k.startsWith('within')
              ? fc.constantFrom('1h', '90d', '1y5m7d', '2m', '1y2m3d4h').map((d) => `${k}=${d}`)
              : fc.integer({ min: 1, max: 1000 }).map((n) => `${k}=${n}`),
          ),
        { minLength: 1, maxLength: 6, selector: (t) => t.split('=')[0] },
      ),
      { numRuns: 25, seed: 42 },
    );
    for (const terms of specs) {
      const flags = keepSpecToResticFlags(parseKeepSpec(terms.join(',')));
      const r = await forget(flags);
      expect(r.ok, `${flags.join(' ')}: ${r.stderr}`).to.equal(true);
    }
  });

  it('restic refuses the durations we refuse, and accepts the ones we accept', async () => {
    for (const d of ['1w', '90', '1.5d', '1D', 'd', '+1d']) {
      expect(checkResticDuration(d), d).to.be.a('string');
      expect((await forget(['--keep-within', d])).ok, d).to.equal(false);
    }
    for (const d of ['1h', '90d', '1y5m7d', '01d']) {
      expect(checkResticDuration(d), d).to.equal(undefined);
      expect((await forget(['--keep-within', d])).ok, d).to.equal(true);
    }
  });
});
