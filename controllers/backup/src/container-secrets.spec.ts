import { expect } from 'chai';
import { SecretRedactor } from '@dockop/runtime';
import { learnContainerSecrets, passwordsInArgs } from './container-secrets.js';

describe('learnContainerSecrets', () => {
  it('masks secret-named variables, the password-env variable whatever its name, and args passwords', () => {
    const r = new SecretRedactor();
    learnContainerSecrets(
      r,
      [
        'POSTGRES_PASSWORD=pg-Secret-1',
        'APP_DB_PW=plain-named-2',
        'PATH=/usr/bin:/bin',
        'POSTGRES_DB=app',
        'NOEQUALS',
      ],
      {
        preset: 'mariadb',
        passwordEnv: 'APP_DB_PW',
        args: ['-pshort-arg-3', '--single-transaction'],
      },
    );
    const line = 'psql: pg-Secret-1 plain-named-2 short-arg-3 in /usr/bin:/bin for app';
    const out = r.redactString(line);
    expect(out).to.not.contain('pg-Secret-1');
    expect(out).to.not.contain('plain-named-2');
    expect(out).to.not.contain('short-arg-3');
    // What is not secret stays readable.
    expect(out).to.contain('/usr/bin:/bin').and.contain('for app');
  });

  it('a password-env naming a variable the container lacks, or no env at all, registers nothing', () => {
    const r = new SecretRedactor();
    learnContainerSecrets(r, undefined, { preset: 'postgres', passwordEnv: 'MISSING', args: [] });
    learnContainerSecrets(r, ['A=some-value'], { preset: 'postgres', passwordEnv: 'B', args: [] });
    expect(r.redactString('some-value MISSING')).to.equal('some-value MISSING');
  });

  it('passwordsInArgs: --password=x, --password x, and -px for mysql and mariadb only', () => {
    expect(passwordsInArgs(['--password=a1', '--pwd', 'b2', '-pc3'], 'mysql')).to.deep.equal([
      'a1',
      'b2',
      'c3',
    ]);
    // pg_dump's -p is the port.
    expect(passwordsInArgs(['-p5433'], 'postgres')).to.deep.equal([]);
  });
});
