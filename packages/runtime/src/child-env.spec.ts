import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { BASE_ENV_ALLOW_LIST, childEnv } from './child-env.js';

/** Runs `sh -c script` with `env` and resolves its trimmed stdout. */
function sh(script: string, env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile('sh', ['-c', script], { env }, (err, stdout) =>
      err ? reject(err) : resolve(stdout.trim()),
    ),
  );
}

/** Plants `name` on Object.prototype for the duration of `fn`, then removes it. */
export async function withPlanted<T>(
  name: string,
  value: string,
  fn: () => Promise<T>,
): Promise<T> {
  const proto = Object.prototype as Record<string, unknown>;
  proto[name] = value;
  try {
    return await fn();
  } finally {
    delete proto[name];
  }
}

describe('childEnv', () => {
  it('passes only allow-listed own parent variables, plus the ones set', () => {
    const env = childEnv({
      parent: { PATH: '/bin', HOME: '/root', SECRET_OF_PARENT: 'x', LANG: 'C.UTF-8' },
      set: { RESTIC_REPOSITORY: '/repo', SKIPPED: undefined },
    });
    expect(Object.getPrototypeOf(env)).to.equal(null);
    expect({ ...env }).to.deep.equal({
      PATH: '/bin',
      HOME: '/root',
      LANG: 'C.UTF-8',
      RESTIC_REPOSITORY: '/repo',
    });
  });

  it('takes patterns, and set values win over the parent', () => {
    const env = childEnv({
      parent: { PATH: '/bin', AWS_REGION: 'eu', AWSX: 'no', RESTIC_PASSWORD: 'parent' },
      allow: [...BASE_ENV_ALLOW_LIST, /^(AWS|RESTIC)_/],
      set: { RESTIC_PASSWORD: 'file' },
    });
    expect({ ...env }).to.deep.equal({ PATH: '/bin', AWS_REGION: 'eu', RESTIC_PASSWORD: 'file' });
  });

  it('refuses a name with "=" or a NUL value, naming the variable but not the value', () => {
    expect(() => childEnv({ parent: {}, set: { 'A=B': 'v' } })).to.throw(
      /invalid variable name "A=B"/,
    );
    let message = '';
    try {
      childEnv({ parent: {}, set: { RESTIC_PASSWORD: 'se\0cret' } });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).to.match(/RESTIC_PASSWORD contains a NUL byte/);
    expect(message).to.not.include('se');
  });

  it('a key planted on Object.prototype never reaches a child (while omitting env would leak it)', async () => {
    await withPlanted('RESTIC_PASSWORD_COMMAND', 'echo pwned', async () => {
      const parent = { ...process.env };
      const env = childEnv({ parent, allow: [...BASE_ENV_ALLOW_LIST, /^RESTIC_/] });
      expect(Object.hasOwn(env, 'RESTIC_PASSWORD_COMMAND')).to.equal(false);
      expect(await sh('echo "${RESTIC_PASSWORD_COMMAND-unset}"', env)).to.equal('unset');
      // The control: Node's own env building walks the prototype chain.
      expect(await sh('echo "${RESTIC_PASSWORD_COMMAND-unset}"', { ...process.env })).to.equal(
        'echo pwned',
      );
    });
    expect(Object.prototype).to.not.have.property('RESTIC_PASSWORD_COMMAND');
  });
});
