import { expect } from 'chai';
import { configSecretValues, lineDiff, renderConfig } from '@backrest-sidecar/config-sink';
import { REDACTED, SecretRedactor } from '@dockop/runtime';
import { dryRunDiffText } from './reconcile.js';

describe('reconcile --dry-run diff text', () => {
  const s = {
    s3Secret: 'wJalrXUtnFEMIK7MDENGbPxRfiCY',
    repoPassword: 'repo-pw-9f2c1d',
    awsSecret: 'aws-secret-77aa31',
    multiLine: 'line-one\nline-two-secret',
    slackToken: 'XXXXslackXXXX1234',
    bearer: 'bearer-abc.def',
    hookPassword: 'hookpw-5511',
  };
  const repo = {
    id: 'default',
    uri: `s3:https://AKIAEXAMPLE:${s.s3Secret}@s3.example.com/bucket`,
    password: s.repoPassword,
    env: [`AWS_SECRET_ACCESS_KEY=${s.awsSecret}`, `RESTIC_EXTRA=${s.multiLine}`, 'AWS_REGION=eu'],
    autoInitialize: true,
  };
  const plan = (i: number): Record<string, unknown> => ({
    id: `p${i}`,
    repo: 'default',
    paths: [`/srv/${i}`],
    schedule: { cron: '0 2 * * *' },
    hooks: [
      {
        conditions: ['CONDITION_SNAPSHOT_ERROR'],
        actionWebhook: { webhookUrl: `https://hooks.slack.com/services/T0/B0/${s.slackToken}` },
      },
      {
        conditions: ['CONDITION_SNAPSHOT_END'],
        actionCommand: {
          command: `curl -H "Authorization: Bearer ${s.bearer}" https://x && mysqldump --password=${s.hookPassword}`,
        },
      },
      // Only the registered values mask these: no rule knows the shape.
      {
        conditions: ['CONDITION_SNAPSHOT_START'],
        actionCommand: { command: `echo ${s.awsSecret}` },
      },
    ],
  });
  const before = renderConfig(
    { modno: 1, version: 6, instance: 'nas', repos: [], plans: [] },
    'backrest',
  );
  const doc = {
    modno: 2,
    version: 6,
    instance: 'nas',
    repos: [repo],
    plans: Array.from({ length: 50 }, (_, i) => plan(i)),
  };
  const after = renderConfig(doc, 'backrest');
  const diff = lineDiff(before, after, 'config.json');

  it('shows none of the config secrets (s3 URL credentials, env, hooks, webhook tokens)', () => {
    expect(diff).to.include(s.s3Secret).and.include(s.awsSecret).and.include(s.bearer);
    const out = dryRunDiffText(new SecretRedactor(), diff, configSecretValues(after));
    for (const [name, value] of Object.entries(s)) {
      expect(out, name).to.not.include(value);
      expect(out, name).to.not.include(JSON.stringify(value).slice(1, -1));
    }
    expect(out).to.include(`s3:https://${REDACTED}@s3.example.com/bucket`);
    expect(out).to.include(`"password": "${REDACTED}"`);
    expect(out).to.include('"id": "p49"').and.include('https://hooks.slack.com/');
    expect(out.endsWith('\n')).to.equal(true);
  });

  it('prints what the whole-text redactString printed for this diff', () => {
    const whole = new SecretRedactor();
    for (const v of configSecretValues(after)) whole.addSecretValue(v);
    const printed = dryRunDiffText(new SecretRedactor(), diff, configSecretValues(after));
    expect(printed).to.equal(`${whole.redactString(diff)}`.replace(/\n?$/, '\n'));
  });
});
