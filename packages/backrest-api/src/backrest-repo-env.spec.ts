import { expect } from 'chai';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { repoEnvFromBackrestConfig } from './backrest-repo-env.js';

describe('repoEnvFromBackrestConfig', () => {
  let dir: string;
  let file: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'repo-env-'));
    file = path.join(dir, 'config.json');
    await writeFile(
      file,
      JSON.stringify({
        version: 6,
        repos: [
          { id: 'local', uri: '/repos/local', password: 'pw-local-secret' },
          {
            id: 's3',
            uri: 's3:host/bucket',
            password: 'pw2',
            env: ['AWS_ACCESS_KEY_ID=AK', 'AWS_SECRET_ACCESS_KEY=SK'],
          },
        ],
      }),
    );
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('maps the first repo, or the named one, to restic env', async () => {
    expect((await repoEnvFromBackrestConfig(file)).env).to.deep.equal({
      RESTIC_REPOSITORY: '/repos/local',
      RESTIC_PASSWORD: 'pw-local-secret',
    });
    const s3 = await repoEnvFromBackrestConfig(file, 's3');
    expect(s3.id).to.equal('s3');
    expect({ ...s3.env }).to.deep.equal({
      AWS_ACCESS_KEY_ID: 'AK',
      AWS_SECRET_ACCESS_KEY: 'SK',
      RESTIC_REPOSITORY: 's3:host/bucket',
      RESTIC_PASSWORD: 'pw2',
    });
  });

  it('names the file and the repo in errors, never a value', async () => {
    const err = await repoEnvFromBackrestConfig(file, 'nope').catch((e: Error) => e);
    expect((err as Error).message).to.equal(
      `Backrest config ${file} has no repo "nope" (known: local, s3)`,
    );
    const bad = path.join(dir, 'bad.json');
    await writeFile(bad, JSON.stringify({ repos: [{ id: 'x', uri: '/r', env: ['pw-secret-x'] }] }));
    const e2 = (await repoEnvFromBackrestConfig(bad).catch((e: Error) => e)) as Error;
    expect(e2.message).to.contain('env[0] is not KEY=VALUE').and.not.contain('pw-secret-x');
  });
});
