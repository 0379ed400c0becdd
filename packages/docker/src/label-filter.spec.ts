import { expect } from 'chai';
import fc from 'fast-check';
import { matchesLabelFilter } from './label-filter.js';

describe('matchesLabelFilter', () => {
  const labels = { 'backrest.enable': 'true', 'com.docker.compose.project': 'shop', 'x.y': 'a=b' };

  it('no terms: every label set matches, even none', () => {
    expect(matchesLabelFilter(labels, [])).to.equal(true);
    expect(matchesLabelFilter(undefined, [])).to.equal(true);
    expect(matchesLabelFilter({}, [])).to.equal(true);
  });

  it('`key`: present with any value, including the empty one', () => {
    expect(matchesLabelFilter(labels, ['backrest.enable'])).to.equal(true);
    expect(matchesLabelFilter({ k: '' }, ['k'])).to.equal(true);
    expect(matchesLabelFilter(labels, ['backrest.paths'])).to.equal(false);
    expect(matchesLabelFilter(undefined, ['backrest.enable'])).to.equal(false);
  });

  it('`key=value`: that exact value; the value may hold `=`; an empty value is a value', () => {
    expect(matchesLabelFilter(labels, ['com.docker.compose.project=shop'])).to.equal(true);
    expect(matchesLabelFilter(labels, ['com.docker.compose.project=shop2'])).to.equal(false);
    expect(matchesLabelFilter(labels, ['com.docker.compose.project=Shop'])).to.equal(false);
    expect(matchesLabelFilter(labels, ['x.y=a=b'])).to.equal(true);
    expect(matchesLabelFilter(labels, ['x.y=a'])).to.equal(false);
    expect(matchesLabelFilter({ k: '' }, ['k='])).to.equal(true);
    expect(matchesLabelFilter({ k: 'v' }, ['k='])).to.equal(false);
  });

  it('every term must hold', () => {
    expect(matchesLabelFilter(labels, ['backrest.enable=true', 'x.y'])).to.equal(true);
    expect(matchesLabelFilter(labels, ['backrest.enable=true', 'missing'])).to.equal(false);
  });

  it('own properties only: the prototype satisfies no term', () => {
    for (const term of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
      expect(matchesLabelFilter({}, [term]), term).to.equal(false);
    }
    const inherited = Object.create({ 'backrest.enable': 'true' }) as Record<string, string>;
    expect(matchesLabelFilter(inherited, ['backrest.enable=true'])).to.equal(false);
    // A label that is really named `__proto__` (JSON.parse makes an own one) does count.
    const own = JSON.parse('{"__proto__":"x"}') as Record<string, string>;
    expect(matchesLabelFilter(own, ['__proto__=x'])).to.equal(true);
  });

  it('agrees with a plain reading of the rule on random labels and terms', () => {
    const key = fc.constantFrom('a', 'b', 'a.b', 'constructor', '');
    const value = fc.constantFrom('', 'v', 'v=w', '=');
    fc.assert(
      fc.property(
        fc.dictionary(key, value),
        fc.array(fc.tuple(key, fc.option(value, { nil: undefined })), { maxLength: 4 }),
        (dict, pairs) => {
          const terms = pairs.map(([k, v]) => (v === undefined ? k : `${k}=${v}`));
          const expected = pairs.every(
            ([k, v]) => Object.keys(dict).includes(k) && (v === undefined || dict[k] === v),
          );
          expect(matchesLabelFilter(dict, terms)).to.equal(expected);
        },
      ),
    );
  });
});
