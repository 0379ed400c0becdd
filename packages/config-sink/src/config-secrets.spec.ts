import { expect } from 'chai';
import fc from 'fast-check';
import { configSecretValues } from './config-secrets.js';

/** The function as it was before its shortcut: every text is parsed. */
function parsedSecretValues(text: string): string[] {
  let config: unknown;
  try {
    config = JSON.parse(text);
  } catch {
    return [];
  }
  const own = (o: unknown, k: string): unknown =>
    o !== null && typeof o === 'object' && Object.hasOwn(o, k)
      ? (o as Record<string, unknown>)[k]
      : undefined;
  const out: string[] = [];
  const repos = own(config, 'repos');
  if (!Array.isArray(repos)) return out;
  for (const repo of repos) {
    const password = own(repo, 'password');
    if (typeof password === 'string') out.push(password);
    const env = own(repo, 'env');
    if (Array.isArray(env)) {
      for (const pair of env) {
        if (typeof pair !== 'string') continue;
        const eq = pair.indexOf('=');
        if (eq > 0) out.push(pair.slice(eq + 1));
      }
    } else if (env !== null && typeof env === 'object') {
      for (const v of Object.values(env)) if (typeof v === 'string') out.push(v);
    }
  }
  return out;
}

describe('configSecretValues', () => {
  it('reads repository passwords and env values (array or object form)', () => {
    const text = JSON.stringify({
      repos: [
        { id: 'a', password: 'pw-1', env: ['AWS_SECRET_ACCESS_KEY=s3cret', 'NOEQUALS'] },
        { id: 'b', env: { B2_ACCOUNT_KEY: 'k-2' } },
      ],
      plans: [{ id: 'p', sources: ['/srv'] }],
    });
    expect(configSecretValues(text)).to.deep.equal(['pw-1', 's3cret', 'k-2']);
  });

  it('finds keys spelled with escapes (the shortcut does not skip such a text)', () => {
    expect(
      configSecretValues('{"repos":[{"pass\\u0077ord":"pw-9","\\u0065nv":["X=y"]}]}'),
    ).to.deep.equal(['pw-9', 'y']);
  });

  it('a text naming neither field has none; invalid JSON has none', () => {
    expect(configSecretValues('{"repos":[{"id":"r","url":"/repo"}],"plans":[]}')).to.deep.equal([]);
    expect(configSecretValues('{"repos":[{"password":')).to.deep.equal([]);
  });

  it('fast-check: the same values as parsing every text', () => {
    const key = fc.constantFrom('id', 'password', 'env', 'url', 'pass\\u0077ord', 'e\\u006ev', 'x');
    const value = fc.oneof(
      fc.string(),
      fc.array(fc.string(), { maxLength: 3 }),
      fc.dictionary(fc.string({ maxLength: 4 }), fc.string(), { maxKeys: 2 }),
    );
    const repo = fc
      .array(fc.tuple(key, value), { maxLength: 4 })
      .map((pairs) => `{${pairs.map(([k, v]) => `"${k}":${JSON.stringify(v)}`).join(',')}}`);
    const text = fc
      .array(repo, { maxLength: 3 })
      .map((r) => `{"repos":[${r.join(',')}],"plans":[]}`);
    fc.assert(
      fc.property(text, (t) => {
        expect(configSecretValues(t)).to.deep.equal(parsedSecretValues(t));
      }),
      { numRuns: 500 },
    );
  });
});
