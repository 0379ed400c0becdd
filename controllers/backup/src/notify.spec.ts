import { expect } from 'chai';
import { MemoryLogStream, REDACTED, SecretRedactor, createLogger } from '@dockop/runtime';
import { notifyWebhook } from './notify.js';

function fakeFetch(answers: (number | Error)[]): { fetch: typeof fetch; bodies: string[] } {
  const bodies: string[] = [];
  let i = 0;
  const f = (async (_url: string, init: RequestInit) => {
    bodies.push(String(init.body));
    const a = answers[Math.min(i++, answers.length - 1)]!;
    if (a instanceof Error) throw a;
    return new Response('ok', { status: a });
  }) as unknown as typeof fetch;
  return { fetch: f, bodies };
}

describe('notifyWebhook', () => {
  it('retries 5xx and network errors with doubling backoff, then delivers', async () => {
    const sleeps: number[] = [];
    const { fetch, bodies } = fakeFetch([503, new Error('ECONNREFUSED'), 200]);
    const r = await notifyWebhook(
      'http://hook.local/x',
      { event: 'backup.succeeded' },
      { fetch, sleep: async (ms) => void sleeps.push(ms) },
    );
    expect(r).to.deep.equal({ delivered: true, attempts: 3, last: 'HTTP 200' });
    expect(sleeps).to.deep.equal([1000, 2000]);
    expect(JSON.parse(bodies[0]!)).to.deep.equal({ event: 'backup.succeeded' });
  });

  it('gives up after `attempts` and does not retry a 4xx refusal', async () => {
    const sleeps: number[] = [];
    const down = await notifyWebhook(
      'http://h/',
      {},
      { attempts: 3, fetch: fakeFetch([500]).fetch, sleep: async (ms) => void sleeps.push(ms) },
    );
    expect(down).to.deep.equal({ delivered: false, attempts: 3, last: 'HTTP 500' });
    expect(sleeps).to.deep.equal([1000, 2000]);
    const refused = await notifyWebhook(
      'http://h/',
      {},
      { fetch: fakeFetch([400]).fetch, sleep: async () => expect.fail('no retry') },
    );
    expect(refused).to.deep.equal({ delivered: false, attempts: 1, last: 'HTTP 400' });
  });

  it('sends a redacted payload and logs the webhook URL as scheme and host only', async () => {
    const { fetch, bodies } = fakeFetch([
      new Error('connect to https://hooks.slack.com/services/T1/B2/tok3n failed'),
      200,
    ]);
    const out = new MemoryLogStream();
    const redactor = new SecretRedactor();
    redactor.addSecretValue('env-file-secret');
    const r = await notifyWebhook(
      'https://hooks.slack.com/services/T1/B2/tok3n',
      {
        error: 'restic failed: RESTIC_PASSWORD=hunter22 repo s3:https://AKIA:s3cret@host/b',
        workloads: [{ error: 'open env-file-secret' }],
      },
      {
        fetch,
        sleep: async () => {},
        redactor,
        logger: createLogger({ format: 'json', stream: out.writable }),
      },
    );
    expect(r.delivered).to.equal(true);
    for (const body of bodies) {
      for (const s of ['hunter22', 's3cret', 'env-file-secret']) expect(body).to.not.include(s);
    }
    expect(JSON.parse(bodies[0]!).workloads[0].error).to.equal(`open ${REDACTED}`);
    expect(out.text).to.not.include('tok3n').and.not.include('/T1/B2');
    expect(out.text).to.include(`https://hooks.slack.com/${REDACTED}`);
  });
});
