import { expect } from 'chai';
import { NotifyUrlError, parseNotifyUrl } from './notify-url.js';

const UUID = '5b0a8d4e-2f7c-4b1e-9d3a-6c8f0e1a2b3c';

describe('parseNotifyUrl (the --notify-url grammar)', () => {
  const ok: [string, Partial<ReturnType<typeof parseNotifyUrl>>][] = [
    [
      'https://example.org/hook?x=1',
      { service: 'webhook', endpoint: 'https://example.org/hook?x=1' },
    ],
    [
      'https://hooks.slack.com/services/T0AB/B0CD/s3cr3tXYZ',
      { service: 'slack', endpoint: 'https://hooks.slack.com/services/T0AB/B0CD/s3cr3tXYZ' },
    ],
    [
      'slack://Bot@T0AB/B0CD/s3cr3tXYZ?title=Nightly',
      {
        service: 'slack',
        endpoint: 'https://hooks.slack.com/services/T0AB/B0CD/s3cr3tXYZ',
        username: 'Bot',
        title: 'Nightly',
      },
    ],
    [
      'https://discord.com/api/webhooks/1234/dtok-en_1',
      { service: 'discord', endpoint: 'https://discord.com/api/webhooks/1234/dtok-en_1' },
    ],
    [
      'discord://dtok-en_1@1234',
      { service: 'discord', endpoint: 'https://discord.com/api/webhooks/1234/dtok-en_1' },
    ],
    [
      `https://hc-ping.com/${UUID}`,
      { service: 'healthchecks', endpoint: `https://hc-ping.com/${UUID}` },
    ],
    [
      `hc://hc.local:8000/${UUID}?scheme=http`,
      { service: 'healthchecks', endpoint: `http://hc.local:8000/${UUID}` },
    ],
    [
      'hc://hc.local/pingkey123/nightly-db',
      { service: 'healthchecks', endpoint: 'https://hc.local/pingkey123/nightly-db' },
    ],
    [
      'ntfy://ntfy.sh/backups',
      { service: 'ntfy', endpoint: 'https://ntfy.sh/backups', headers: {} },
    ],
    ['ntfy:///backups', { service: 'ntfy', endpoint: 'https://ntfy.sh/backups' }],
    [
      'ntfy://alice:pa55word@ntfy.local:8080/backups?scheme=http&priority=high&title=Hi',
      {
        service: 'ntfy',
        endpoint: 'http://ntfy.local:8080/backups',
        headers: { authorization: `Basic ${Buffer.from('alice:pa55word').toString('base64')}` },
        priority: 4,
        title: 'Hi',
      },
    ],
    ['ntfy://:tk_abcdef@ntfy.local/backups', { headers: { authorization: 'Bearer tk_abcdef' } }],
    [
      'gotify://gotify.local:8443/sub/path/AzyoeNS.D4iJLVa/?priority=7',
      {
        service: 'gotify',
        endpoint: 'https://gotify.local:8443/sub/path/message',
        headers: { 'x-gotify-key': 'AzyoeNS.D4iJLVa' },
        priority: 7,
      },
    ],
    [
      'slack+http://127.0.0.1:9/hooks/abc',
      { service: 'slack', endpoint: 'http://127.0.0.1:9/hooks/abc' },
    ],
    ['discord+https://relay.local/x', { service: 'discord', endpoint: 'https://relay.local/x' }],
  ];
  for (const [url, want] of ok) {
    it(`parses ${url}`, () => {
      const t = parseNotifyUrl(url);
      for (const [k, v] of Object.entries(want)) {
        expect((t as unknown as Record<string, unknown>)[k], k).to.deep.equal(v);
      }
    });
  }

  it('collects every credential for the redactor and never shows one in `display`', () => {
    const cases: [string, string[]][] = [
      ['ntfy://alice:pa55word@ntfy.local/backups', ['pa55word']],
      ['ntfy://ntfy.sh/mysecrettopic', ['mysecrettopic']],
      ['gotify://g.local/AzyoeNS.D4iJLVa', ['AzyoeNS.D4iJLVa']],
      ['slack://T0AB/B0CD/s3cr3tXYZ', ['s3cr3tXYZ']],
      ['discord://dtok-en_1@1234', ['dtok-en_1']],
      [`hc://hc.local/${UUID}`, [UUID]],
      [
        'https://example.org/hooks/abcdef0123456789?token=qwerty12',
        ['qwerty12', 'abcdef0123456789'],
      ],
    ];
    for (const [url, secrets] of cases) {
      const t = parseNotifyUrl(url);
      for (const s of secrets) {
        expect(t.secrets, url).to.include(s);
        expect(t.display, url).to.not.include(s);
      }
    }
    // With credentials, the topic is an ordinary word (not blanked out of every log line).
    expect(parseNotifyUrl('ntfy://alice:pa55word@ntfy.local/backups').secrets).to.not.include(
      'backups',
    );
  });

  const bad: [string, RegExp][] = [
    ['not a url', /--notify-url "not a url" is not a URL/],
    ['ftp://alice:pa55word@host/x', /\(ftp\): unknown scheme/],
    ['ntfy://alice:pa55word@ntfy.local/', /\(ntfy\): needs a topic/],
    ['ntfy://alice:pa55word@ntfy.local/a/b', /\(ntfy\): needs a topic/],
    ['ntfy://alice@ntfy.local/topic', /\(ntfy\): a user needs a password/],
    ['ntfy://ntfy.local/topic?scheme=ftp', /\(ntfy\): scheme=ftp is not http or https/],
    ['ntfy://ntfy.local/topic?priority=9', /\(ntfy\): priority=9 is not 1-5/],
    ['ntfy://ntfy.local/topic?tilte=x', /\(ntfy\): unknown parameter "tilte"/],
    ['gotify://g.local/', /\(gotify\): needs the application token/],
    ['gotify://g.local/AzyoeNS.D4iJLVa?priority=11', /\(gotify\): priority=11 is not 0-10/],
    ['slack://T0AB/s3cr3tXYZ', /\(slack\): a Slack URL is slack:\/\//],
    ['https://hooks.slack.com/other/s3cr3tXYZ', /\(https\): a Slack webhook is/],
    ['discord://1234', /\(discord\): a Discord URL is discord:\/\/TOKEN@WEBHOOK_ID/],
    ['https://discord.com/api/other/s3cr3tXYZ', /\(https\): a Discord webhook is/],
    ['hc://hc.local/not-a-uuid-s3cr3tXYZ', /\(hc\): a healthchecks ping URL ends in/],
    ['https://hc-ping.com/', /\(https\): a healthchecks ping URL ends in/],
    ['teams+https://x/s3cr3tXYZ', /\(teams\+https\): unknown scheme/],
  ];
  for (const [url, message] of bad) {
    it(`refuses ${url} naming the flag and scheme, secrets masked`, () => {
      let err: unknown;
      try {
        parseNotifyUrl(url);
      } catch (e) {
        err = e;
      }
      expect(err).to.be.instanceOf(NotifyUrlError);
      const m = (err as Error).message;
      expect(m)
        .to.match(message)
        .and.match(/^--notify-url /);
      for (const s of ['pa55word', 's3cr3tXYZ', 'AzyoeNS.D4iJLVa']) expect(m).to.not.include(s);
    });
  }
});
