import { expect } from 'chai';
import fc from 'fast-check';
import { REDACTED, SecretRedactor, redactUrl } from './redactor.js';
import {
  JSON_PAIR,
  JSON_PAIR_ESCAPED,
  RULES,
  URL_KEY_PATTERN,
  applyRules,
  hasAnyWord,
  isSecretKeyName,
  mayHoldSecret,
  replaceJsonPairs,
} from './redact-rules.js';

describe('SecretRedactor', () => {
  it('redacts values of secret-looking field names but not the resource key field', () => {
    const r = new SecretRedactor();
    const out = r.redact({
      key: 'BackupWorkload/db',
      apiKey: 'abc',
      secret_key: 'def',
      AWS_SECRET_ACCESS_KEY: 'ghi',
      RESTIC_PASSWORD: 'pw',
      RESTIC_PASSWORD_FILE: '/run/pw',
      Authorization: 'Bearer x',
      token: 't',
      name: 'visible',
      nested: { password: 'p', list: [{ accessToken: 'z' }] },
      unset: undefined,
    }) as Record<string, unknown>;
    expect(out).to.deep.include({
      key: 'BackupWorkload/db',
      apiKey: REDACTED,
      secret_key: REDACTED,
      AWS_SECRET_ACCESS_KEY: REDACTED,
      RESTIC_PASSWORD: REDACTED,
      RESTIC_PASSWORD_FILE: REDACTED,
      Authorization: REDACTED,
      token: REDACTED,
      name: 'visible',
    });
    expect(out['nested']).to.deep.equal({ password: REDACTED, list: [{ accessToken: REDACTED }] });
    expect(out['unset']).to.equal(undefined);
  });

  it('redacts registered values anywhere, longest first, ignoring very short ones', () => {
    const r = new SecretRedactor();
    r.addSecretValue('hunter22');
    r.addSecretValue('hunter2200');
    r.addSecretValue('abc');
    r.addSecretValue(undefined);
    r.addSecretValue('hunter22');
    expect(r.size).to.equal(2);
    expect(r.redactString('cmd --pw hunter2200 and hunter22!')).to.equal(
      `cmd --pw ${REDACTED} and ${REDACTED}!`,
    );
    expect(r.redactString('abc stays')).to.equal('abc stays');
    expect(r.redact({ msg: ['x hunter22 y'] })).to.deep.equal({ msg: [`x ${REDACTED} y`] });
  });

  it('redacts a registered value also as JSON escapes it (a config diff quotes `"` and `\\`)', () => {
    const r = new SecretRedactor();
    const secret = 'pa"ss\\w\nord';
    r.addSecretValue(secret);
    expect(r.size).to.equal(1);
    // A field name no rule knows: only the registered value can catch it.
    const line = `+      "note": ${JSON.stringify(`x ${secret} y`)},`;
    expect(r.redactString(line)).to.equal(`+      "note": "x ${REDACTED} y",`);
    expect(r.redactValues(JSON.stringify({ note: secret }))).to.equal(`{"note":"${REDACTED}"}`);
    expect(r.redactString(`raw ${secret}`)).to.equal(`raw ${REDACTED}`);
  });

  it('redacts NAME=value assignments of secret env names inside strings', () => {
    const r = new SecretRedactor();
    expect(
      r.redactString('env RESTIC_PASSWORD=s3cr3t RESTIC_REPOSITORY=/repo B2_ACCOUNT_KEY="a b"'),
    ).to.equal(
      `env RESTIC_PASSWORD=${REDACTED} RESTIC_REPOSITORY=/repo B2_ACCOUNT_KEY=${REDACTED}`,
    );
    expect(r.redactString('key=Kind/name')).to.equal('key=Kind/name');
  });

  it('serialises errors (message, stack, cause, own props) with redaction, handles cycles, dates, maps, sets, bigint', () => {
    const r = new SecretRedactor();
    r.addSecretValue('topsecret');
    const err = Object.assign(new Error('failed with topsecret'), { code: 'E1', token: 'x' });
    (err as Error & { cause?: unknown }).cause = new Error('inner topsecret');
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic['self'] = cyclic;
    const out = r.redact({
      error: err,
      cyclic,
      when: new Date(0),
      m: new Map([['password', 'p']]),
      s: new Set(['topsecret']),
      n: 10n,
    }) as Record<string, Record<string, unknown>>;
    expect(out['error']!['message']).to.equal(`failed with ${REDACTED}`);
    expect(String(out['error']!['stack'])).to.not.contain('topsecret');
    expect(out['error']!['code']).to.equal('E1');
    expect(out['error']!['token']).to.equal(REDACTED);
    expect((out['error']!['cause'] as Record<string, unknown>)['message']).to.equal(
      `inner ${REDACTED}`,
    );
    expect(out['cyclic']!['self']).to.equal('[Circular]');
    expect(out['when']).to.equal('1970-01-01T00:00:00.000Z');
    expect(out['m']).to.deep.equal({ password: REDACTED });
    expect(out['s']).to.deep.equal([REDACTED]);
    expect(out['n']).to.equal('10');
  });

  it('an object referenced twice is not a cycle', () => {
    const shared = { a: 1 };
    expect(new SecretRedactor().redact({ x: shared, y: [shared] })).to.deep.equal({
      x: { a: 1 },
      y: [{ a: 1 }],
    });
  });

  it('isSecretKey exempts exactly "key"', () => {
    const r = new SecretRedactor();
    expect(r.isSecretKey('key')).to.equal(false);
    expect(r.isSecretKey('Key')).to.equal(true);
    expect(r.isSecretKey('sshKey')).to.equal(true);
    expect(r.isSecretKey('controller')).to.equal(false);
  });
});

describe('SecretRedactor.isSecretKey remembers names it has seen', () => {
  it('answers as isSecretKeyName for any name, asked again, and past its bound of 1,000 names', () => {
    const name = fc.oneof(
      fc.constantFrom('key', 'Key', 'apiKey', 'password', 'plan_id', 'sources', '__proto__'),
      fc.string({ maxLength: 12 }),
    );
    fc.assert(
      fc.property(fc.array(name, { maxLength: 40 }), fc.nat(1100), (names, filler) => {
        const r = new SecretRedactor();
        // Past the bound the memory is cleared; names must still be answered right after it.
        for (let i = 0; i < filler; i++) r.isSecretKey(`f${i}`);
        for (const n of [...names, ...names]) {
          expect(r.isSecretKey(n), n).to.equal(isSecretKeyName(n));
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe('SecretRedactor: every secret shape (examples)', () => {
  const r = new SecretRedactor();
  const cases: Array<[string, string]> = [
    [
      's3:https://AKIAEXAMPLE:abc/def+ghi@s3.amazonaws.com/bucket',
      `s3:https://${REDACTED}@s3.amazonaws.com/bucket`,
    ],
    ['rest:https://u:p@ss@host:8000/repo', `rest:https://${REDACTED}@host:8000/repo`],
    ['sftp:user:hunter2@host:/srv/restic', `sftp:${REDACTED}@host:/srv/restic`],
    ['curl -H "Authorization: Bearer abc.def" x', `curl -H "Authorization: ${REDACTED}" x`],
    ['token was Bearer abc.def', `token was Bearer ${REDACTED}`],
    [
      'restic --password=hunter2 --password hunter3 --keep-last 3',
      `restic --password=${REDACTED} --password ${REDACTED} --keep-last 3`,
    ],
    [
      'DB_PWD=x API_SECRET=y GH_TOKEN=z SSH_KEY=w',
      `DB_PWD=${REDACTED} API_SECRET=${REDACTED} GH_TOKEN=${REDACTED} SSH_KEY=${REDACTED}`,
    ],
    [
      '{"RESTIC_PASSWORD": "a\\"b", "name": "ok"}',
      `{"RESTIC_PASSWORD": "${REDACTED}", "name": "ok"}`,
    ],
    [
      '"env": ["RESTIC_PASSWORD=a b", "TZ=UTC"]',
      `"env": ["RESTIC_PASSWORD=${REDACTED}", "TZ=UTC"]`,
    ],
    ['https://hooks.slack.com/services/T0AB/B0CD/xyz', `https://hooks.slack.com/${REDACTED}`],
    [
      'https://gotify.example.com/message?token=abc&priority=5',
      `https://gotify.example.com/message?token=${REDACTED}&priority=5`,
    ],
    [
      'https://hc.example.com/ping/0f3a2b1c-1111-2222-3333-444455556666',
      `https://hc.example.com/ping/${REDACTED}`,
    ],
    [
      '"webhookUrl": "https://example.com/hook/abc"',
      `"webhookUrl": "https://example.com/${REDACTED}"`,
    ],
  ];
  for (const [input, expected] of cases) {
    it(input, () => expect(r.redactString(input)).to.equal(expected));
  }

  it('inside a JSON string, a masked value keeps the escaped closing quote (valid JSON stays valid)', () => {
    const json = JSON.stringify({
      command:
        'curl -H "Authorization: Bearer abc" -H "X: Bearer def" --token="xsecret" && A_TOKEN="ysecret"',
    });
    const out = r.redactString(json);
    expect(() => JSON.parse(out) as unknown).to.not.throw();
    expect(out).to.not.match(/abc|def|xsecret|ysecret/);
    expect(JSON.parse(out)).to.have.property('command').that.includes('-H "X: Bearer');
  });

  it('keeps what is not secret readable: endpoints, file paths in stacks, resource keys', () => {
    for (const s of [
      'http://backrest:9898/v1.Backrest/GetConfig',
      'at f (file:///app/packages/docker/dist/container-actions.js:353:19)',
      'key=BackupWorkload/db',
      '--keep-last 3 --host web-1',
      's3:https://s3.amazonaws.com/bucket/path',
    ]) {
      expect(r.redactString(s)).to.equal(s);
    }
  });

  it('redactUrl keeps scheme and host only', () => {
    expect(redactUrl('https://user:pw@hooks.example.com/services/T?token=abc')).to.equal(
      `https://hooks.example.com/${REDACTED}`,
    );
    expect(redactUrl('https://ntfy.sh')).to.equal('https://ntfy.sh');
    expect(redactUrl('not a url')).to.equal('<invalid url>');
  });

  it('a __proto__ key in redacted input stays data, never a prototype', () => {
    const out = r.redact(JSON.parse('{"__proto__": {"polluted": 1}}')) as object;
    expect(Object.getPrototypeOf(out)).to.equal(Object.prototype);
    expect(Object.hasOwn(out, '__proto__')).to.equal(true);
    expect(({} as Record<string, unknown>)['polluted']).to.equal(undefined);
  });
});

describe('SecretRedactor: random secrets in every shape never survive (fast-check)', () => {
  // Characters careless credentials contain, separators included; no whitespace or quotes
  // (an unquoted shell/env value ends there by definition).
  const chars = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/+=_.~!$*%-@:'.split(
    '',
  );
  const secretArb = fc
    .array(fc.constantFrom(...chars), { minLength: 8, maxLength: 40 })
    .map((a) => a.join(''))
    // A secret made only of separators or fully inside the template text proves nothing.
    .filter((s) => /[A-Za-z0-9]{4}/.test(s));
  const tokenArb = fc
    .array(fc.constantFrom(...'abcdefABCDEF0123456789_-'.split('')), {
      minLength: 20,
      maxLength: 48,
    })
    .map((a) => a.join(''))
    .filter((s) => /\d/.test(s) && /[A-Za-z]/.test(s));
  const quotedArb = fc
    .array(fc.constantFrom(...chars, ' ', ','), { minLength: 8, maxLength: 40 })
    .map((a) => a.join(''))
    .filter((s) => /[A-Za-z0-9]{4}/.test(s));

  const shapes: Array<[string, fc.Arbitrary<string>, (s: string) => string]> = [
    ['s3 userinfo secret', secretArb, (s) => `repo s3:https://AKIAEXAMPLE:${s}@s3.example.com/b`],
    ['s3 userinfo key', secretArb, (s) => `s3:https://${s}:x@s3.example.com/b`],
    ['rest userinfo', secretArb, (s) => `rest:https://user:${s}@host:8000/repo failed`],
    ['sftp user:pass', secretArb, (s) => `sftp:user:${s}@host:/srv/restic`],
    ['Authorization Bearer', secretArb, (s) => `curl -H 'Authorization: Bearer ${s}' https://x`],
    ['Authorization Basic', secretArb, (s) => `-H "Authorization: Basic ${s}"`],
    ['bare Bearer', secretArb, (s) => `got 401 for Bearer ${s} at /api`],
    ['--password=', secretArb, (s) => `restic --password=${s} snapshots`],
    // After a space, `--x` is the next flag by definition.
    [
      '--password value',
      secretArb.filter((s) => !s.startsWith('--')),
      (s) => `restic --password ${s} snapshots`,
    ],
    ['*_PASSWORD=', secretArb, (s) => `env RESTIC_PASSWORD=${s} OTHER=1`],
    ['*_PWD=', secretArb, (s) => `DB_PWD=${s}`],
    ['*_SECRET=', secretArb, (s) => `CLIENT_SECRET=${s};`],
    ['*_TOKEN=', secretArb, (s) => `export GH_TOKEN=${s}`],
    ['*_KEY=', secretArb, (s) => `AWS_SECRET_ACCESS_KEY=${s}`],
    ['*_PASSWORD="quoted"', quotedArb, (s) => `RESTIC_PASSWORD="${s}" next`],
    ['JSON pair', quotedArb, (s) => JSON.stringify({ RESTIC_PASSWORD: s, other: 'x' })],
    ['JSON pair pretty', quotedArb, (s) => JSON.stringify({ repo: { password: s } }, null, 2)],
    ['JSON env item', quotedArb, (s) => JSON.stringify({ env: [`B2_ACCOUNT_KEY=${s}`, 'TZ=UTC'] })],
    ['Slack webhook', tokenArb, (s) => `post https://hooks.slack.com/services/T0123/B0456/${s} ok`],
    ['ntfy token', secretArb, (s) => `https://ntfy.example.com/alerts?auth=${s}`],
    ['gotify token', secretArb, (s) => `https://gotify.example.com/message?token=${s}&p=5`],
    ['webhook path token', tokenArb, (s) => `https://hooks.example.com/hook/${s}`],
    [
      'webhook URL field',
      secretArb,
      (s) => JSON.stringify({ webhookUrl: `https://example.com/${s}` }),
    ],
  ];

  for (const [name, arb, shape] of shapes) {
    it(`${name}`, () => {
      const r = new SecretRedactor();
      fc.assert(
        fc.property(arb, (secret) => {
          const text = shape(secret);
          fc.pre(!shape('').includes(secret));
          expect(r.redactString(text)).to.not.include(secret);
          // And as a JSON string value (a hook command in the config diff).
          expect(r.redactString(JSON.stringify({ command: text }))).to.not.include(secret);
          // And inside an Error's message and stack, as logged.
          const err = r.redact(new Error(`failed: ${text}`)) as Record<string, string>;
          expect(JSON.stringify(err)).to.not.include(secret);
        }),
        { numRuns: 200 },
      );
    });
  }

  it('healthchecks UUID', () => {
    const r = new SecretRedactor();
    fc.assert(
      fc.property(fc.uuid(), (uuid) => {
        expect(r.redactString(`ping https://hc.example.com/ping/${uuid}`)).to.not.include(uuid);
        expect(redactUrl(`https://hc-ping.com/${uuid}`)).to.not.include(uuid);
      }),
    );
  });

  it('registered values anywhere, in any text', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 4, maxLength: 40 }),
        fc.string(),
        fc.string(),
        (secret, before, after) => {
          const r = new SecretRedactor();
          r.addSecretValue(secret);
          fc.pre(!before.includes(secret) && !after.includes(secret));
          const out = r.redactString(`${before}${secret}${after}`);
          // The result may only contain it if the rules' own text rebuilt it: never.
          expect(out).to.not.include(secret);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('redactUrl never keeps anything after the host', () => {
    fc.assert(
      fc.property(
        fc.webUrl({ withQueryParameters: true, withFragments: true }),
        secretArb,
        (url, s) => {
          const withToken = `${url.replace(/[?#].*$/, '')}/${encodeURIComponent(s)}?token=${encodeURIComponent(s)}`;
          const out = redactUrl(withToken);
          expect(out).to.not.include(encodeURIComponent(s));
          expect(out.startsWith(new URL(withToken).protocol)).to.equal(true);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('SecretRedactor.isClean (the logger serialises a clean record without copying it)', () => {
  // Keys and strings drawn to hit secret names, URLs, registered values and plain words alike.
  const word = fc.constantFrom(
    'plan_id',
    'password',
    'RESTIC_PASSWORD=x',
    'token',
    'sources',
    'https://u:p@host/x',
    's3:host/bucket',
    '/srv/data',
    'hunter2hunter2',
    'Bearer abc',
    'daily=7',
    '__proto__',
    '',
  );
  const value = fc.letrec((tie) => ({
    node: fc.oneof(
      { depthSize: 'small' },
      word,
      fc.string(),
      fc.integer(),
      fc.boolean(),
      fc.constant(null),
      fc.array(tie('node'), { maxLength: 4 }),
      fc.dictionary(word, tie('node'), { maxKeys: 4 }),
    ),
  })).node;

  it('is true only when the redacted copy serialises to the same JSON', () => {
    const r = new SecretRedactor();
    r.addSecretValue('hunter2hunter2');
    fc.assert(
      fc.property(value, (v) => {
        if (r.isClean(v)) expect(JSON.stringify(r.redact(v))).to.equal(JSON.stringify(v));
      }),
      { numRuns: 2000 },
    );
  });

  it('says false for secrets, URLs, registered values and anything but plain data', () => {
    const r = new SecretRedactor();
    r.addSecretValue('hunter2hunter2');
    expect(r.isClean({ plan_id: 'a', sources: ['/srv/a'], hooks: { pre: 0 } })).to.equal(true);
    expect(r.isClean({ password: 'x' })).to.equal(false);
    expect(r.isClean({ password: null, a: undefined })).to.equal(true);
    expect(r.isClean({ msg: 'see https://example.com' })).to.equal(false);
    expect(r.isClean({ msg: 'pw is hunter2hunter2' })).to.equal(false);
    expect(r.isClean({ when: new Date(0) })).to.equal(false);
    expect(r.isClean({ err: new Error('x') })).to.equal(false);
    expect(r.isClean({ n: 1n })).to.equal(false);
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    expect(r.isClean(cyclic)).to.equal(false);
  });

  it('cleanJson(value, false) leaves registered values to the caller, and still refuses every rule', () => {
    const r = new SecretRedactor();
    r.addSecretValue('hunter2hunter2');
    // The logger scans its whole line for registered values: the JSON is handed over as it is.
    expect(r.cleanJson({ a: 'x hunter2hunter2' }, false)).to.equal('{"a":"x hunter2hunter2"}');
    expect(r.cleanJson({ a: 'x hunter2hunter2' })).to.equal(undefined);
    expect(r.cleanJson({ a: 'mail me@host' }, false)).to.equal(undefined);
    expect(r.cleanJson({ a: { apiToken: 'x' } }, false)).to.equal(undefined);
    expect(r.cleanJson({ a: new Date(0) }, false)).to.equal(undefined);
  });

  it('cleanJson is the JSON of a clean value, and undefined for any value isClean refuses', () => {
    const r = new SecretRedactor();
    r.addSecretValue('hunter2hunter2');
    r.addSecretValue('quo"ted');
    fc.assert(
      fc.property(fc.oneof(value, fc.dictionary(word, value)), (v) => {
        if (typeof v !== 'object' || v === null) return;
        const json = r.cleanJson(v);
        if (!r.isClean(v)) expect(json).to.equal(undefined);
        else if (json !== undefined) expect(json).to.equal(JSON.stringify(v));
      }),
      { numRuns: 2000 },
    );
    // The one scan of the JSON: field names and strings too, a registered value in either form.
    expect(r.cleanJson({ plan_id: 'a', sources: ['/srv/a'], hooks: { pre: 0 } })).to.equal(
      '{"plan_id":"a","sources":["/srv/a"],"hooks":{"pre":0}}',
    );
    expect(r.cleanJson({ a: { apiToken: 'x' } })).to.equal(undefined);
    expect(r.cleanJson({ a: ['x hunter2hunter2'] })).to.equal(undefined);
    expect(r.cleanJson({ a: 'say quo"ted' })).to.equal(undefined);
    expect(r.cleanJson({ a: 'mail me@host' })).to.equal(undefined);
    expect(r.cleanJson({ a: new Date(0) })).to.equal(undefined);
    expect(r.cleanJson(new Map([['a', 1]]))).to.equal(undefined);
    // A trigger only in a name `isSecretKey` exempts: the walk says clean.
    expect(r.cleanJson({ key: 'Plan/a' })).to.equal('{"key":"Plan/a"}');
  });

  it('walks scalars in place: nested non-plain values and secrets are still refused', () => {
    const r = new SecretRedactor();
    // Values JSON and `redact` write differently, inside arrays and objects at any depth.
    for (const bad of [1n, Symbol('s'), () => 1, new Date(0), new Map(), new String('x')]) {
      expect(r.isClean({ a: [0, { b: [bad] }] }), String(typeof bad)).to.equal(false);
      expect(r.cleanJson({ a: { b: bad } }), String(typeof bad)).to.equal(undefined);
    }
    // A secret in a string of a nested array (a source path from a hostile label).
    const labeled = { sources: ['/srv/a', '/srv/RESTIC_PASSWORD=hunter2'], retention: {} };
    expect(r.isClean(labeled)).to.equal(false);
    expect(r.cleanJson(labeled)).to.equal(undefined);
    expect(r.isClean({ a: [null, undefined, 1, true, 'x', []] })).to.equal(true);
  });

  it('checks a name put on Object.prototype too (one more value, never one less)', () => {
    const r = new SecretRedactor();
    Object.defineProperty(Object.prototype, 'apiToken', {
      value: 'x',
      enumerable: true,
      configurable: true,
    });
    let polluted: boolean;
    try {
      polluted = r.isClean({ plan_id: 'a' });
    } finally {
      delete (Object.prototype as Record<string, unknown>)['apiToken'];
    }
    expect(polluted).to.equal(false);
    expect(r.isClean({ plan_id: 'a' })).to.equal(true);
  });
});

describe('redactString rule gates (a rule runs only when the text holds what it needs)', () => {
  // Pieces of every shape a rule looks for, glued with the separators rules care about.
  const piece = fc.oneof(
    fc.constantFrom(
      'https://u:p@host/x',
      's3:https://KEY:SECRET@s3.example.com/b',
      'sftp:user:pa@ss@host:/srv',
      'rest:http://a:b@h:8000/',
      'https://hooks.slack.com/services/T0/B0/XXXXXXXXXXXXXXXXXXXXXXXX',
      'file:///app/dist/x.js:3:9',
      'RESTIC_PASSWORD=',
      'B2_ACCOUNT_KEY: ',
      '--password',
      '--s3-secret-key=',
      '"password": ',
      '"webhookUrl": ',
      '\\"token\\": ',
      'Authorization: ',
      'X-Api-Key: ',
      'private-token=',
      'Bearer ',
      'Basic',
      'Digest x',
      'PaSsWoRd=',
      'x-auth-token: ',
      'key=Kind/name',
      '?token=',
      '&',
      '@@ -6,5 +6,32006 @@',
      '"',
      "'",
      '\\',
      '\\"',
      ':',
      '=',
      ' ',
      '\n',
      '\n+',
      '\t',
      'hunter2hunter2',
      'daily=7,weekly=4',
    ),
    fc.string({ maxLength: 12 }),
  );
  const text = fc.array(piece, { maxLength: 24 }).map((a) => a.join(''));

  it('gated and ungated rules give byte-identical output', () => {
    fc.assert(
      fc.property(text, (s) => {
        expect(applyRules(s)).to.equal(applyRules(s, false));
      }),
      { numRuns: 5000 },
    );
  });

  it('each skipped rule is one that would have changed nothing', () => {
    fc.assert(
      fc.property(text, (s) => {
        for (const rule of RULES) {
          if (!rule.needs(s, hasAnyWord(s))) expect(rule.apply(s)).to.equal(s);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('redactString skips all rules only when none could match', () => {
    const r = new SecretRedactor();
    r.addSecretValue('hunter2hunter2');
    fc.assert(
      fc.property(text, (s) => {
        expect(r.redactString(s)).to.equal(applyRules(r.redactValues(s), false));
      }),
      { numRuns: 3000 },
    );
  });

  it('JSON pairs: the exec loop masks exactly what a replace callback did', () => {
    const reference = (s: string, pattern: RegExp, q: string): string =>
      s.replace(pattern, (m, name: string, sep: string, value: string) => {
        if (isSecretKeyName(name)) return `${q}${name}${q}${sep}${q}${REDACTED}${q}`;
        if (URL_KEY_PATTERN.test(name) && /^[a-z][a-z0-9+.-]*:\/\//i.test(value)) {
          return `${q}${name}${q}${sep}${q}${redactUrl(value)}${q}`;
        }
        return m;
      });
    fc.assert(
      fc.property(text, (s) => {
        expect(replaceJsonPairs(s, JSON_PAIR, '"')).to.equal(reference(s, JSON_PAIR, '"'));
        expect(replaceJsonPairs(s, JSON_PAIR_ESCAPED, '\\"')).to.equal(
          reference(s, JSON_PAIR_ESCAPED, '\\"'),
        );
      }),
      { numRuns: 3000 },
    );
  });

  it('a 2,000-plan diff with one URL line and one flag is redacted as before', () => {
    const plans = Array.from({ length: 2000 }, (_, i) => `+      "id": "p${i}",\n`).join('');
    const diff = `@@ -1 +1 @@\n${plans}+  "url": "s3:https://KEY:SECRET@h/b"\n-  --password x\n`;
    const out = new SecretRedactor().redactString(diff);
    expect(out).to.equal(applyRules(diff, false));
    expect(out).to.not.include('SECRET@');
    expect(out).to.include(`--password ${REDACTED}`);
  });

  it('a diff whose only trigger is its @@ headers skips the word rules, and only then', () => {
    const lines = Array.from({ length: 300 }, (_, i) => `+      "id": "p${i}",`);
    const plain = ['@@ -1,5 +1,300 @@', ...lines].join('\n');
    expect(hasAnyWord(plain)).to.equal(false);
    expect(new SecretRedactor().redactString(plain)).to.equal(plain);
    // Any piece anywhere (a secret word in the last line, an auth scheme in the first): as ungated.
    fc.assert(
      fc.property(text, fc.nat(300), (s, at) => {
        const diff = ['@@ -1,5 +1,300 @@', ...lines.slice(0, at), s, ...lines.slice(at)].join('\n');
        expect(applyRules(diff)).to.equal(applyRules(diff, false));
      }),
      { numRuns: 1000 },
    );
    const late = `${plain}\n+      "PassWord": "hunter2"`;
    expect(new SecretRedactor().redactString(late)).to.include(`"PassWord": "${REDACTED}"`);
  });
  it('an @ only after a space, quote, bracket or @ (a hunk header) triggers no rule', () => {
    expect(mayHoldSecret('@@ -6,5 +6,32006 @@\n+  "plans": [\n+    "/srv/big/0"')).to.equal(false);
    for (const s of [
      'sftp:@h',
      'sftp:u@h',
      's3:x@@h',
      'me@host',
      'a\\@b',
      'http://h',
      'Bearer x',
    ]) {
      expect(mayHoldSecret(s), s).to.equal(true);
    }
  });

  it('what the @ trigger lets through is left unchanged by every rule, ungated', () => {
    // Texts dense in what BACKEND_USERINFO and the URL rules look at around an `@`.
    const bit = fc.oneof(
      fc.constantFrom('@', '@@', ':', '//', 'sftp', 's3', 'rest', 'SFTP', 'rclone:', 'x', ' '),
      fc.constantFrom('\n', '\t', '"', "'", '<', '>', '`', '\\', '/', '-', '+', '.', 'é'),
      fc.string({ maxLength: 4 }),
    );
    const dense = fc.array(bit, { maxLength: 30 }).map((a) => a.join(''));
    fc.assert(
      fc.property(fc.oneof(dense, text), (s) => {
        if (!mayHoldSecret(s)) expect(applyRules(s, false)).to.equal(s);
        else expect(applyRules(s)).to.equal(applyRules(s, false));
      }),
      { numRuns: 8000 },
    );
  });
});

describe('SecretRedactor.redactLines (line-structured text: rules on the lines that may hold a secret)', () => {
  // Registered values, one with a raw newline (blanked over the whole text, across lines) and one
  // with a quote (blanked raw and JSON-escaped).
  const registered = ['multi\nline-secret', 'quo"ted-secret', 'plainsecret77'];
  const redactor = (): SecretRedactor => {
    const r = new SecretRedactor();
    for (const v of registered) r.addSecretValue(v);
    return r;
  };
  // A secret shape with its value at `§`: each fragment is whole on one line.
  const shapes = [
    'https://user:§@host.example.com/x',
    's3:https://AKIAEXAMPLE:§@s3.example.com/bucket',
    'sftp:user:§@host:/srv',
    'https://gotify.example.com/message?token=§&priority=5',
    '--password §',
    '--password=§',
    '--s3-secret-key "§"',
    '"password": "§"',
    '"RESTIC_PASSWORD": "§"',
    '"webhookUrl": "https://example.com/hook/§"',
    '\\"token\\": \\"§\\"',
    'RESTIC_PASSWORD=§',
    '"AWS_SECRET_ACCESS_KEY=§"',
    'B2_ACCOUNT_KEY: §',
    'Bearer §',
    'Authorization: Basic §',
    'X-Api-Key: §',
  ];
  // No trigger in any of these (checked below), alone or next to each other.
  const filler = fc.oneof(
    fc.constantFrom(
      ' ',
      '\t',
      '+',
      '-',
      '{',
      '}',
      '],',
      ',',
      '"',
      "'",
      '\\',
      '\\"',
      ':',
      '=',
      '"id": "x_big_s0",',
      '"schedule": "0 2 * * *",',
      '@@ -9,5 +9,32006 @@',
      'daily=7,weekly=4',
    ),
    fc.string({ maxLength: 10 }).filter((s) => !mayHoldSecret(s)),
  );
  // A piece: a secret shape (its value a fresh token), a registered value (raw or as JSON holds
  // it), or filler. Tokens are numbered by the caller so each is unique in the text.
  type Piece = { shape: number } | { value: number; escaped: boolean } | { fill: string };
  const piece: fc.Arbitrary<Piece> = fc.oneof(
    fc.record({ shape: fc.nat(shapes.length - 1) }),
    fc.record({ value: fc.nat(registered.length - 1), escaped: fc.boolean() }),
    fc.record({ fill: filler }),
    fc.record({ fill: filler }),
  );
  const build = (lines: Piece[][], tokens: string[] = []): { text: string; tokens: string[] } => {
    const text = lines
      .map((pieces) =>
        pieces
          .map((p) => {
            if ('shape' in p) {
              const token = `zq${tokens.length}wv`;
              tokens.push(token);
              return shapes[p.shape]!.replace('§', token);
            }
            if ('value' in p) {
              const v = registered[p.value]!;
              return p.escaped ? JSON.stringify(v).slice(1, -1) : v;
            }
            return p.fill;
          })
          .join(''),
      )
      .join('\n');
    return { text, tokens };
  };
  const multiLine = fc.array(fc.array(piece, { maxLength: 6 }), { minLength: 1, maxLength: 12 });

  // A line of a unified diff of canonical JSON (`JSON.stringify(doc, null, 2)`), the text
  // `redactLines` is for: every string on one line, its quotes and newlines escaped. Strings
  // hold the pieces above (hostile labels and hook commands end up in them).
  // The first three are secret names; the others mask a `scheme://` value only.
  const SECRET_KEYS = ['password', 'RESTIC_PASSWORD', 'apiToken', 'webhookUrl', 'uri', 'url'];
  const PLAIN_KEYS = ['id', 'command', 'env', 'paths', 'hooks', 'schedule', 'note'];
  type JsonLine =
    | { prefix: string; depth: number; key?: string; strPieces?: Piece[]; tail: number }
    | { header: true };
  const jsonLine: fc.Arbitrary<JsonLine> = fc.oneof(
    fc.record({
      prefix: fc.constantFrom('+', '-', ' '),
      depth: fc.nat(4),
      key: fc.option(fc.oneof(fc.constantFrom(...SECRET_KEYS, ...PLAIN_KEYS), fc.string()), {
        nil: undefined,
      }),
      strPieces: fc.option(fc.array(piece, { maxLength: 5 }), { nil: undefined }),
      tail: fc.nat(5),
    }),
    fc.constant({ header: true as const }),
  );
  const buildJsonDiff = (lines: JsonLine[]): { text: string; tokens: string[] } => {
    const tokens: string[] = [];
    const text = lines
      .map((l) => {
        if ('header' in l) return '@@ -9,7 +9,32008 @@';
        if (l.strPieces === undefined) {
          // A key has its value (or an opening bracket) on its line.
          const rest =
            l.key === undefined
              ? ['{', '}', '],', '},', ']', '7,'][l.tail]
              : `${JSON.stringify(l.key)}: ${['{', '[', '7,', 'null', '[],', '{}'][l.tail]}`;
          return `${l.prefix}${'  '.repeat(l.depth)}${rest}`;
        }
        // A string value: the pieces, or a bare token under a secret key (only secrets are
        // tokens: the whole-text pass may blank more, e.g. all after an unclosed `\"` in a hook
        // command, across lines).
        let key = l.key === undefined ? '' : `${JSON.stringify(l.key)}: `;
        let content: string;
        if (l.strPieces.length === 0) {
          key = `${JSON.stringify(SECRET_KEYS[l.depth % 3])}: `;
          content = `zq${tokens.length}wv`;
          tokens.push(content);
        } else {
          // Registered values raw: the string's JSON escapes them as a config file holds them.
          const raw = l.strPieces.map((p) => ('value' in p ? { ...p, escaped: false } : p));
          content = build([raw], tokens).text;
        }
        const comma = l.tail % 2 === 0 ? ',' : '';
        return `${l.prefix}${'  '.repeat(l.depth)}${key}${JSON.stringify(content)}${comma}`;
      })
      .join('\n');
    return { text, tokens };
  };

  it('on a canonical JSON diff, hides every token the whole-text pass hides within a line, and every registered value', () => {
    const r = redactor();
    let compared = 0;
    fc.assert(
      fc.property(fc.array(jsonLine, { minLength: 1, maxLength: 16 }), (lines) => {
        const { text, tokens } = buildJsonDiff(lines);
        const whole = r.redactString(text);
        const byLine = r.redactLines(text);
        // A whole-text match that ate a line break (an unclosed `\"NAME=` in a hook command
        // blanks all to the end of the text) hides what follows whatever it is: not a secret
        // found within a line. Where none did, each token is compared.
        if (whole.split('\n').length === text.split('\n').length) {
          compared++;
          for (const t of tokens) {
            if (!whole.includes(t)) expect(byLine, t).to.not.include(t);
          }
        }
        for (const v of registered) {
          expect(byLine).to.not.include(v).and.not.include(JSON.stringify(v).slice(1, -1));
        }
      }),
      { numRuns: Number(process.env['REDACT_RUNS'] ?? 3000) },
    );
    expect(compared).to.be.greaterThan(Number(process.env['REDACT_RUNS'] ?? 3000) / 2);
  });

  it('is redactString on each line, once registered values are blanked over the whole text', () => {
    const r = redactor();
    fc.assert(
      // Lines repeated (`redactLines` masks a repeated line once and reuses it).
      fc.property(multiLine, fc.nat(3), (lines, copies) => {
        const once = build(lines).text;
        const text = Array.from({ length: copies + 1 }, () => once).join('\n');
        const expected = r
          .redactValues(text)
          .split('\n')
          .map((line) => r.redactString(line))
          .join('\n');
        expect(r.redactLines(text)).to.equal(expected);
      }),
      { numRuns: 3000 },
    );
  });

  it('gives the text back unchanged when no line holds a trigger or a registered value', () => {
    const r = redactor();
    // Filler next to filler may make a trigger (`#` + `@@`): those texts are not this case.
    const plain = fc
      .array(fc.array(filler, { maxLength: 8 }), { maxLength: 12 })
      .map((lines) => lines.map((l) => l.join('')).join('\n'))
      .filter((text) => !mayHoldSecret(text));
    fc.assert(
      fc.property(plain, (text) => {
        expect(r.redactLines(text)).to.equal(text);
      }),
      { numRuns: 3000 },
    );
  });

  it('on one line, is exactly redactString', () => {
    const r = redactor();
    const oneLine = fc.array(piece, { maxLength: 10 }).map((pieces) => {
      // A registered value with a newline would make two lines: its escaped form only.
      const safe = pieces.map((p) => ('value' in p ? { ...p, escaped: true } : p));
      return build([safe]).text;
    });
    fc.assert(
      fc.property(oneLine, (s) => {
        expect(s).to.not.include('\n');
        expect(r.redactLines(s)).to.equal(r.redactString(s));
      }),
      { numRuns: 3000 },
    );
  });

  it('is weaker than redactString only across a line break (why the dry-run diff alone uses it)', () => {
    const r = new SecretRedactor();
    for (const text of ['token was Bearer\nabc123', '--password\n  hunter2', '"password":\n"x"']) {
      expect(r.redactString(text), text).to.include(REDACTED);
      expect(r.redactLines(text), text).to.equal(text);
    }
  });

  it('masks the triggered lines of a 2,000-plan diff and returns the rest as is', () => {
    const plans = Array.from({ length: 2000 }, (_, i) => `+      "id": "p${i}",`).join('\n');
    const diff = [
      '@@ -9,7 +9,32008 @@',
      plans,
      '   "notify": {',
      '     "webhook": "https://hooks.slack.com/services/T000/B000/XXXXsecret"',
      '+    "password": "hunter2",',
      '+      "command": "curl -H \\"Authorization: Bearer abc\\" https://x"',
    ].join('\n');
    const out = new SecretRedactor().redactLines(diff);
    expect(out).to.equal(applyRules(diff, false));
    expect(out).to.not.include('XXXXsecret').and.not.include('hunter2').and.not.include('abc');
    expect(out.startsWith(`@@ -9,7 +9,32008 @@\n${plans}`)).to.equal(true);
    const plain = `@@ -1 +1 @@\n${plans}`;
    expect(new SecretRedactor().redactLines(plain)).to.equal(plain);
  });
});
