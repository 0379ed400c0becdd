import { expect } from 'chai';
import fc from 'fast-check';
import { compareCodePoints, compareCodePointsSlow } from './json-util.js';

describe('compareCodePoints', () => {
  it('orders by code point, not UTF-16 unit', () => {
    expect(compareCodePoints('\uFF5E', '\u{1F600}')).to.equal(-1);
    expect(compareCodePoints('\u{1F600}', '\uFF5E')).to.equal(1);
    expect(compareCodePoints('a', 'ab')).to.equal(-1);
    expect(compareCodePoints('b', 'ab')).to.equal(1);
    expect(compareCodePoints('\uD800', '\u{10000}')).to.equal(-1); // a lone surrogate, completed
    expect(compareCodePoints('', '')).to.equal(0);
  });

  it('fast-check: the same answer as the code point by code point reference', () => {
    // Few distinct units, so strings share prefixes and differ at surrogates (lone ones too).
    const unit = fc.constantFrom(
      'a',
      'b',
      '\uD800',
      '\uDBFF',
      '\uDC00',
      '\uDFFF',
      '\uE000',
      '\uFFFF',
    );
    const str = fc.array(unit, { maxLength: 6 }).map((u) => u.join(''));
    const any = fc.oneof(str, fc.string({ unit: 'binary', maxLength: 6 }));
    fc.assert(
      fc.property(any, any, (a, b) => {
        expect(compareCodePoints(a, b)).to.equal(compareCodePointsSlow(a, b));
        expect(compareCodePoints(a, a)).to.equal(0);
      }),
      { numRuns: 5000 },
    );
  });
});
