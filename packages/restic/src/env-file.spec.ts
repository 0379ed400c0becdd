import { expect } from 'chai';
import { REDACTED } from '@dockop/runtime';
import { parseEnvFile } from './env-file.js';
import { resticRedactor } from './restic-runner.js';

describe('env-file', () => {
  it('parses KEY=VALUE verbatim, skips comments and blanks, takes bare KEY from the process env', () => {
    const env = parseEnvFile(
      '# comment\n\nRESTIC_REPOSITORY=s3:https://h/b?x=1\n  RESTIC_PASSWORD= spaced value \nINHERITED\nMISSING\nEMPTY=\r\n',
      'rcb.env',
      { INHERITED: 'from-process' },
    );
    expect(env).to.deep.equal({
      RESTIC_REPOSITORY: 's3:https://h/b?x=1',
      RESTIC_PASSWORD: ' spaced value ',
      INHERITED: 'from-process',
      EMPTY: '',
    });
  });

  it('keeps __proto__/constructor lines as own variables and never reads inherited ones', () => {
    const env = parseEnvFile(
      '__proto__=x\nconstructor=y\ntoString\nRESTIC_PASSWORD_COMMAND\n',
      'f',
      {},
    );
    expect(Object.getPrototypeOf(env)).to.equal(null);
    expect(Object.keys(env).sort()).to.deep.equal(['__proto__', 'constructor']);
    expect(env['__proto__']).to.equal('x');
    expect(({} as Record<string, unknown>)['RESTIC_PASSWORD_COMMAND']).to.equal(undefined);
  });

  it('names the file and line of an invalid variable name without echoing the value', () => {
    expect(() => parseEnvFile('OK=1\n1BAD=hunter2\n', 'rcb.env', {})).to.throw(
      /rcb\.env:2: invalid variable name "1BAD"/,
    );
    try {
      parseEnvFile('bad name=hunter2', 'f', {});
    } catch (err) {
      expect((err as Error).message).to.not.include('hunter2');
    }
  });

  it('treats RESTIC_*, cloud credentials and *PASSWORD*/*KEY* values as secrets and redacts them', () => {
    const r = resticRedactor({
      RESTIC_PASSWORD: 'pw-123',
      RESTIC_REPOSITORY: '/srv/repo',
      AWS_SECRET_ACCESS_KEY: 'aws-xyz',
      TZ: 'Europe/Paris',
      X: 'ab',
    });
    expect(
      r.redactString('open /srv/repo/config with pw-123 and aws-xyz in Europe/Paris'),
    ).to.equal(`open ${REDACTED}/config with ${REDACTED} and ${REDACTED} in Europe/Paris`);
  });
});
