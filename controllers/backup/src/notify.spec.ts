import { expect } from 'chai';
import { notifyWebhook, redactUrl } from './notify.js';

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

  it('logs the URL without credentials or query (tokens live there)', () => {
    expect(redactUrl('https://user:pw@hooks.example.com/services/T?token=abc')).to.equal(
      'https://hooks.example.com/services/T?…',
    );
    expect(redactUrl('not a url')).to.equal('<invalid url>');
  });
});
