/**
 * URL masking shared by the redactor: URLs often carry credentials in their userinfo
 * (`s3:https://KEY:SECRET@host`), and webhook URLs are bearer tokens themselves (Slack
 * `/services/T…/B…/XXX`, ntfy topics, healthchecks UUIDs, `?token=`).
 */

/** What a masked part of a line becomes. */
export const REDACTED = '[REDACTED]';

/**
 * A webhook URL for logs and output: scheme, host and port only; path, query and fragment are
 * masked whole (any of them may be the token), userinfo is dropped.
 * `https://hooks.slack.com/services/T0/B0/x` → `https://hooks.slack.com/[REDACTED]`.
 */
export function redactUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return '<invalid url>';
  }
  // `s3:https://…`, `mailto:…`: no host to keep, all of it may be secret.
  if (!u.host) return `${u.protocol}${REDACTED}`;
  const rest = (u.pathname !== '' && u.pathname !== '/') || u.search !== '' || u.hash !== '';
  return `${u.protocol}//${u.host}${rest ? `/${REDACTED}` : ''}`;
}

/**
 * Hosts whose URLs are webhooks: everything after the host is (or contains) the token.
 * Matched as the host itself or a subdomain of it.
 */
export const WEBHOOK_HOSTS: readonly string[] = Object.freeze([
  'hooks.slack.com',
  'discord.com',
  'discordapp.com',
  'hc-ping.com',
  'healthchecks.io',
  'api.telegram.org',
  'ntfy.sh',
  'webhook.office.com',
  'outlook.office.com',
  'chat.googleapis.com',
  'api.pushover.net',
  'maker.ifttt.com',
  'hooks.zapier.com',
  'events.pagerduty.com',
  'api.opsgenie.com',
  'api.pushbullet.com',
]);

/** Query parameter and field names whose values are credentials. */
export const SECRET_PARAM_PATTERN =
  /pass|pwd|secret|token|key|auth|sig|signature|credential|session|code|access|ticket|hmac/i;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const TOKEN_CHARS = /^[A-Za-z0-9_~.+=%-]+$/;

/**
 * A path segment or query value that looks like a credential: a UUID, 16+ token characters with
 * a digit, or 24+ token characters. Ordinary words, ids and versions (`v1.Backrest`) stay.
 */
export function looksLikeToken(s: string): boolean {
  if (UUID.test(s)) return true;
  if (!TOKEN_CHARS.test(s)) return false;
  return s.length >= 24 || (s.length >= 16 && /\d/.test(s) && /[A-Za-z]/.test(s));
}

function isWebhookHost(host: string): boolean {
  const h = host.toLowerCase().replace(/:\d+$/, '');
  return WEBHOOK_HOSTS.some((w) => h === w || h.endsWith(`.${w}`));
}

/**
 * Masks what is secret in `scheme://rest` found in free text: userinfo (up to the last `@` of
 * the token, since careless passwords contain `/` and `@`), everything after the host of a known
 * webhook host, token-looking path segments, query values with secret names or token looks, and
 * fragments. Scheme, host and ordinary path segments stay readable.
 */
export function redactUrlInText(scheme: string, rest: string): string {
  let authorityEnd = rest.search(/[/?#]/);
  if (authorityEnd < 0) authorityEnd = rest.length;
  let userinfo = false;
  const lastAt = rest.lastIndexOf('@');
  if (lastAt >= 0) {
    // `user:pass@host` with `/`, `?` or `#` inside the user or password still counts: any `:`
    // before the last `@` (over-masking a `host:port/…@…` URL leaks nothing).
    if (lastAt < authorityEnd || rest.slice(0, lastAt).includes(':')) {
      rest = rest.slice(lastAt + 1);
      userinfo = true;
      authorityEnd = rest.search(/[/?#]/);
      if (authorityEnd < 0) authorityEnd = rest.length;
    }
  }
  const host = rest.slice(0, authorityEnd);
  let tail = rest.slice(authorityEnd);
  const prefix = `${scheme}://${userinfo ? `${REDACTED}@` : ''}${host}`;
  // A local file path (stack traces: `file:///app/dist/x.js:3:9`) is not a credential.
  if (tail === '' || tail === '/' || (host === '' && scheme.toLowerCase() === 'file')) {
    return prefix + tail;
  }
  if (isWebhookHost(host)) return `${prefix}/${REDACTED}`;
  let fragment = '';
  const hash = tail.indexOf('#');
  if (hash >= 0) {
    fragment = hash === tail.length - 1 ? '#' : `#${REDACTED}`;
    tail = tail.slice(0, hash);
  }
  let query = '';
  const q = tail.indexOf('?');
  if (q >= 0) {
    query = `?${tail
      .slice(q + 1)
      .split('&')
      .map((pair) => {
        const eq = pair.indexOf('=');
        if (eq < 0) return looksLikeToken(pair) ? REDACTED : pair;
        const name = pair.slice(0, eq);
        const value = pair.slice(eq + 1);
        return value !== '' && (SECRET_PARAM_PATTERN.test(name) || looksLikeToken(value))
          ? `${name}=${REDACTED}`
          : pair;
      })
      .join('&')}`;
    tail = tail.slice(0, q);
  }
  const path = tail
    .split('/')
    .map((seg) => (looksLikeToken(seg) ? REDACTED : seg))
    .join('/');
  return prefix + path + query + fragment;
}
