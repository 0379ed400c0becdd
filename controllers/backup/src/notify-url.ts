/**
 * `--notify-url` grammar, after shoutrrr's service URLs (read from its docs, not its code): one
 * URL names a service, where it lives and its credentials. Parsed before anything touches Docker;
 * errors never quote the URL (it is a credential), only its masked form.
 *
 *   http(s)://host/path                  plain JSON POST of the run summary (any receiver)
 *   https://hooks.slack.com/services/…   Slack incoming webhook ({ text })
 *   https://discord.com/api/webhooks/…   Discord webhook ({ content })
 *   https://hc-ping.com/<uuid>           healthchecks.io ping: /start, then base or /fail
 *   ntfy://[user:pass@|:token@]host[:port]/topic[?scheme=http&title=…&priority=1-5]
 *   gotify://host[:port][/subpath]/TOKEN[?scheme=http&title=…&priority=0-10]
 *   slack://[botname@]T…/B…/X…[?title=…]           → https://hooks.slack.com/services/T…/B…/X…
 *   discord://TOKEN@WEBHOOK_ID[?username=…]       → https://discord.com/api/webhooks/ID/TOKEN
 *   hc://host[:port]/<uuid>[?scheme=http]        (or /<ping-key>/<slug>) self-hosted healthchecks
 *   slack+http(s)://…, discord+http(s)://…, hc+http(s)://…
 *                                        a Slack-, Discord- or healthchecks-compatible server at
 *                                        that exact URL (Mattermost, Rocket.Chat, a local relay)
 */
import { REDACTED, redactUrl } from '@dockop/runtime';

export type NotifyService = 'webhook' | 'ntfy' | 'gotify' | 'slack' | 'discord' | 'healthchecks';

export interface NotifyTarget {
  service: NotifyService;
  /** HTTP(S) URL requests go to (healthchecks: the ping URL; `/start` and `/fail` are appended). */
  endpoint: string;
  /** Authentication headers (ntfy basic/bearer, Gotify's X-Gotify-Key). Secret. */
  headers: Record<string, string>;
  /** The URL's credentials, for the run's redactor (`addSecretValue`). */
  secrets: string[];
  /** The URL as logs, errors and `describe` show it: scheme and host, the rest masked. */
  display: string;
  /** `title=` (ntfy, Gotify, Slack, Discord). */
  title?: string;
  /** `priority=`: ntfy 1-5 (or min|low|default|high|max), Gotify 0-10. */
  priority?: number;
  /** `botname@` of slack://, `username=` of discord://. */
  username?: string;
}

/** A `--notify-url` that doesn't parse. The message names the flag, the scheme, never a secret. */
export class NotifyUrlError extends Error {
  override readonly name = 'NotifyUrlError';
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** ntfy's own topic rule. */
const NTFY_TOPIC = /^[-_A-Za-z0-9]{1,64}$/;
const TOKEN = /^[A-Za-z0-9._~-]+$/;
const NTFY_PRIORITIES: Record<string, number> = { min: 1, low: 2, default: 3, high: 4, max: 5 };

/** Query parameters each scheme accepts (anything else is a typo worth refusing). */
const PARAMS: Record<string, readonly string[]> = {
  ntfy: ['scheme', 'title', 'priority'],
  gotify: ['scheme', 'title', 'priority'],
  slack: ['title'],
  discord: ['title', 'username'],
  hc: ['scheme'],
};

/** Parses one `--notify-url`; throws NotifyUrlError naming `flag` and the scheme. */
export function parseNotifyUrl(raw: string, flag = '--notify-url'): NotifyTarget {
  const value = raw.trim();
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(value)?.[1];
    throw new NotifyUrlError(
      `${flag} ${scheme ? `${scheme}://${REDACTED}` : JSON.stringify(maskLoose(value))} is not a URL (e.g. ntfy://ntfy.sh/topic, https://hooks.slack.com/services/…)`,
    );
  }
  const scheme = url.protocol.slice(0, -1).toLowerCase();
  const fail = (why: string): never => {
    throw new NotifyUrlError(`${flag} ${displayOf(url)} (${scheme}): ${why}`);
  };
  const [base, compat] = scheme.split('+', 2) as [string, string | undefined];
  if (compat !== undefined) {
    if (compat !== 'http' && compat !== 'https') fail(`${base}+ takes http or https`);
    const service = ({ slack: 'slack', discord: 'discord', hc: 'healthchecks' } as const)[
      base as 'slack' | 'discord' | 'hc'
    ];
    if (!service) fail(`unknown scheme (known: ${KNOWN_SCHEMES})`);
    const endpoint = `${compat}://${url.host}${url.pathname}${url.search}`;
    if (!url.hostname) fail('needs a host');
    return withDisplay({
      service: service!,
      endpoint,
      headers: basicAuth(url),
      secrets: [...pathSecrets(url), ...userinfoSecrets(url), ...querySecrets(url)],
    });
  }
  switch (scheme) {
    case 'http':
    case 'https':
      return httpTarget(url, fail);
    case 'ntfy':
      return ntfyTarget(url, fail);
    case 'gotify':
      return gotifyTarget(url, fail);
    case 'slack':
      return slackTarget(url, fail);
    case 'discord':
      return discordTarget(url, fail);
    case 'hc':
      return hcTarget(url, fail);
    default:
      return fail(`unknown scheme (known: ${KNOWN_SCHEMES})`);
  }
}

const KNOWN_SCHEMES =
  'http, https, ntfy, gotify, slack, discord, hc, slack+https, discord+https, hc+https';

type Fail = (why: string) => never;

function httpTarget(url: URL, fail: Fail): NotifyTarget {
  if (!url.hostname) fail('needs a host');
  const host = url.hostname.toLowerCase();
  const segments = url.pathname.split('/').filter(Boolean);
  const secrets = [...userinfoSecrets(url), ...querySecrets(url)];
  if (host === 'hooks.slack.com') {
    if (segments[0] !== 'services' || segments.length < 4) {
      fail('a Slack webhook is https://hooks.slack.com/services/T…/B…/X…');
    }
    return withDisplay({
      service: 'slack',
      endpoint: url.href,
      headers: {},
      secrets: [...secrets, ...slackSecrets(segments.slice(1))],
    });
  }
  if (host === 'discord.com' || host === 'discordapp.com' || host.endsWith('.discord.com')) {
    if (segments[0] !== 'api' || segments[1] !== 'webhooks' || segments.length < 4) {
      fail('a Discord webhook is https://discord.com/api/webhooks/ID/TOKEN');
    }
    return withDisplay({
      service: 'discord',
      endpoint: url.href,
      headers: {},
      secrets: [...secrets, segments[3]!],
    });
  }
  if (host === 'hc-ping.com' || host.endsWith('.hc-ping.com')) {
    const key = checkHcPath(segments, fail);
    return withDisplay({
      service: 'healthchecks',
      endpoint: `${url.protocol}//${url.host}/${segments.join('/')}`,
      headers: {},
      secrets: [...secrets, key],
    });
  }
  return withDisplay({
    service: 'webhook',
    endpoint: url.href,
    headers: {},
    secrets: [...secrets, ...pathSecrets(url)],
  });
}

function ntfyTarget(url: URL, fail: Fail): NotifyTarget {
  const params = readParams(url, 'ntfy', fail);
  const topic = singleSegment(url, 'a topic: ntfy://host/topic', fail);
  if (!NTFY_TOPIC.test(topic)) fail('the topic must be 1-64 of A-Z a-z 0-9 _ -');
  const user = decodeURIComponent(url.username);
  const pass = decodeURIComponent(url.password);
  const headers: Record<string, string> = {};
  if (user && pass) headers['authorization'] = basic(user, pass);
  else if (!user && pass) headers['authorization'] = `Bearer ${pass}`;
  else if (user) fail('a user needs a password (ntfy://user:pass@host/topic or ntfy://:token@…)');
  const priority = params.priority === undefined ? undefined : ntfyPriority(params.priority, fail);
  // Without credentials the topic is the only secret (anyone who knows it can read it); with
  // them the topic is an ordinary word we'd rather not blank out of every log line.
  const secrets = [pass, ...(headers['authorization'] ? [] : [topic])].filter(Boolean);
  return withDisplay({
    service: 'ntfy',
    endpoint: `${schemeParam(params, fail)}://${url.host || 'ntfy.sh'}/${topic}`,
    headers,
    secrets,
    ...(params.title !== undefined ? { title: params.title } : {}),
    ...(priority !== undefined ? { priority } : {}),
  });
}

function gotifyTarget(url: URL, fail: Fail): NotifyTarget {
  const params = readParams(url, 'gotify', fail);
  if (!url.hostname) fail('needs a host: gotify://host[:port]/TOKEN');
  const segments = url.pathname.split('/').filter(Boolean);
  const token = segments.pop();
  if (!token) fail('needs the application token: gotify://host[:port]/TOKEN');
  if (!TOKEN.test(token!)) fail('the token has characters a Gotify token never has');
  let priority: number | undefined;
  if (params.priority !== undefined) {
    priority = Number(params.priority);
    if (!Number.isInteger(priority) || priority < 0 || priority > 10) {
      fail(`priority=${params.priority} is not 0-10`);
    }
  }
  const subpath = segments.map((s) => `/${s}`).join('');
  return withDisplay({
    service: 'gotify',
    endpoint: `${schemeParam(params, fail)}://${url.host}${subpath}/message`,
    headers: { 'x-gotify-key': token! },
    secrets: [token!],
    ...(params.title !== undefined ? { title: params.title } : {}),
    ...(priority !== undefined ? { priority } : {}),
  });
}

function slackTarget(url: URL, fail: Fail): NotifyTarget {
  const params = readParams(url, 'slack', fail);
  // slack://botname@T/B/X: WHATWG puts the first token part in the host (lower-cased: read the raw).
  const raw = url.href.slice('slack://'.length).split(/[?#]/, 1)[0]!;
  const at = raw.lastIndexOf('@');
  const botname = at >= 0 ? decodeURIComponent(raw.slice(0, at)) : undefined;
  const parts = raw
    .slice(at + 1)
    .split('/')
    .filter(Boolean);
  if (parts.length !== 3 || !parts.every((p) => TOKEN.test(p))) {
    fail('a Slack URL is slack://[botname@]T…/B…/X… (the three parts of the webhook)');
  }
  return withDisplay({
    service: 'slack',
    endpoint: `https://hooks.slack.com/services/${parts.join('/')}`,
    headers: {},
    secrets: slackSecrets(parts),
    ...(params.title !== undefined ? { title: params.title } : {}),
    ...(botname ? { username: botname } : {}),
  });
}

function discordTarget(url: URL, fail: Fail): NotifyTarget {
  const params = readParams(url, 'discord', fail);
  const token = decodeURIComponent(url.username);
  const id = url.hostname;
  if (!token || !/^\d+$/.test(id) || url.password) {
    fail(
      'a Discord URL is discord://TOKEN@WEBHOOK_ID (from https://discord.com/api/webhooks/ID/TOKEN)',
    );
  }
  if (!TOKEN.test(token)) fail('the token has characters a Discord token never has');
  return withDisplay({
    service: 'discord',
    endpoint: `https://discord.com/api/webhooks/${id}/${token}`,
    headers: {},
    secrets: [token],
    ...(params.title !== undefined ? { title: params.title } : {}),
    ...(params.username !== undefined ? { username: params.username } : {}),
  });
}

function hcTarget(url: URL, fail: Fail): NotifyTarget {
  const params = readParams(url, 'hc', fail);
  if (!url.hostname)
    fail('needs a host: hc://host/<uuid> (hc://hc-ping.com/<uuid> for healthchecks.io)');
  const segments = url.pathname.split('/').filter(Boolean);
  const key = checkHcPath(segments, fail);
  return withDisplay({
    service: 'healthchecks',
    endpoint: `${schemeParam(params, fail)}://${url.host}/${segments.join('/')}`,
    headers: {},
    secrets: [key],
  });
}

/** `<uuid>` or `<ping-key>/<slug>`; returns the secret part. */
function checkHcPath(segments: string[], fail: Fail): string {
  if (segments.length === 1 && UUID.test(segments[0]!)) return segments[0]!;
  if (segments.length === 2 && TOKEN.test(segments[0]!) && /^[-_a-z0-9]+$/.test(segments[1]!)) {
    return segments[0]!;
  }
  return fail('a healthchecks ping URL ends in /<uuid> or /<ping-key>/<slug>');
}

function readParams(url: URL, scheme: string, fail: Fail): Record<string, string> {
  const allowed = PARAMS[scheme] ?? [];
  const out: Record<string, string> = {};
  for (const [k, v] of url.searchParams) {
    const key = k.toLowerCase();
    if (!allowed.includes(key)) {
      fail(`unknown parameter "${k.slice(0, 40)}" (known: ${allowed.join(', ') || 'none'})`);
    }
    out[key] = v;
  }
  return out;
}

function schemeParam(params: Record<string, string>, fail: Fail): 'http' | 'https' {
  const s = params.scheme ?? 'https';
  if (s !== 'http' && s !== 'https') fail(`scheme=${s.slice(0, 20)} is not http or https`);
  return s as 'http' | 'https';
}

function singleSegment(url: URL, what: string, fail: Fail): string {
  const segments = url.pathname.split('/').filter(Boolean);
  if (segments.length !== 1) fail(`needs ${what}`);
  return decodeURIComponent(segments[0]!);
}

function ntfyPriority(value: string, fail: Fail): number {
  const named = NTFY_PRIORITIES[value.toLowerCase()];
  const n = named ?? Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 5) {
    fail(`priority=${value.slice(0, 20)} is not 1-5 or min|low|default|high|max`);
  }
  return n;
}

function slackSecrets(parts: string[]): string[] {
  // The last part is the secret; the whole path too, so `T…/B…/X…` never shows in one piece.
  return [parts.join('/'), parts[parts.length - 1]!];
}

/** Plain and compatible webhooks: any path segment or query value may be the token. */
function pathSecrets(url: URL): string[] {
  const segments = url.pathname.split('/').filter(Boolean);
  return segments.length ? [url.pathname.slice(1), ...segments.filter((s) => s.length >= 8)] : [];
}

function querySecrets(url: URL): string[] {
  return [...url.searchParams.values()].filter((v) => v.length >= 4);
}

function userinfoSecrets(url: URL): string[] {
  return [decodeURIComponent(url.password)].filter(Boolean);
}

function basicAuth(url: URL): Record<string, string> {
  return url.username && url.password
    ? { authorization: basic(decodeURIComponent(url.username), decodeURIComponent(url.password)) }
    : {};
}

function basic(user: string, pass: string): string {
  return `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
}

function withDisplay(t: Omit<NotifyTarget, 'display'>): NotifyTarget {
  const secrets = [...new Set(t.secrets.filter((s) => s.length > 0))];
  const auth = Object.values(t.headers);
  return { ...t, secrets: [...secrets, ...auth], display: displayOfHref(t.endpoint, t.service) };
}

/** `ntfy → https://host/[REDACTED]`: the service and where it goes, never a credential. */
function displayOfHref(endpoint: string, service: NotifyService): string {
  return `${service} ${redactUrl(endpoint)}`;
}

/** The parsed URL as an error shows it: scheme and host, userinfo and path masked. */
function displayOf(url: URL): string {
  const rest = url.pathname.replace(/^\/+/, '') !== '' || url.search !== '' || url.hash !== '';
  const user = url.username || url.password ? `${REDACTED}@` : '';
  return `${url.protocol}//${user}${url.host}${rest ? `/${REDACTED}` : ''}`;
}

/** Not even a URL: show its first characters only when they can't be a token. */
function maskLoose(value: string): string {
  return value.length <= 12 && !/[@:/]/.test(value) ? value : `${value.slice(0, 4)}…`;
}
