import { expect } from 'chai';
import { REDACTED, SecretRedactor } from './redactor.js';

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
