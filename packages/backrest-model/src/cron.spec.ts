import { expect } from 'chai';
import fc from 'fast-check';
import {
  checkCron,
  nextCronFire,
  normalizeCron,
  parseCron,
  parseCronFields,
  validateCron,
  writtenSchedule,
  type CronSchedule,
} from './cron.js';

/** A Thursday. Every expectation below is counted by hand from this instant (UTC). */
const NOW = new Date('2026-01-15T10:17:30Z');
const utc = (s: string) => new Date(`${s}Z`).toISOString();

function next(expr: string, dialect: 'strict' | 'backrest' = 'strict'): string | undefined {
  return nextCronFire(parseCron(expr, { dialect, now: NOW }).schedule, NOW, 'utc')?.toISOString();
}

describe("cron (Backrest's dialect: gitploy-io/cronexpr via protoutil/schedule.go)", () => {
  describe('accepted, with the next run after Thu 2026-01-15 10:17:30 UTC', () => {
    const table: [string, string, string][] = [
      ['* * * * *', '2026-01-15T10:18:00', 'the next whole minute'],
      ['0 2 * * *', '2026-01-16T02:00:00', "today's 02:00 is past"],
      ['17 10 * * *', '2026-01-16T10:17:00', 'strictly after now, even within the same minute'],
      ['*/15 * * * *', '2026-01-15T10:30:00', 'steps from 0'],
      ['5/20 * * * *', '2026-01-15T10:25:00', 'N/step runs from N to the end'],
      ['0 0-23/6 * * *', '2026-01-15T12:00:00', 'range with step'],
      ['0 9 * * MON-FRI', '2026-01-16T09:00:00', 'day names'],
      ['0 9 * * mon-fri', '2026-01-16T09:00:00', 'names are case-insensitive'],
      ['30 1 * MAR *', '2026-03-01T01:30:00', 'month names'],
      ['0 0 13 * 5', '2026-02-13T00:00:00', 'dom AND dow: Friday the 13th (OR would be Fri 16th)'],
      ['0 0 1 * 1', '2026-06-01T00:00:00', 'dom AND dow: the first Monday-the-1st'],
      ['0 12 * * 5-7', '2026-01-16T12:00:00', '5-7 is accepted; 7 selects nothing (not Sunday)'],
      ['0 12 * * 6-7', '2026-01-17T12:00:00', 'so 6-7 is Saturday only'],
      ['0 12 * * 0,7', '2026-01-18T12:00:00', '0,7 is Sunday (the 0)'],
      ['0 0 29 2 *', '2028-02-29T00:00:00', 'leap day: within five years'],
      ['0 0 1 1 *', '2027-01-01T00:00:00', 'yearly'],
      ['  0   2 * * *  ', '2026-01-16T02:00:00', 'extra spaces'],
      ['0\t2 * * *', '2026-01-16T02:00:00', 'a tab separates fields'],
    ];
    for (const [expr, when, why] of table) {
      it(`"${expr}" → ${when} (${why})`, () => {
        expect(checkCron(expr, 'strict', NOW)).to.equal(undefined);
        expect(checkCron(expr, 'backrest', NOW)).to.equal(undefined);
        expect(next(expr)).to.equal(utc(when));
        expect(next(expr, 'backrest')).to.equal(utc(when));
      });
    }
  });

  describe('descriptors are translated to five fields, with a note', () => {
    const table: [string, string][] = [
      ['@yearly', '0 0 1 1 *'],
      ['@annually', '0 0 1 1 *'],
      ['@monthly', '0 0 1 * *'],
      ['@weekly', '0 0 * * 0'],
      ['@daily', '0 0 * * *'],
      ['@midnight', '0 0 * * *'],
      ['@hourly', '0 * * * *'],
      ['@Daily', '0 0 * * *'],
    ];
    for (const [descriptor, fields] of table) {
      it(`${descriptor} → "${fields}"`, () => {
        const n = normalizeCron(descriptor, NOW);
        expect(n.expression).to.equal(fields);
        expect(n.notes.join()).to.include(descriptor).and.include(fields);
        expect(writtenSchedule(descriptor)).to.equal(fields);
        // Backrest itself refuses the descriptor: only its translation may reach the file.
        expect(checkCron(descriptor, 'backrest', NOW)).to.match(/expected 5 fields/);
      });
    }
    it('@every and @reboot are refused with the reason', () => {
      expect(checkCron('@every 1h')).to.match(/@every.*maxFrequency/);
      expect(checkCron('@reboot')).to.match(/@reboot/);
      expect(checkCron('@fortnightly')).to.match(/unknown descriptor/);
    });
    it('notes that day-of-week 7 is not Sunday', () => {
      expect(parseCron('0 12 * * 5-7', { now: NOW }).notes.join()).to.match(/7 never matches/);
      expect(parseCron('0 12 * * 5-6', { now: NOW }).notes).to.deep.equal([]);
    });
    it('writes the five fields single-spaced and leaves an invalid schedule for validation', () => {
      expect(writtenSchedule(' 0\t 2 * * * ')).to.equal('0 2 * * *');
      expect(writtenSchedule('0 2 * *')).to.equal('0 2 * *');
    });
  });

  describe('refused by both Backrest and us', () => {
    const table: [string, RegExp][] = [
      ['', /empty/],
      ['0 2 * *', /expected 5 fields.*got 4/],
      ['0 0 2 * * *', /got 6/],
      ['30 0 2 * * * 2030', /got 7/],
      ['0 0 * * 7', /never fires.*7 is not Sunday/],
      ['61 * * * *', /minute/],
      ['0 24 * * *', /hour/],
      ['0 0 0 * *', /day-of-month/],
      ['0 0 * 13 *', /month/],
      ['0 0 30 2 *', /never fires/],
      ['0 0 31 4,6,9,11 *', /never fires/],
      ['0 0 29 2 1', /never fires/], // Feb 29 on a Monday: next in 2044
      ['0 0 29 2 0', /never fires/], // Sunday: 2032, past Backrest's year limit (2031)
      ['*/0 * * * *', /loop/],
      ['0 0 1 * ?', /"\?"/],
      ['0 3 L * *', /L, W and #|not a value/],
      ['0 3 15W * *', /L, W and #|not a value/],
      ['0 3 * * 1#2', /L, W and #|not a value/],
      ['0 3 * * 5L', /L, W and #|not a value/],
      ['H 2 * * *', /minute/],
      ['1,,2 * * * *', /minute/],
      ['1/2/3 * * * *', /"\/"/],
      ['0 0 * * FOO', /day-of-week/],
      ['0 0 JAN * *', /day-of-month/],
      ['@daily', /expected 5 fields/], // in the backrest dialect; strict translates it
    ];
    for (const [expr, why] of table) {
      it(`"${expr}" (${why.source})`, () => {
        if (expr !== '@daily') {
          expect(checkCron(expr, 'strict', NOW)).to.match(why);
          expect(validateCron(expr)).to.be.a('string');
        }
        expect(checkCron(expr, 'backrest', NOW))
          .to.be.a('string')
          .and.match(why);
      });
    }
    it('*/-1 (Backrest panics) and a range of 10^12 values (it loops for minutes)', () => {
      expect(checkCron('*/-1 * * * *', 'backrest', NOW)).to.match(/panic/);
      expect(checkCron('0-1000000000000 * * * *', 'backrest', NOW)).to.match(/too large/);
    });
  });

  describe('accepted by Backrest, refused by us on purpose (range checks)', () => {
    const table: [string, RegExp, string][] = [
      ['0,61 * * * *', /61 is out of range 0-59/, '2026-01-15T11:00:00'],
      ['0 0,24 * * *', /24 is out of range 0-23/, '2026-01-16T00:00:00'],
      ['0 0 1 0,1 *', /0 is out of range 1-12/, '2027-01-01T00:00:00'],
      ['0 0 * * 8,1', /8 is out of range 0-7/, '2026-01-19T00:00:00'],
      ['5-1,0 * * * *', /runs backwards/, '2026-01-15T11:00:00'],
      ['+5 * * * *', /not a number/, '2026-01-15T11:05:00'],
      ['*/60 * * * *', /step 60 is larger/, '2026-01-15T11:00:00'],
      ['0\u00a02 * * *', /expected 5 fields|not a number/, '2026-01-16T02:00:00'],
    ];
    for (const [expr, why, when] of table) {
      it(`"${expr}": we say ${why.source}; Backrest runs it at ${when}`, () => {
        expect(checkCron(expr, 'strict', NOW)).to.match(why);
        expect(checkCron(expr, 'backrest', NOW)).to.equal(undefined);
        expect(next(expr, 'backrest')).to.equal(utc(when));
      });
    }
  });

  describe('nextCronFire', () => {
    it('returns undefined past the end of the fifth year', () => {
      const s = parseCron('0 0 29 2 0', { now: new Date('2027-06-01T00:00:00Z') }).schedule;
      expect(nextCronFire(s, new Date('2027-06-01T00:00:00Z'), 'utc')?.toISOString()).to.equal(
        utc('2032-02-29T00:00:00'),
      );
      expect(nextCronFire(s, NOW, 'utc')).to.equal(undefined);
    });

    it('accepts an expression string (Backrest dialect)', () => {
      expect(nextCronFire('0 0 13 * 5', NOW, 'utc')?.toISOString()).to.equal(
        utc('2026-02-13T00:00:00'),
      );
    });

    /** Independent reference: walk the days, then the hours and minutes of a matching day. */
    function bruteNext(s: CronSchedule, after: Date): Date | undefined {
      const limit = after.getUTCFullYear() + 5;
      const start = Date.UTC(after.getUTCFullYear(), after.getUTCMonth(), after.getUTCDate());
      for (let day = start; new Date(day).getUTCFullYear() <= limit; day += 86_400_000) {
        const d = new Date(day);
        if (!s.month[d.getUTCMonth() + 1] || !s.dayOfMonth[d.getUTCDate()]) continue;
        if (!s.dayOfWeek[d.getUTCDay()]) continue;
        for (let h = 0; h < 24; h++) {
          if (!s.hour[h]) continue;
          for (let m = 0; m < 60; m++) {
            const t = day + h * 3_600_000 + m * 60_000;
            if (s.minute[m] && t > after.getTime()) return new Date(t);
          }
        }
      }
      return undefined;
    }

    const value = (lo: number, hi: number) => fc.integer({ min: lo, max: hi });
    const item = (lo: number, hi: number, span: number) =>
      fc.oneof(
        fc.constant('*'),
        value(lo, hi).map(String),
        fc
          .tuple(value(lo, hi), value(lo, hi))
          .map(([a, b]) => `${Math.min(a, b)}-${Math.max(a, b)}`),
        fc.tuple(value(lo, hi), value(1, span)).map(([a, s]) => `${a}/${s}`),
        value(1, span).map((s) => `*/${s}`),
      );
    const field = (lo: number, hi: number, span = hi - lo) =>
      fc.array(item(lo, hi, span), { minLength: 1, maxLength: 3 }).map((xs) => xs.join(','));
    const exprArb = fc
      .tuple(field(0, 59), field(0, 23), field(1, 31), field(1, 12), field(0, 7, 6))
      .map((f) => f.join(' '));
    const instant = fc
      .integer({ min: Date.UTC(2025, 0, 1), max: Date.UTC(2030, 11, 31) })
      .map((ms) => new Date(ms));

    it('fast-check: equals a day-by-day reference walk, and refuses exactly what never fires', () => {
      fc.assert(
        fc.property(exprArb, instant, (expr, after) => {
          const lenient = parseCronFields(expr, 'backrest').schedule;
          const want = bruteNext(lenient, after);
          const got = nextCronFire(lenient, after, 'utc');
          expect(got?.toISOString()).to.equal(want?.toISOString());
          // The strict dialect selects the same values, and refuses exactly the ones that never fire.
          const strict = parseCronFields(expr).schedule;
          expect(nextCronFire(strict, after, 'utc')).to.deep.equal(got);
          expect(checkCron(expr, 'strict', after) === undefined).to.equal(got !== undefined);
          expect(checkCron(expr, 'backrest', after) === undefined).to.equal(got !== undefined);
        }),
        { numRuns: 300 },
      );
    });
  });
});

describe('parseCron without `now` (answers kept per dialect and expression)', () => {
  it('answers each dialect as an uncached parse does, the same expression asked in both', () => {
    const expr = fc.oneof(
      fc.constantFrom('@daily', '@weekly', '0 2 * * *', '0  2 * * *', ' 0 2 * * *', '0 2 * * 7'),
      fc.constantFrom('*/15 * * * *', '0 0 30 2 *', '61 * * * *', '@every 1h', ''),
    );
    const dialect = fc.constantFrom('strict' as const, 'backrest' as const);
    const answer = (f: () => unknown): unknown => {
      try {
        return { ok: f() };
      } catch (err) {
        return { error: (err as Error).message };
      }
    };
    fc.assert(
      fc.property(fc.array(fc.tuple(expr, dialect), { maxLength: 12 }), (asks) => {
        for (const [e, d] of asks) {
          const cached = answer(() => parseCron(e, { dialect: d }));
          const fresh = answer(() => parseCron(e, { dialect: d, now: new Date() }));
          expect(cached, `${d} ${JSON.stringify(e)}`).to.deep.equal(fresh);
        }
      }),
      { numRuns: 200 },
    );
  });
});
