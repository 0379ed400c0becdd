import { expect } from 'chai';
import fc from 'fast-check';
import path from 'node:path';
import {
  backupWorkloadFormats,
  cronFormat,
  keepSpecFormat,
  normalizeAbsolutePath,
  validateAbsolutePath,
  validateCommand,
} from './formats.js';

const validateCron = (v: string) => cronFormat().validate(v);

describe('cron format', () => {
  for (const ok of [
    '0 2 * * *',
    '15 3 * * *',
    '*/5 * * * *',
    '0 2 * * MON-FRI',
    '0 0 1 JAN *',
    '0 12 * * 5-7',
    '0 12 * * 0,7',
    '@daily',
    '@Hourly',
    '@annually',
    ' 0 2 * * * ',
  ]) {
    it(`accepts "${ok}"`, () => expect(validateCron(ok)).to.equal(true));
  }
  const bad: [string, RegExp][] = [
    ['', /empty/],
    ['* * *', /got 3/],
    ['0 0 2 * * *', /got 6/],
    ['61 * * * *', /minute/],
    ['0 25 * * *', /hour/],
    ['H 2 * * *', /minute/],
    ['@reboot', /@reboot/],
    ['@every 1h', /@every/],
    ['0 0 1 * ?', /"\?"/],
    ['0 0 * * 7', /7 is not Sunday/],
    ['*/0 * * * *', /step 0/],
  ];
  for (const [value, why] of bad) {
    it(`refuses "${value}"`, () => {
      const r = validateCron(value);
      expect(r).to.be.a('string');
      expect(r).to.match(why);
    });
  }
});

describe('absolute-path format', () => {
  it('accepts absolute paths', () => {
    expect(validateAbsolutePath('/data')).to.equal(true);
    expect(validateAbsolutePath('/var/lib/postgresql/data/pg_wal')).to.equal(true);
    expect(validateAbsolutePath('/a/./b//c/')).to.equal(true);
  });
  it('refuses relative paths, .. segments, NUL and control characters', () => {
    expect(validateAbsolutePath('data')).to.match(/not absolute/);
    expect(validateAbsolutePath('')).to.match(/empty/);
    expect(validateAbsolutePath('/data/../../etc')).to.match(/\.\./);
    expect(validateAbsolutePath('/..')).to.match(/\.\./);
    expect(validateAbsolutePath('/da\u0000ta')).to.match(/control/);
    expect(validateAbsolutePath('/a\nb')).to.match(/control/);
    expect(validateAbsolutePath(`/${'a'.repeat(5000)}`)).to.match(/longer/);
  });
  it('keeps names that merely contain dots', () => {
    expect(validateAbsolutePath('/data/..hidden/x..y')).to.equal(true);
  });
  it('normalises', () => {
    expect(normalizeAbsolutePath('/a/./b//c/')).to.equal('/a/b/c');
    expect(normalizeAbsolutePath('/')).to.equal('/');
  });
  it('fast-check: the same as path.posix.normalize without a trailing slash (its fast path too)', () => {
    const reference = (v: string): string => {
      const n = path.posix.normalize(v);
      return n.length > 1 && n.endsWith('/') ? n.slice(0, -1) : n;
    };
    const piece = fc.constantFrom('/', '.', '..', 'a', 'b.', '.c', '...', '//');
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 8 }), fc.boolean(), (parts, absolute) => {
        const v = (absolute ? '/' : '') + parts.join('');
        expect(normalizeAbsolutePath(v)).to.equal(reference(v));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('keep-spec format', () => {
  it('accepts the seed grammar and explains a bad term', () => {
    expect(keepSpecFormat().validate('last=7,daily=7,weekly=4,monthly=12,within=90d')).to.equal(
      true,
    );
    expect(keepSpecFormat().validate('daily=seven')).to.be.a('string').and.include('daily=seven');
  });
  it('names the six formats the schema uses', () => {
    expect(backupWorkloadFormats().map((f) => f.name)).to.deep.equal([
      'cron',
      'absolute-path',
      'keep-spec',
      'command',
      'dump-arg',
      'dump-name',
    ]);
  });

  describe('bidi and zero-width characters (hooks and paths)', () => {
    for (const ch of [
      '\u202a',
      '\u202e',
      '\u2066',
      '\u2069',
      '\u200b',
      '\u200d',
      '\u2060',
      '\ufeff',
    ]) {
      const code = `U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
      it(`refuses ${code} in a hook and in a path, naming the character`, () => {
        expect(validateCommand(`echo ok${ch} && rm -rf /`))
          .to.be.a('string')
          .and.contain(code);
        expect(validateAbsolutePath(`/data/${ch}x`))
          .to.be.a('string')
          .and.contain(code);
      });
    }
    it('accepts ordinary unicode', () => {
      expect(validateCommand('echo "héllo wörld ✓"')).to.equal(true);
      expect(validateAbsolutePath('/data/日本')).to.equal(true);
      expect(validateCommand('a\tb')).to.be.a('string');
    });
  });
});
