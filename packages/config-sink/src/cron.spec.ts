import { expect } from 'chai';
import { checkCron, validateCron } from './cron.js';

describe('cron (what Backrest accepts)', () => {
  const accepted = [
    '0 2 * * *',
    '15 3 * * *',
    '*/15 * * * *',
    '0 0-23/2 * * *',
    '5,35 8-18 * * MON-FRI',
    '0 4 1 JAN,jul ?',
    '0 3 L * *',
    '0 3 15W * *',
    '0 3 * * 5L',
    '0 3 * * 1#2',
    '0 0 29 2 *',
    '30 1 * * 0',
    '  0   2 * * *  ',
    '@daily',
    '@HOURLY',
    '@annually',
  ];
  for (const expr of accepted) {
    it(`accepts "${expr}"`, () => expect(checkCron(expr)).to.equal(undefined));
  }

  const refused: [string, RegExp][] = [
    ['', /empty/],
    ['0 2 * *', /expected 5 fields.*got 4/],
    ['0 0 2 * * *', /got 6/],
    ['60 * * * *', /minute field "60": 60 is out of range 0-59/],
    ['0 24 * * *', /hour field/],
    ['0 0 0 * *', /day-of-month field "0"/],
    ['0 0 * 13 *', /month field/],
    ['0 0 * * 7', /day-of-week field "7".*use 0 for Sunday/],
    ['0 0 * * FOO', /day-of-week field "FOO": "FOO" is not a number or name/],
    ['*/0 * * * *', /step "0"/],
    ['5-1 * * * *', /runs backwards/],
    ['1,,2 * * * *', /empty list item/],
    ['? * * * *', /minute field/],
    ['0 0 30 2 *', /never occurs/],
    ['0 0 31 4,6,9,11 *', /never occurs/],
    ['H 2 * * *', /minute field "H"/],
    ['@reboot', /unknown descriptor/],
    ['@every 1h', /unknown descriptor/],
  ];
  for (const [expr, why] of refused) {
    it(`refuses "${expr}" (${why.source})`, () => {
      expect(checkCron(expr)).to.match(why);
      expect(validateCron(expr)).to.be.a('string');
    });
  }

  it("the 'backrest' dialect also reads cronexpr's 6- and 7-field forms", () => {
    expect(checkCron('0 2 * * * 2030', 'backrest')).to.equal(undefined);
    expect(checkCron('30 0 2 * * * *', 'backrest')).to.equal(undefined);
    expect(checkCron('0 2 * * * 1900', 'backrest')).to.match(/year field "1900"/);
    expect(checkCron('61 0 2 * * * *', 'backrest')).to.match(/second field "61"/);
    expect(checkCron('0 2 * * * 2030')).to.match(/expected 5 fields/);
  });

  it('validateCron returns true for a good expression', () => {
    expect(validateCron('0 2 * * *')).to.equal(true);
  });
});
