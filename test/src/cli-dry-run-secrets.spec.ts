import type Docker from 'dockerode';
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createContainer } from '@dockop/docker';
import { WORKLOAD_IMAGE, removeLabeled, requireEngine, runId } from './support/engine.js';
import { isolate, prefixOf, runCli } from './support/plan-cli.js';

// `reconcile --dry-run` prints a diff of the config on stdout and logs (stderr) every rendered plan: the
// real binary, a real labeled container, a Backrest config full of credentials.
describe('backrest-sidecar reconcile --dry-run keeps secrets out of the diff and logs (integration)', function () {
  this.timeout(120_000);
  let docker: Docker;
  const run = runId();
  const secret = (p: string): string => `${p}${randomBytes(10).toString('hex')}`;
  const s = {
    repoPassword: secret('pw'),
    s3Secret: secret('s3'),
    awsSecret: secret('aws'),
    slackToken: secret('slack'),
    bearer: secret('bearer'),
    hookPassword: secret('hookpw'),
    labelBearer: secret('label'),
  };
  let dir: string;

  before(async function () {
    docker = await requireEngine(this);
    dir = await mkdtemp(path.join(tmpdir(), 'dryrun-secrets-'));
    await createContainer(docker, {
      name: `dryrun-secrets-${run}`,
      Image: WORKLOAD_IMAGE,
      Cmd: ['sleep', '3600'],
      Labels: {
        'dockop.test.run': run,
        'backrest.enable': 'true',
        'backrest.post': `curl -fsS -H 'Authorization: Bearer ${s.labelBearer}' https://hc.example.com/x`,
      },
      HostConfig: { NetworkMode: 'none', Binds: ['/srv/dryrun-data:/data:ro'] },
    });
  });

  after(async function () {
    if (docker) await removeLabeled(docker, `dockop.test.run=${run}`);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('masks repo passwords, repo env, URL credentials, webhook tokens and hook credentials', async () => {
    const file = path.join(dir, 'config.json');
    // Minified on purpose: our pretty rewrite changes every line, so the diff shows them all.
    const original = JSON.stringify({
      modno: 3,
      version: 6,
      instance: 'nas01',
      repos: [
        {
          id: 'default',
          uri: `s3:https://AKIAEXAMPLE:${s.s3Secret}@s3.example.com/bucket`,
          guid: '5f1c0e7a9b2d4c6e8f0a1b3c5d7e9f015f1c0e7a9b2d4c6e8f0a1b3c5d7e9f01',
          password: s.repoPassword,
          env: [`AWS_SECRET_ACCESS_KEY=${s.awsSecret}`, 'AWS_REGION=eu-west-1'],
        },
      ],
      // An orphan of ours: --prune removes it, so every line of it is in the diff.
      plans: [
        {
          id: `${prefixOf(run)}gone`,
          repo: 'default',
          paths: ['/srv/gone'],
          schedule: { cron: '0 1 * * *' },
          hooks: [
            {
              conditions: ['CONDITION_SNAPSHOT_ERROR'],
              actionWebhook: {
                webhookUrl: `https://hooks.slack.com/services/T0123/B0456/${s.slackToken}`,
              },
            },
            {
              conditions: ['CONDITION_SNAPSHOT_END'],
              actionCommand: {
                command: `curl -H "Authorization: Bearer ${s.bearer}" https://x && mysqldump --password=${s.hookPassword}`,
              },
            },
            {
              // No rule knows these shapes: only the values registered from the repos mask them.
              conditions: ['CONDITION_SNAPSHOT_START'],
              actionCommand: { command: `echo ${s.repoPassword} ${s.awsSecret} | tee /x` },
            },
          ],
        },
      ],
    });
    await writeFile(file, original);
    const r = await runCli([
      'reconcile',
      '--dry-run',
      '--config',
      file,
      '--default-repo',
      'default',
      '--prune',
      ...isolate(run),
    ]);
    expect(r.code, r.stderr).to.equal(2);
    expect(await readFile(file, 'utf8')).to.equal(original);
    // The diff is there and shows the config (ids, structure) ...
    expect(r.stdout).to.include(`${prefixOf(run)}dryrun-secrets-${run}`);
    expect(r.stdout).to.include(`-      "id": "${prefixOf(run)}gone"`);
    expect(r.stdout).to.include('hooks.slack.com').and.include('echo [REDACTED] [REDACTED]');
    // ... and no secret, in the diff or in any log line.
    for (const [name, value] of Object.entries(s)) {
      expect(r.stdout, `${name} in the diff`).to.not.include(value);
      expect(r.stderr, `${name} in the logs`).to.not.include(value);
    }
    // describe shows the rendered plan with its hooks, masked the same way.
    const planId = `${prefixOf(run)}dryrun-secrets-${run}`;
    for (const output of ['json', 'yaml', 'text']) {
      const d = await runCli([
        'describe',
        'plan',
        planId,
        '-o',
        output,
        '--config',
        file,
        ...isolate(run),
      ]);
      expect(d.code, d.stderr).to.equal(0);
      expect(d.stdout).to.include(planId).and.include('Authorization');
      expect(d.stdout + d.stderr).to.not.include(s.labelBearer);
    }
    // plan.rendered logs hook counts, not commands.
    const rendered = r.logs.find((l) => l.action === 'plan.rendered');
    expect(rendered?.['hooks']).to.deep.equal({ pre: 0, post: 1 });
  });
});
